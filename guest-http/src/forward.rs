//! The three `mung:runtime` interfaces, exported again: every call goes
//! unchanged to the import of the same name (the standalone component's
//! export, once composed). Only the Rust types differ between the import
//! and export sides of the bindings; these functions convert between them.

use crate::Adapter;
use crate::exports::mung::runtime::{extraction as ex, python as py, validation as va};
use crate::mung::runtime::{extraction as ix, python as ip, validation as iv};

impl py::Guest for Adapter {
    fn execute(code: String, globals_json: String) -> Result<String, py::PythonError> {
        ip::execute(&code, &globals_json).map_err(|e| py::PythonError {
            kind: match e.kind {
                ip::ErrorKind::Syntax => py::ErrorKind::Syntax,
                ip::ErrorKind::Exception => py::ErrorKind::Exception,
                ip::ErrorKind::Exit => py::ErrorKind::Exit,
                ip::ErrorKind::InvalidGlobals => py::ErrorKind::InvalidGlobals,
                ip::ErrorKind::NotJson => py::ErrorKind::NotJson,
            },
            type_name: e.type_name,
            message: e.message,
            traceback: e.traceback,
            exit_code: e.exit_code,
        })
    }

    fn reset() {
        ip::reset();
    }
}

fn validation_error(e: iv::ValidationError) -> va::ValidationError {
    match e {
        iv::ValidationError::InvalidInput(m) => va::ValidationError::InvalidInput(m),
        iv::ValidationError::Internal(m) => va::ValidationError::Internal(m),
    }
}

impl va::Guest for Adapter {
    fn validate(mung_xml: String) -> Result<Vec<va::ValidationIssue>, va::ValidationError> {
        let issues = iv::validate(&mung_xml).map_err(validation_error)?;
        Ok(issues
            .into_iter()
            .map(|i| va::ValidationIssue {
                code: i.code,
                message: i.message,
                node_id: i.node_id,
                resolution: i.resolution.map(|ops| {
                    ops.into_iter()
                        .map(|op| match op {
                            iv::Operation::UpdateClass(u) => va::Operation::UpdateClass(va::ClassUpdate {
                                update_node_id: u.update_node_id,
                                new_class_name: u.new_class_name,
                            }),
                        })
                        .collect()
                }),
                fingerprint: i.fingerprint,
            })
            .collect())
    }

    fn fix(mung_xml: String) -> Result<va::FixedDocument, va::ValidationError> {
        let fixed = iv::fix(&mung_xml).map_err(validation_error)?;
        Ok(va::FixedDocument { mung_xml: fixed.mung_xml, renamed: fixed.renamed })
    }
}

fn extraction_error(e: ix::ExtractionError) -> ex::ExtractionError {
    match e {
        ix::ExtractionError::InvalidInput(m) => ex::ExtractionError::InvalidInput(m),
        ix::ExtractionError::Unsupported(m) => ex::ExtractionError::Unsupported(m),
        ix::ExtractionError::Internal(m) => ex::ExtractionError::Internal(m),
    }
}

fn mask_in(m: ex::Mask) -> ix::Mask {
    ix::Mask { width: m.width, height: m.height, pixels: m.pixels }
}

fn mask_out(m: ix::Mask) -> ex::Mask {
    ex::Mask { width: m.width, height: m.height, pixels: m.pixels }
}

fn points_in(p: Vec<ex::Point>) -> Vec<ix::Point> {
    p.into_iter().map(|p| ix::Point { x: p.x, y: p.y }).collect()
}

fn points_out(p: Vec<ix::Point>) -> Vec<ex::Point> {
    p.into_iter().map(|p| ex::Point { x: p.x, y: p.y }).collect()
}

fn node_in(n: ex::Node) -> ix::Node {
    ix::Node {
        id: n.id,
        class_name: n.class_name,
        top: n.top,
        left: n.left,
        width: n.width,
        height: n.height,
        outlinks: n.outlinks,
        inlinks: n.inlinks,
        precedence_outlinks: n.precedence_outlinks,
        precedence_inlinks: n.precedence_inlinks,
        text_transcription: n.text_transcription,
        mask: n.mask.map(mask_in),
    }
}

