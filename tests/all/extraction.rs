//! The mask tools: bit-identical to OpenCV 4.10 (run natively as the
//! oracle), staffspaces and snapping on a real page, typed errors, and the
//! `extract` command.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{cli, file_hash, native_command, run, runtime, shared_data, show};
use mung_runtime::{ExtractError, Mask, Node, Point, Region, RgbaImage};
use serde_json::{Value, json};

const SANDBOX_PAGE: &str =
    "mung-samples/sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154";

fn read_bin(dir: &Path, name: &Value) -> Vec<u8> {
    std::fs::read(dir.join(name.as_str().unwrap())).unwrap()
}

fn dims(case: &Value) -> (u32, u32) {
    (case["width"].as_u64().unwrap() as u32, case["height"].as_u64().unwrap() as u32)
}

fn points(line: &Value) -> Vec<Point> {
    // Coordinates may be JSON floats; MuNG Studio truncates them with int().
    line.as_array()
        .unwrap()
        .iter()
        .map(|p| Point { x: p[0].as_f64().unwrap().trunc() as i32, y: p[1].as_f64().unwrap().trunc() as i32 })
        .collect()
}

/// A node from its JSON form; `mask_pixels` gives the bytes of its mask.
fn node_from_json(n: &Value, mask_pixels: impl FnOnce(&Value) -> Option<Vec<u8>>) -> Node {
    let ids = |k: &str| n[k].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect::<Vec<_>>();
    let (width, height) = (n["width"].as_u64().unwrap() as u32, n["height"].as_u64().unwrap() as u32);
    Node {
        id: n["id"].as_i64().unwrap(),
        class_name: n["class_name"].as_str().unwrap().into(),
        top: n["top"].as_i64().unwrap() as i32,
        left: n["left"].as_i64().unwrap() as i32,
        width,
        height,
        outlinks: ids("outlinks"),
        inlinks: ids("inlinks"),
        precedence_outlinks: ids("precedence_outlinks"),
        precedence_inlinks: ids("precedence_inlinks"),
        text_transcription: n["text_transcription"].as_str().map(Into::into),
        mask: mask_pixels(&n["mask"]).map(|pixels| Mask::new(width, height, pixels).unwrap()),
    }
}

/// A node of an oracle case: its mask is a file of the case directory.
fn case_node(dir: &Path, n: &Value) -> Node {
    node_from_json(n, |m| (!m.is_null()).then(|| read_bin(dir, m)))
}

