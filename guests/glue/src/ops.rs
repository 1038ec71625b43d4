//! The exported interfaces: each function packs its arguments into a frame,
//! runs the matching prelude operation and unpacks the reply.

use serde_json::{Value, json};

use crate::exports::mung::runtime::extraction::{
    self, ExtractionError, InsertedNode, Mask, Node, PlacedMask, Point, RgbaImage,
};
use crate::exports::mung::runtime::python::{self, ErrorKind, PythonError};
use crate::exports::mung::runtime::validation::{
    self, ClassUpdate, FixedDocument, Operation, ValidationError, ValidationIssue,
};
use crate::frame::{Frame, Reply, execute_frame};
use crate::{Glue, GlueError, call, call_raw, masks, validator};

impl python::Guest for Glue {
    fn execute(code: String, globals_json: String) -> Result<String, PythonError> {
        match call_raw(&execute_frame(&code, &globals_json)) {
            Ok(Reply::Value(json)) => String::from_utf8(json).map_err(|e| glue_python_error(e.to_string())),
            Ok(Reply::General { .. }) => Err(glue_python_error("execute got a general reply")),
            Err(GlueError::Python(e)) => Err(PythonError {
                kind: match e.kind.as_str() {
                    "syntax" => ErrorKind::Syntax,
                    "exit" => ErrorKind::Exit,
                    "invalid-globals" => ErrorKind::InvalidGlobals,
                    "not-json" => ErrorKind::NotJson,
                    _ => ErrorKind::Exception,
                },
                type_name: e.type_name,
                message: e.message,
                traceback: e.traceback,
                exit_code: e.exit_code,
            }),
            Err(e) => Err(glue_python_error(e.message())),
        }
    }

    fn reset() {
        // A failure here means the interpreter is gone; the next call reports it.
        let _ = call(Frame::new("reset"));
    }
}

fn glue_python_error(message: impl Into<String>) -> PythonError {
    PythonError {
        kind: ErrorKind::Exception,
        type_name: "RuntimeError".into(),
        message: message.into(),
        traceback: String::new(),
        exit_code: None,
    }
}

impl validation::Guest for Glue {
    fn validate(mung_xml: String) -> Result<Vec<ValidationIssue>, ValidationError> {
        if let Some(issues) = validator::validate(&mung_xml) {
            return Ok(issues);
        }
        let reply = call(Frame::new("validate").blob_arg("xml", mung_xml.as_bytes())).map_err(validation_error)?;
        let issues: Vec<IssueJson> =
            serde_json::from_value(reply.value().clone()).map_err(|e| internal_v(e.to_string()))?;
        Ok(issues.into_iter().map(IssueJson::into_wit).collect())
    }