fn node_out(n: ix::Node) -> ex::Node {
    ex::Node {
        id: n.id,
        class_name: n.class_name,
        top: n.top,
        left: n.left,
        width: n.width,
        height: n.height,
        outlinks: n.outlinks,
        inlinks: n.inlinks,
        precedence_outlinks: n.precedence_outlinks,
        precedence_inlinks: n.precedence_inlinks,
        text_transcription: n.text_transcription,
        mask: n.mask.map(mask_out),
    }
}

fn nodes_in(nodes: Vec<ex::Node>) -> Vec<ix::Node> {
    nodes.into_iter().map(node_in).collect()
}

impl ex::Guest for Adapter {
    fn otsu_binarize_region(region: ex::RgbaImage) -> Result<ex::Mask, ex::ExtractionError> {
        let region = ix::RgbaImage { width: region.width, height: region.height, pixels: region.pixels };
        ix::otsu_binarize_region(&region).map(mask_out).map_err(extraction_error)
    }

    fn detect_stafflines(region: ex::RgbaImage) -> Result<ex::Mask, ex::ExtractionError> {
        let region = ix::RgbaImage { width: region.width, height: region.height, pixels: region.pixels };
        ix::detect_stafflines(&region).map(mask_out).map_err(extraction_error)
    }

    fn compute_cut_lines(mask: ex::Mask) -> Result<Vec<Vec<ex::Point>>, ex::ExtractionError> {
        let lines = ix::compute_cut_lines(&mask_in(mask)).map_err(extraction_error)?;
        Ok(lines.into_iter().map(points_out).collect())
    }

    fn separate_lines(
        left: i32,
        top: i32,
        mask: ex::Mask,
        cut_lines: Vec<Vec<ex::Point>>,
    ) -> Result<Vec<ex::PlacedMask>, ex::ExtractionError> {
        let cuts: Vec<Vec<ix::Point>> = cut_lines.into_iter().map(points_in).collect();
        let bands = ix::separate_lines(left, top, &mask_in(mask), &cuts).map_err(extraction_error)?;
        Ok(bands.into_iter().map(|b| ex::PlacedMask { left: b.left, top: b.top, mask: mask_out(b.mask) }).collect())
    }

    fn generate_staff_from_stafflines(stafflines: Vec<ex::Node>) -> Result<ex::Node, ex::ExtractionError> {
        ix::generate_staff_from_stafflines(&nodes_in(stafflines)).map(node_out).map_err(extraction_error)
    }

    fn generate_staffspaces(nodes: Vec<ex::Node>) -> Result<Vec<ex::Node>, ex::ExtractionError> {
        let out = ix::generate_staffspaces(&nodes_in(nodes)).map_err(extraction_error)?;
        Ok(out.into_iter().map(node_out).collect())
    }

    fn snap_nodes_to_staves(nodes: Vec<ex::Node>) -> Result<Vec<ex::Node>, ex::ExtractionError> {
        let out = ix::snap_nodes_to_staves(&nodes_in(nodes)).map_err(extraction_error)?;
        Ok(out.into_iter().map(node_out).collect())
    }

    fn fill_polygon(width: u32, height: u32, polygon: Vec<ex::Point>) -> Result<ex::Mask, ex::ExtractionError> {
        ix::fill_polygon(width, height, &points_in(polygon)).map(mask_out).map_err(extraction_error)
    }

    fn insert_node(
        mung_xml: String,
        class_name: String,
        mask: ex::PlacedMask,
    ) -> Result<ex::InsertedNode, ex::ExtractionError> {
        let placed = ix::PlacedMask { left: mask.left, top: mask.top, mask: mask_in(mask.mask) };
        let out = ix::insert_node(&mung_xml, &class_name, &placed).map_err(extraction_error)?;
        Ok(ex::InsertedNode { mung_xml: out.mung_xml, id: out.id })
    }
}