/// Checks one oracle case; returns a description of the mismatch, if any.
fn check_case(dir: &Path, case: &Value) -> Option<String> {
    let rt = runtime();
    let op = case["op"].as_str().unwrap();
    let (width, height) = if case.get("width").is_some() { dims(case) } else { (0, 0) };
    // A case whose pixels do not match its size is refused when the mask is
    // made, with the same `InvalidInput` the sandbox would give.
    let mask_input = || Mask::new(width, height, read_bin(dir, &case["input"]));
    let result: Result<Value, ExtractError> = match op {
        "otsu_binarize_region" | "detect_stafflines" => {
            let mask = RgbaImage::new(width, height, read_bin(dir, &case["input"])).and_then(|image| {
                if op == "detect_stafflines" { rt.detect_stafflines(image) } else { rt.otsu_binarize_region(image) }
            });
            mask.map(|m| {
                let expected = read_bin(dir, &case["expected"]);
                json!(m.pixels() == expected && (m.width(), m.height()) == (width, height))
            })
        }
        "compute_cut_lines" => mask_input().and_then(|m| rt.compute_cut_lines(m)).map(|lines| {
            json!(lines.iter().map(|l| l.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>()).collect::<Vec<_>>())
        }),
        "separate_lines" => {
            let params = &case["params"];
            let cuts: Vec<Vec<Point>> = params["cut_lines"].as_array().unwrap().iter().map(points).collect();
            mask_input()
                .and_then(|m| rt.separate_lines(params["left"].as_i64().unwrap() as i32, params["top"].as_i64().unwrap() as i32, m, &cuts))
                .map(|bands| {
                    json!(bands
                        .iter()
                        .map(|b| json!({"left": b.left, "top": b.top, "width": b.mask.width(), "height": b.mask.height(), "pixels": b.mask.pixels()}))
                        .collect::<Vec<_>>())
                })
        }
        "generate_staff_from_stafflines" => {
            let nodes = case["params"]["nodes"].as_array().unwrap().iter().map(|n| case_node(dir, n)).collect();
            rt.generate_staff_from_stafflines(nodes).map(|n| {
                json!({"id": n.id, "class_name": n.class_name, "top": n.top, "left": n.left, "width": n.width,
                       "height": n.height, "outlinks": n.outlinks, "inlinks": n.inlinks, "pixels": n.mask.map(Mask::into_pixels)})
            })
        }
        "fill_poly" => {
            let pts = points(&case["params"]["points"]);
            rt.fill_polygon(width, height, &pts).map(|m| json!(m.pixels() == read_bin(dir, &case["expected"])))
        }
        other => return Some(format!("unknown op {other}")),
    };
    let expected_error = case.get("expected_error").and_then(Value::as_str);
    match (result, expected_error) {
        (Err(ExtractError::InvalidInput(_)), Some("InvalidInput")) => None,
        (Err(ExtractError::Unsupported(_)), Some("ExtractionError")) => None,
        (Err(e), _) => Some(format!("error {e:?}, expected {expected_error:?}")),
        (Ok(_), Some(kind)) => Some(format!("no error, expected {kind}")),
        (Ok(got), None) => {
            let expected = match op {
                "compute_cut_lines" => case["expected"].clone(),
                "separate_lines" => {
                    json!(case["expected"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| json!({"left": b["left"], "top": b["top"], "width": b["width"], "height": b["height"],
                                    "pixels": read_bin(dir, &b["mask"])}))
                    .collect::<Vec<_>>())
                }
                "generate_staff_from_stafflines" => {
                    let e = &case["expected"];
                    json!({"id": e["id"], "class_name": e["class_name"], "top": e["top"], "left": e["left"], "width": e["width"],
                           "height": e["height"], "outlinks": e["outlinks"], "inlinks": e["inlinks"],
                           "pixels": (!e["mask"].is_null()).then(|| read_bin(dir, &e["mask"]))})
                }
                _ => json!(true),
            };
            (got != expected).then(|| "output differs from OpenCV".to_string())
        }
    }
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn every_operation_is_bit_identical_to_opencv() {
    shared_data();
    let cases_dir = tempfile::tempdir().unwrap();
    let script = crate::common::repo().join("python-wasm/tests/oracle_extraction.py");
    let res = run(native_command(&script)
        .args(["generate", "--out"])
        .arg(cases_dir.path())
        .args(["--seed", "1234", "--per-op", "50"]));
    assert!(res.status.success(), "{}", show(&res));
    let index: Value = serde_json::from_slice(&std::fs::read(cases_dir.path().join("cases.json")).unwrap()).unwrap();
    let cases = index["cases"].as_array().unwrap();
    let mut per_op: HashMap<String, (usize, usize)> = HashMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let op = case["op"].as_str().unwrap().to_string();
        let entry = per_op.entry(op).or_default();
        entry.0 += 1;
        if case.get("expected_error").is_some() {
            entry.1 += 1;
        }
        if let Some(why) = check_case(cases_dir.path(), case) {
            failures.push(format!("{}: {why}", case["id"]));
        }
    }
    eprintln!("oracle cases per op (total, expected errors): {per_op:?}");
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    for op in [
        "otsu_binarize_region",
        "detect_stafflines",
        "compute_cut_lines",
        "separate_lines",
        "generate_staff_from_stafflines",
        "fill_poly",
    ] {
        let (total, errors) = per_op[op];
        assert!(total - errors >= 50, "{op}: only {} comparisons", total - errors);
    }
}

/// The sandbox page's nodes, read inside the sandbox; staff lines with masks.
fn sandbox_nodes(data: &Path) -> Vec<Node> {
    let xml = std::fs::read_to_string(data.join(format!("{SANDBOX_PAGE}.jpg.xml"))).unwrap();
    let code = r#"
import mstudio.mungxml as mx
doc = mx.read_mung(xml, masks={"staffLine"})
out = []
for i, n in enumerate(doc.nodes):
    d = n.data or {}
    m = n.mask if n.class_name == "staffLine" else None
    out.append({"id": n.id, "class_name": n.class_name, "top": n.top, "left": n.left, "width": n.width,
                "height": n.height, "outlinks": list(n.outlinks), "inlinks": list(n.inlinks),
                "precedence_outlinks": list(d.get("precedence_outlinks") or []),
                "precedence_inlinks": list(d.get("precedence_inlinks") or []),
                "text_transcription": d.get("text_transcription"),
                "mask": None if m is None else m.astype("uint8").ravel().tolist()})
out
"#;
    let value = runtime().execute(code, &json!({"xml": xml})).unwrap().value;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|n| node_from_json(n, |m| m.as_array().map(|p| p.iter().map(|v| v.as_u64().unwrap() as u8).collect())))
        .collect()
}