    fn fix(mung_xml: String) -> Result<FixedDocument, ValidationError> {
        let reply = call(Frame::new("fix").blob_arg("xml", mung_xml.as_bytes())).map_err(validation_error)?;
        let value = reply.value();
        let xml = reply.blob(&value["xml"]).map_err(internal_v)?;
        Ok(FixedDocument {
            mung_xml: String::from_utf8(xml.to_vec()).map_err(|e| internal_v(e.to_string()))?,
            renamed: value["renamed"]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| internal_v(format!("fix reply without a count of renames: {value}")))?,
        })
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueJson {
    code: u32,
    message: String,
    node_id: i64,
    resolution: Option<ResolutionJson>,
    fingerprint: Option<String>,
}

#[derive(serde::Deserialize)]
struct ResolutionJson {
    operations: Vec<OperationJson>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationJson {
    update_node_id: i64,
    new_class_name: String,
}

impl IssueJson {
    fn into_wit(self) -> ValidationIssue {
        ValidationIssue {
            code: self.code,
            message: self.message,
            node_id: self.node_id,
            resolution: self.resolution.map(|r| {
                r.operations
                    .into_iter()
                    .map(|o| {
                        Operation::UpdateClass(ClassUpdate {
                            update_node_id: o.update_node_id,
                            new_class_name: o.new_class_name,
                        })
                    })
                    .collect()
            }),
            fingerprint: self.fingerprint,
        }
    }
}

fn internal_v(message: impl Into<String>) -> ValidationError {
    ValidationError::Internal(message.into())
}

fn validation_error(e: GlueError) -> ValidationError {
    match e {
        GlueError::Python(p) if p.kind == "invalid-input" => ValidationError::InvalidInput(p.message),
        e => ValidationError::Internal(e.message()),
    }
}

fn extraction_error(e: GlueError) -> ExtractionError {
    match e {
        GlueError::Python(p) if p.kind == "invalid-input" => ExtractionError::InvalidInput(p.message),
        GlueError::Python(p) if p.kind == "unsupported" => ExtractionError::Unsupported(p.message),
        e => ExtractionError::Internal(e.message()),
    }
}

fn internal_x(message: impl Into<String>) -> ExtractionError {
    ExtractionError::Internal(message.into())
}

fn image_arg<'a>(frame: &mut Frame<'a>, width: u32, height: u32, pixels: &'a [u8]) -> Value {
    let pixels = frame.blob(pixels);
    json!({ "width": width, "height": height, "pixels": pixels })
}

fn mask_from(reply: &Reply, value: &Value) -> Result<Mask, ExtractionError> {
    let dim =
        |k: &str| value[k].as_u64().map(|v| v as u32).ok_or_else(|| internal_x(format!("mask without {k}: {value}")));
    Ok(Mask {
        width: dim("width")?,
        height: dim("height")?,
        pixels: reply.blob(&value["pixels"]).map_err(internal_x)?.to_vec(),
    })
}

fn points_arg(lines: &[Vec<Point>]) -> Value {
    lines.iter().map(|l| l.iter().map(|p| json!([p.x, p.y])).collect::<Value>()).collect()
}

fn point_from(v: &Value) -> Result<Point, ExtractionError> {
    let c = |i: usize| v[i].as_i64().ok_or_else(|| internal_x(format!("bad point {v}")));
    Ok(Point { x: fit(c(0)?, "x")?, y: fit(c(1)?, "y")? })
}

/// A coordinate or size computed by the prelude, which must fit its WIT
/// type (never wrapped: a result past the page coordinates is refused).
fn fit<T: TryFrom<i64>>(n: i64, what: &str) -> Result<T, ExtractionError> {
    T::try_from(n).map_err(|_| ExtractionError::InvalidInput(format!("the result's {what} {n} is out of range")))
}

fn node_arg<'a>(frame: &mut Frame<'a>, n: &'a Node) -> Value {
    let mask = match &n.mask {
        Some(m) => image_arg(frame, m.width, m.height, &m.pixels),
        None => Value::Null,
    };
    json!({
        "id": n.id,
        "class_name": n.class_name,
        "top": n.top,
        "left": n.left,
        "width": n.width,
        "height": n.height,
        "outlinks": n.outlinks,
        "inlinks": n.inlinks,
        "precedence_outlinks": n.precedence_outlinks,
        "precedence_inlinks": n.precedence_inlinks,
        "text_transcription": n.text_transcription,
        "mask": mask,
    })
}

fn node_from(reply: &Reply, v: &Value) -> Result<Node, ExtractionError> {
    let int = |k: &str| v[k].as_i64().ok_or_else(|| internal_x(format!("node without integer {k}: {v}")));
    // The prelude always sends every field; a missing one is a bug there.
    let ids = |k: &str| -> Result<Vec<i64>, ExtractionError> {
        match &v[k] {
            Value::Array(a) => {
                a.iter().map(|x| x.as_i64().ok_or_else(|| internal_x(format!("bad id in {k}")))).collect()
            }
            other => Err(internal_x(format!("bad {k}: {other}"))),
        }
    };
    Ok(Node {
        id: int("id")?,
        class_name: v["class_name"]
            .as_str()
            .ok_or_else(|| internal_x(format!("node without class_name: {v}")))?
            .to_string(),
        top: fit(int("top")?, "top")?,
        left: fit(int("left")?, "left")?,
        width: fit(int("width")?, "width")?,
        height: fit(int("height")?, "height")?,
        outlinks: ids("outlinks")?,
        inlinks: ids("inlinks")?,
        precedence_outlinks: ids("precedence_outlinks")?,
        precedence_inlinks: ids("precedence_inlinks")?,
        text_transcription: v["text_transcription"].as_str().map(str::to_string),
        mask: match &v["mask"] {
            Value::Null => None,
            m => Some(mask_from(reply, m)?),
        },
    })
}

fn nodes_call(op: &'static str, nodes: &[Node]) -> Result<Reply, ExtractionError> {
    let mut frame = Frame::new(op);
    let values: Vec<Value> = nodes.iter().map(|n| node_arg(&mut frame, n)).collect();
    call(frame.arg("nodes", values)).map_err(extraction_error)
}

fn image_call(op: &'static str, image: &RgbaImage) -> Result<Mask, ExtractionError> {
    let mut frame = Frame::new(op);
    let v = image_arg(&mut frame, image.width, image.height, &image.pixels);
    let reply = call(frame.arg("image", v)).map_err(extraction_error)?;
    mask_from(&reply, reply.value())
}

impl extraction::Guest for Glue {
    fn otsu_binarize_region(region: RgbaImage) -> Result<Mask, ExtractionError> {
        if masks::compiled() {
            return masks::otsu_binarize_region(&region);
        }
        image_call("otsu_binarize_region", &region)
    }

    fn detect_stafflines(region: RgbaImage) -> Result<Mask, ExtractionError> {
        if masks::compiled() {
            return masks::detect_stafflines(&region);
        }
        image_call("detect_stafflines", &region)
    }

    fn compute_cut_lines(mask: Mask) -> Result<Vec<Vec<Point>>, ExtractionError> {
        if masks::compiled() {
            return masks::compute_cut_lines(&mask);
        }
        let mut frame = Frame::new("compute_cut_lines");
        let m = image_arg(&mut frame, mask.width, mask.height, &mask.pixels);
        let reply = call(frame.arg("mask", m)).map_err(extraction_error)?;
        let lines = reply.value().as_array().ok_or_else(|| internal_x("cut lines are not a list"))?;
        lines
            .iter()
            .map(|l| {
                l.as_array().ok_or_else(|| internal_x("a cut line is not a list"))?.iter().map(point_from).collect()
            })
            .collect()
    }

    fn separate_lines(
        left: i32,
        top: i32,
        mask: Mask,
        cut_lines: Vec<Vec<Point>>,
    ) -> Result<Vec<PlacedMask>, ExtractionError> {
        if masks::compiled() {
            return masks::separate_lines(left, top, &mask, &cut_lines);
        }
        let mut frame = Frame::new("separate_lines");
        let m = image_arg(&mut frame, mask.width, mask.height, &mask.pixels);
        let frame = frame.arg("left", left).arg("top", top).arg("mask", m).arg("cut_lines", points_arg(&cut_lines));
        let reply = call(frame).map_err(extraction_error)?;
        let bands = reply.value().as_array().ok_or_else(|| internal_x("bands are not a list"))?;
        bands
            .iter()
            .map(|b| {
                Ok(PlacedMask {
                    left: fit(b["left"].as_i64().ok_or_else(|| internal_x("band without left"))?, "left")?,
                    top: fit(b["top"].as_i64().ok_or_else(|| internal_x("band without top"))?, "top")?,
                    mask: mask_from(&reply, &b["mask"])?,
                })
            })
            .collect()
    }

    fn generate_staff_from_stafflines(stafflines: Vec<Node>) -> Result<Node, ExtractionError> {
        let reply = nodes_call("generate_staff_from_stafflines", &stafflines)?;
        node_from(&reply, reply.value())
    }

    fn generate_staffspaces(nodes: Vec<Node>) -> Result<Vec<Node>, ExtractionError> {
        let reply = nodes_call("generate_staffspaces", &nodes)?;
        node_list(&reply)
    }

    fn snap_nodes_to_staves(nodes: Vec<Node>) -> Result<Vec<Node>, ExtractionError> {
        let reply = nodes_call("snap_nodes_to_staves", &nodes)?;
        node_list(&reply)
    }

    fn fill_polygon(width: u32, height: u32, polygon: Vec<Point>) -> Result<Mask, ExtractionError> {
        if masks::compiled() {
            return masks::fill_polygon(width, height, &polygon);
        }
        let frame = Frame::new("fill_polygon")
            .arg("width", width)
            .arg("height", height)
            .arg("points", points_arg(std::slice::from_ref(&polygon))[0].clone());
        let reply = call(frame).map_err(extraction_error)?;
        mask_from(&reply, reply.value())
    }

    fn insert_node(mung_xml: String, class_name: String, mask: PlacedMask) -> Result<InsertedNode, ExtractionError> {
        let mut frame = Frame::new("insert_node").blob_arg("xml", mung_xml.as_bytes());
        let m = image_arg(&mut frame, mask.mask.width, mask.mask.height, &mask.mask.pixels);
        let frame =
            frame.arg("class_name", class_name.as_str()).arg("left", mask.left).arg("top", mask.top).arg("mask", m);
        let reply = call(frame).map_err(extraction_error)?;
        let value = reply.value();
        let xml = reply.blob(&value["xml"]).map_err(internal_x)?;
        Ok(InsertedNode {
            mung_xml: String::from_utf8(xml.to_vec()).map_err(|e| internal_x(e.to_string()))?,
            id: value["id"].as_i64().ok_or_else(|| internal_x("no id in reply"))?,
        })
    }
}

fn node_list(reply: &Reply) -> Result<Vec<Node>, ExtractionError> {
    reply
        .value()
        .as_array()
        .ok_or_else(|| internal_x("nodes are not a list"))?
        .iter()
        .map(|v| node_from(reply, v))
        .collect()
}