/// The page has staves and lines but no staff -> line links: link by box
/// containment, as the UI's "generate staff" step would have.
fn link_staffs_to_lines(nodes: &mut [Node]) {
    let lines: Vec<(i64, i32, i32, u32, u32)> = nodes
        .iter()
        .filter(|n| n.class_name == "staffLine")
        .map(|n| (n.id, n.top, n.left, n.width, n.height))
        .collect();
    let mut links = Vec::new();
    for s in nodes.iter().filter(|n| n.class_name == "staff") {
        for &(id, top, left, width, height) in &lines {
            if s.top <= top
                && top + height as i32 <= s.top + s.height as i32
                && s.left <= left
                && left + width as i32 <= s.left + s.width as i32
            {
                links.push((s.id, id));
            }
        }
    }
    for (from, to) in links {
        nodes.iter_mut().find(|n| n.id == from).unwrap().outlinks.push(to);
        nodes.iter_mut().find(|n| n.id == to).unwrap().inlinks.push(from);
    }
}

fn paint(canvas: &mut [bool], stride: usize, n: &Node) {
    let m = n.mask.as_ref().unwrap();
    for y in 0..m.height() as usize {
        for x in 0..m.width() as usize {
            if m.pixels()[y * m.width() as usize + x] != 0 {
                canvas[(n.top as usize + y) * stride + n.left as usize + x] = true;
            }
        }
    }
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn staffspaces_and_snapping_on_the_sandbox_page() {
    let data = shared_data();
    let rt = runtime();
    let mut nodes = sandbox_nodes(&data);
    link_staffs_to_lines(&mut nodes);
    let by_id: HashMap<i64, Node> = nodes.iter().map(|n| (n.id, n.clone())).collect();
    let mut staffs: Vec<&Node> = nodes.iter().filter(|n| n.class_name == "staff").collect();
    staffs.sort_by_key(|s| s.top);
    assert_eq!(staffs.iter().map(|s| s.id).collect::<Vec<_>>(), [11, 10, 75]);

    let spaces = rt.generate_staffspaces(nodes.clone()).unwrap();
    assert_eq!(spaces.len(), 18);
    assert_eq!(spaces.iter().map(|s| s.id).collect::<Vec<_>>(), (355..373).collect::<Vec<_>>(), "ids from max id + 1");
    let (stride, rows) = (1339usize, 1878usize);
    for (k, staff) in staffs.iter().enumerate() {
        let mine = &spaces[6 * k..6 * k + 6];
        let mut lines: Vec<&Node> = staff.outlinks.iter().map(|o| &by_id[o]).collect();
        lines.sort_by_key(|l| l.top);
        assert_eq!(lines.len(), 5);
        let t: Vec<i32> = lines.iter().map(|l| l.top).collect();
        let d = (t[4] - t[0]) / 4;
        // The boxes of spec §3.6 (the line masks are tight, so cropping keeps them).
        let mut boxes = vec![(t[0] - d, lines[0].left, lines[0].width, lines[0].height + d as u32)];
        for i in 0..4 {
            let (a, b) = (lines[i], lines[i + 1]);
            let lo = a.left.max(b.left);
            let hi = (a.left + a.width as i32).min(b.left + b.width as i32);
            boxes.push((a.top, lo, (hi - lo) as u32, (b.top + b.height as i32 - a.top) as u32));
        }
        boxes.push((t[4], lines[4].left, lines[4].width, lines[4].height + d as u32));
        for (i, sp) in mine.iter().enumerate() {
            assert_eq!(sp.class_name, "staffSpace");
            assert_eq!(sp.inlinks, vec![staff.id]);
            assert_eq!((sp.top, sp.left, sp.width, sp.height), boxes[i], "staff {} space {i}", staff.id);
            // Each space covers its neighbouring lines completely (within its columns).
            let mut canvas = vec![false; stride * rows];
            paint(&mut canvas, stride, sp);
            let neighbours: Vec<&Node> = match i {
                0 => vec![lines[0]],
                5 => vec![lines[4]],
                _ => vec![lines[i - 1], lines[i]],
            };
            for line in neighbours {
                let mut page = vec![false; stride * rows];
                paint(&mut page, stride, line);
                let uncovered = (0..stride * rows)
                    .filter(|&p| page[p] && !canvas[p])
                    .filter(|&p| (sp.left..sp.left + sp.width as i32).contains(&((p % stride) as i32)))
                    .count();
                assert_eq!(uncovered, 0, "staff {} space {i} leaves line {} uncovered", staff.id, line.id);
            }
        }
    }

    // Snapping: the staffs also link to their spaces, as the UI does.
    let mut everything = nodes.clone();
    for (k, staff) in staffs.iter().enumerate() {
        let s = everything.iter_mut().find(|n| n.id == staff.id).unwrap();
        s.outlinks.extend(spaces[6 * k..6 * k + 6].iter().map(|sp| sp.id));
    }
    everything.extend(spaces.iter().cloned());
    let space = |staff: i64, k: usize| spaces[6 * staffs.iter().position(|s| s.id == staff).unwrap() + k].id;
    let after = rt.snap_nodes_to_staves(everything.clone()).unwrap();
    assert_eq!(after.iter().map(|n| n.id).collect::<Vec<_>>(), everything.iter().map(|n| n.id).collect::<Vec<_>>());
    let old: HashMap<i64, &Node> = everything.iter().map(|n| (n.id, n)).collect();
    let new: HashMap<i64, &Node> = after.iter().map(|n| (n.id, n)).collect();
    let added =
        |id: i64| new[&id].outlinks.iter().copied().filter(|o| !old[&id].outlinks.contains(o)).collect::<Vec<_>>();
    // Read off the page image (lines: staff 11 = 0..4, staff 10 = 5..9, staff 75 = 70..74).
    let expected: Vec<(i64, Vec<i64>)> = vec![
        (21, vec![11, 2]),
        (23, vec![11, space(11, 3)]),
        (34, vec![11, 1]),
        (36, vec![11, space(11, 2)]),
        (46, vec![11, space(11, 3)]),
        (50, vec![10, space(10, 1)]),
        (56, vec![10, 6]),
        (68, vec![10, 7]),
        (83, vec![75, 73]),
        (93, vec![75, space(75, 1)]),
        (105, vec![75, space(75, 2)]),
        (110, vec![11]),
        (113, vec![10]),
        (118, vec![75]),
        (116, vec![11]),
        (348, vec![75]),
        (352, vec![10]),
        (19, vec![11]),
        (81, vec![75]),
    ];
    for (id, links) in &expected {
        assert_eq!(&added(*id), links, "node {id} ({})", old[id].class_name);
        for target in links {
            assert!(new[target].inlinks.contains(id), "{target} lacks the inlink from {id}");
        }
    }
    // Every notehead got one staff and one staff position; nothing else changed.
    let mut heads = 0;
    for n in &after {
        let got: Vec<&str> = added(n.id).iter().map(|o| new[o].class_name.as_str()).collect();
        if n.class_name.starts_with("notehead") {
            heads += 1;
            assert_eq!(got.len(), 2, "{}: {got:?}", n.id);
            assert_eq!(got[0], "staff");
            assert!(matches!(got[1], "staffLine" | "staffSpace"));
        }
    }
    assert_eq!(heads, 26);
    let again = rt.snap_nodes_to_staves(after.clone()).unwrap();
    assert_eq!(again, after, "snapping is idempotent");
}

#[test]
fn bad_inputs_give_typed_errors_and_the_next_call_works() {
    let rt = runtime();
    let ok = || {
        let mask = rt.fill_polygon(4, 3, &[Point { x: 0, y: 0 }, Point { x: 3, y: 0 }, Point { x: 3, y: 2 }]).unwrap();
        assert_eq!(mask.pixels().len(), 12);
    };
    // A short buffer cannot even become an image.
    let short = RgbaImage::new(10, 10, vec![255; 399]);
    assert!(matches!(short, Err(ExtractError::InvalidInput(m)) if m.contains("400")));
    let empty = RgbaImage::new(0, 5, vec![]).unwrap();
    assert!(matches!(rt.detect_stafflines(empty), Err(ExtractError::InvalidInput(_))));
    ok();
    let not_binary = Mask::new(3, 3, vec![0, 1, 2, 0, 1, 0, 0, 1, 0]).unwrap();
    assert!(matches!(rt.compute_cut_lines(not_binary), Err(ExtractError::InvalidInput(_))));
    ok();
    let empty_mask = Mask::new(30, 20, vec![0; 600]).unwrap();
    assert!(matches!(rt.compute_cut_lines(empty_mask), Err(ExtractError::Unsupported(_))));
    ok();
    let line = |id: i64, top: i32| Node {
        id,
        class_name: "staffLine".into(),
        top,
        left: 0,
        width: 20,
        height: 1,
        outlinks: vec![],
        inlinks: vec![],
        precedence_outlinks: vec![],
        precedence_inlinks: vec![],
        text_transcription: None,
        mask: Some(Mask::new(20, 1, vec![1; 20]).unwrap()),
    };
    let four: Vec<Node> = (0..4).map(|i| line(i, 10 * i as i32)).collect();
    assert!(matches!(rt.generate_staff_from_stafflines(four), Err(ExtractError::Unsupported(_))));
    ok();
    let five: Vec<Node> = (0..5).map(|i| line(i, 10 * i as i32)).collect();
    let staff = rt.generate_staff_from_stafflines(five).unwrap();
    assert_eq!((staff.class_name.as_str(), staff.top, staff.height), ("staff", 0, 40));
}

#[test]
fn binarize_finds_a_dark_rectangle_on_white() {
    let (w, h) = (40u32, 30u32);
    let mut pixels = vec![255u8; (w * h * 4) as usize];
    for y in 10..20 {
        for x in 5..25 {
            let p = ((y * w + x) * 4) as usize;
            pixels[p..p + 3].copy_from_slice(&[10, 10, 10]);
        }
    }
    let mask = runtime().otsu_binarize_region(RgbaImage::new(w, h, pixels).unwrap()).unwrap();
    assert_eq!(mask.count(), 200);
    assert_eq!(mask.pixels()[(15 * w + 10) as usize], 1);
    assert_eq!(mask.pixels()[(2 * w + 2) as usize], 0);
}

fn page_png(dir: &Path) -> std::path::PathBuf {
    let img = crate::common::synthetic_page();
    let path = dir.join("page.png");
    img.save(&path).unwrap();
    path
}

#[test]
fn the_extract_command_works_on_png_and_jpeg_and_documents() {
    let dir = tempfile::tempdir().unwrap();
    let png = page_png(dir.path());
    let jpg = dir.path().join("page.jpg");
    image::open(&png).unwrap().save(&jpg).unwrap();

    for (page, name) in [(&png, "png"), (&jpg, "jpg")] {
        let out = dir.path().join(format!("mask-{name}.png"));
        let res = run(cli()
            .args(["extract", "binarize", "--image"])
            .arg(page)
            .args(["--region", "90,140,40,30", "-o"])
            .arg(&out));
        assert!(res.status.success(), "{}", show(&res));
        let mask = Mask::open(&out, 1 << 20).unwrap();
        assert_eq!((mask.width(), mask.height()), (40, 30));
        assert!(mask.count() >= 100, "{name}: {}", mask.count());
    }

    // A region outside the page is refused clearly.
    let res = run(cli()
        .args(["extract", "stafflines", "--image"])
        .arg(&png)
        .args(["--region", "250,150,100,100", "-o"])
        .arg(dir.path().join("x.png")));
    assert_eq!(res.status.code(), Some(2), "{}", show(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("outside the 300x200 image"), "{}", show(&res));

    // Stafflines, then cut lines, then separate: five bands.
    let lines = dir.path().join("lines.png");
    let res = run(cli()
        .args(["extract", "stafflines", "--image"])
        .arg(&png)
        .args(["--region", "10,30,280,80", "-o"])
        .arg(&lines));
    assert!(res.status.success(), "{}", show(&res));
    let cuts = dir.path().join("cuts.json");
    let res = run(cli().args(["extract", "cut-lines", "--mask"]).arg(&lines).arg("-o").arg(&cuts));
    assert!(res.status.success(), "{}", show(&res));
    let cut_lines: Vec<Vec<[i32; 2]>> = serde_json::from_slice(&std::fs::read(&cuts).unwrap()).unwrap();
    assert_eq!(cut_lines.len(), 4, "{cut_lines:?}");
    let bands = dir.path().join("bands");
    let res = run(cli()
        .args(["extract", "separate", "--mask"])
        .arg(&lines)
        .arg("--cuts")
        .arg(&cuts)
        .args(["--left", "10", "--top", "30", "-o"])
        .arg(&bands));
    assert!(res.status.success(), "{}", show(&res));
    let listing: Vec<Value> = serde_json::from_slice(&std::fs::read(bands.join("bands.json")).unwrap()).unwrap();
    assert_eq!(listing.len(), 5);
    for (k, band) in listing.iter().enumerate() {
        assert_eq!(band["top"].as_i64().unwrap(), 40 + 15 * k as i64, "band {k}: {band}");
        assert!(bands.join(band["file"].as_str().unwrap()).exists());
    }

    // Into a document: a new node, the input untouched.
    let doc = dir.path().join("doc.xml");
    std::fs::copy(crate::common::fixtures().join("small.xml"), &doc).unwrap();
    let before = file_hash(&doc);
    let out_doc = dir.path().join("out.xml");
    let res = run(cli()
        .args(["extract", "binarize", "--image"])
        .arg(&png)
        .args(["--region", "90,140,40,30", "--polygon", "95,145,125,145,125,165,95,165", "--into"])
        .arg(&doc)
        .args(["--class-name", "noteheadBlack", "-o"])
        .arg(&out_doc));
    assert!(res.status.success(), "{}", show(&res));
    assert_eq!(file_hash(&doc), before, "the input document is never modified");
    let text = std::fs::read_to_string(&out_doc).unwrap();
    let issues_before = runtime().validate(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    let issues_after = runtime().validate(&text).unwrap();
    assert!(issues_after.len() > issues_before.len(), "the new notehead lacks its stem and staff links");
    let added = runtime()
        .execute(
            "import mstudio.mungxml as mx\nn = mx.read_mung(xml, masks=True).nodes[-1]\n[n.class_name, n.top, n.left, n.width, n.height, int(n.mask.sum())]",
            &json!({"xml": text}),
        )
        .unwrap()
        .value;
    assert_eq!(added, json!(["noteheadBlack", 150, 100, 12, 10, 120]), "the blob, cropped to its pixels");

    // An output that is an input (the document, or the page) is refused.
    for output in [&doc, &png] {
        let res = run(cli()
            .args(["extract", "binarize", "--image"])
            .arg(&png)
            .args(["--region", "90,140,40,30", "--into"])
            .arg(&doc)
            .args(["--class-name", "noteheadBlack", "-o"])
            .arg(output));
        assert_eq!(res.status.code(), Some(2), "{}", show(&res));
        assert!(String::from_utf8_lossy(&res.stderr).contains("is also an input"), "{}", show(&res));
    }
    assert_eq!(file_hash(&doc), before, "the input document is never modified");
}

#[test]
fn region_checks_and_mask_images() {
    let img = RgbaImage::new(10, 10, vec![0; 400]).unwrap();
    assert!(img.crop(Region { x: 5, y: 5, width: 5, height: 5 }).is_ok());
    assert!(matches!(img.crop(Region { x: 5, y: 5, width: 6, height: 5 }), Err(ExtractError::InvalidInput(_))));
    assert!(matches!(img.crop(Region { x: 0, y: 0, width: 0, height: 5 }), Err(ExtractError::InvalidInput(_))));
    assert_eq!("1,2,3,4".parse::<Region>().unwrap(), Region { x: 1, y: 2, width: 3, height: 4 });
    assert!("1,2,3".parse::<Region>().is_err());
    let mask = Mask::new(2, 1, vec![1, 0]).unwrap();
    assert_eq!(Mask::from_luma(&mask.to_luma()), mask);
    // Opening a picture is bounded like decoding one: 40x30 is 4,800 bytes as RGBA.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("mask.png");
    std::fs::write(&png, Mask::new(40, 30, vec![1; 1200]).unwrap().to_png()).unwrap();
    assert_eq!(Mask::open(&png, 4800).unwrap().count(), 1200);
    let err = Mask::open(&png, 4799).unwrap_err();
    assert!(err.to_string().contains("over the limit"), "{err}");
    assert_eq!(RgbaImage::open(&png, 4800).unwrap().pixels()[..4], [255, 255, 255, 255]);
    assert!(RgbaImage::open(&png, 4799).is_err());
}
