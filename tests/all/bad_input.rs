//! The bad-input suite: malformed, hostile and oversized input to
//! `validate`, `extract` and the library calls. Every answer is a result or
//! a typed refusal (never an internal error, a panic or a hang), and the
//! runtime keeps working.

use std::time::Duration;

use crate::common::{cli, fixtures, run, runtime, show};
use mung_runtime::{ExtractError, Mask, Node, PlacedMask, Point, RgbaImage, ValidateError};
use serde_json::Value;

fn small() -> String {
    std::fs::read_to_string(fixtures().join("small.xml")).unwrap()
}

fn node(id: &str, extra: &str) -> String {
    format!(
        "<Node><Id>{id}</Id><ClassName>noteheadFull</ClassName><Top>0</Top><Left>0</Left>\
         <Width>2</Width><Height>1</Height><Mask>0:0 1:2</Mask>{extra}</Node>"
    )
}

/// Hostile or broken documents: each is refused as invalid input (or
/// validated, where the document is merely odd).
#[test]
fn validate_refuses_bad_documents_as_invalid_input() {
    let deep = format!("<Nodes>{}{}</Nodes>", "<a>".repeat(50_000), "</a>".repeat(50_000));
    let huge_text = format!("<Nodes><Node><Id>1</Id><ClassName>{}</ClassName></Node></Nodes>", "x".repeat(8 << 20));
    let many_attrs = format!("<Nodes {}/>", (0..20_000).map(|i| format!("a{i}=\"1\"")).collect::<Vec<_>>().join(" "));
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("whitespace", "   \n".into()),
        ("not-xml", "hello world".into()),
        ("truncated", small()[..small().len() / 2].to_string()),
        ("unclosed", "<Nodes><Node>".into()),
        ("doctype", "<!DOCTYPE Nodes [<!ENTITY a \"aaaa\">]><Nodes>&a;</Nodes>".into()),
        (
            "billion-laughs",
            "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\
             <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><Nodes>&c;</Nodes>"
                .into(),
        ),
        ("external-entity", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Nodes>&e;</Nodes>".into()),
        ("wrong-root", "<Html><Body/></Html>".into()),
        ("no-id", "<Nodes><Node><ClassName>a</ClassName></Node></Nodes>".into()),
        ("text-id", format!("<Nodes>{}</Nodes>", node("abc", ""))),
        ("nan-id", format!("<Nodes>{}</Nodes>", node("nan", ""))),
        ("inf-id", format!("<Nodes>{}</Nodes>", node("inf", ""))),
        ("huge-id", format!("<Nodes>{}</Nodes>", node("99999999999999999999999999999", ""))),
        ("huge-link", format!("<Nodes>{}</Nodes>", node("1", "<Outlinks>99999999999999999999999</Outlinks>"))),
        ("dangling-link", format!("<Nodes>{}</Nodes>", node("1", "<Outlinks>2</Outlinks>"))),
        ("duplicate-ids", format!("<Nodes>{}{}</Nodes>", node("1", ""), node("1", ""))),
        (
            "mask-runs",
            "<Nodes><Node><Id>1</Id><ClassName>a</ClassName><Top>0</Top><Left>0</Left><Width>2</Width>\
             <Height>2</Height><Mask>0:1 1:99999999999999999999</Mask></Node></Nodes>"
                .into(),
        ),
        (
            "huge-box",
            "<Nodes><Node><Id>1</Id><ClassName>a</ClassName><Top>0</Top><Left>0</Left><Width>2000000000</Width>\
             <Height>2000000000</Height><Mask>1:1</Mask></Node></Nodes>"
                .into(),
        ),
        (
            "negative-box",
            "<Nodes><Node><Id>1</Id><ClassName>a</ClassName><Top>0</Top><Left>0</Left><Width>-2</Width>\
             <Height>1</Height><Mask>0:2</Mask></Node></Nodes>"
                .into(),
        ),
        ("deep-nesting", deep),
        ("huge-text", huge_text),
        ("many-attributes", many_attrs),
        ("nul", "<Nodes>\u{0}</Nodes>".into()),
    ];
    for (name, doc) in &cases {
        match runtime().validate(doc) {
            Ok(_) | Err(ValidateError::InvalidInput(_)) => {}
            Err(e) => panic!("{name}: expected issues or invalid input, got {e:?}"),
        }
    }
    // Non-UTF-8 bytes are refused before the sandbox.
    assert!(matches!(mung_runtime::document_text(b"<Nodes>\xff</Nodes>"), Err(ValidateError::InvalidInput(_))));
    runtime().validate(&small()).expect("the next document");
}

#[test]
fn validate_cli_reports_bad_files_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("binary.xml"), [0u8, 159, 146, 150, 255, 0, 1]).unwrap();
    std::fs::write(d.join("empty.xml"), "").unwrap();
    std::fs::write(d.join("doctype.xml"), "<!DOCTYPE a [<!ENTITY e SYSTEM \"/etc/passwd\">]><Nodes>&e;</Nodes>")
        .unwrap();
    std::fs::write(d.join("big.xml"), vec![b' '; 2 << 20]).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target.xml", d.join("dangling.xml")).unwrap();
    std::fs::create_dir(d.join("dir.xml")).unwrap();
    std::fs::copy(fixtures().join("small.xml"), d.join("zz-good.xml")).unwrap();
    let out = run(cli().args(["validate", "--format", "jsonl", "--max-size", "1M"]).arg(d));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kind = |file: &str| {
        lines
            .iter()
            .find(|l| l["file"].as_str().is_some_and(|f| f.ends_with(file)))
            .map(|l| l["error"]["kind"].as_str().unwrap_or("none").to_string())
            .unwrap_or_else(|| panic!("{file} not reported:\n{}", show(&out)))
    };
    assert_eq!(kind("binary.xml"), "invalid-input");
    assert_eq!(kind("empty.xml"), "invalid-input");
    assert_eq!(kind("doctype.xml"), "invalid-input");
    assert_eq!(kind("big.xml"), "too-large");
    assert_eq!(kind("dangling.xml"), "unreadable");
    assert_eq!(kind("zz-good.xml"), "none");
    assert!(lines.iter().all(|l| l["error"]["kind"] != "internal"), "{}", show(&out));

    // Paths that do not exist, or are not files.
    let out = run(cli().args(["validate", "/nonexistent/x.xml", "/dev/null"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    // Nonsense options.
    for args in [&["validate", "--max-size", "12Q", "x.xml"][..], &["validate", "--jobs", "-1", "x.xml"]] {
        let out = run(cli().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
    }
}

#[test]
fn extract_cli_refuses_bad_images_and_regions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let page = d.join("page.png");
    image_png(&page, 40, 30);
    std::fs::write(d.join("garbage.png"), b"this is not a png").unwrap();
    std::fs::write(d.join("truncated.png"), &std::fs::read(&page).unwrap()[..40]).unwrap();
    let out_png = d.join("out.png");
    let cases: Vec<Vec<String>> = vec![
        vec!["--image".into(), d.join("garbage.png").display().to_string(), "--region".into(), "0,0,5,5".into()],
        vec!["--image".into(), d.join("truncated.png").display().to_string(), "--region".into(), "0,0,5,5".into()],
        vec!["--image".into(), "/nonexistent.png".into(), "--region".into(), "0,0,5,5".into()],
        vec!["--image".into(), page.display().to_string(), "--region".into(), "30,20,20,20".into()],
        vec!["--image".into(), page.display().to_string(), "--region".into(), "0,0,0,0".into()],
        vec!["--image".into(), page.display().to_string(), "--region".into(), "-1,0,5,5".into()],
        vec!["--image".into(), page.display().to_string(), "--region".into(), "4294967295,0,5,5".into()],
        vec!["--image".into(), page.display().to_string(), "--region".into(), "1,2,3".into()],
        vec![
            "--image".into(),
            page.display().to_string(),
            "--region".into(),
            "0,0,10,10".into(),
            "--polygon".into(),
            "1,2,3".into(),
        ],
    ];
    for args in &cases {
        let mut cmd = cli();
        cmd.args(["extract", "binarize"]).args(args).arg("-o").arg(&out_png).arg("--timeout").arg("30");
        let (out, _) = run_limited(&mut cmd, Duration::from_secs(120));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        assert!(!out_png.exists(), "{args:?} wrote an output");
    }
    // Cut lines that are not JSON, or not lines.
    let lines = d.join("lines.png");
    image_png(&lines, 20, 20);
    for cuts in ["not json", "[[[1]]]", "{\"a\": 1}", "[[[1e99, 2]]]"] {
        std::fs::write(d.join("cuts.json"), cuts).unwrap();
        let out = run(cli()
            .args(["extract", "separate", "--mask"])
            .arg(&lines)
            .arg("--cuts")
            .arg(d.join("cuts.json"))
            .arg("-o")
            .arg(d.join("bands")));
        assert!(matches!(out.status.code(), Some(1 | 2)), "{cuts}: {}", show(&out));
    }
}

fn run_limited(cmd: &mut std::process::Command, limit: Duration) -> (std::process::Output, Duration) {
    let start = std::time::Instant::now();
    let out = run(cmd);
    let elapsed = start.elapsed();
    assert!(elapsed < limit, "{cmd:?} took {elapsed:?}");
    (out, elapsed)
}

fn image_png(path: &std::path::Path, width: u32, height: u32) {
    let img = mung_runtime::image::RgbaImage::from_fn(width, height, |x, y| {
        if (x + y) % 7 == 0 { mung_runtime::image::Rgba([0, 0, 0, 255]) } else { mung_runtime::image::Rgba([255; 4]) }
    });
    img.save(path).unwrap();
}

fn typed<T: std::fmt::Debug>(name: &str, r: Result<T, ExtractError>) {
    match r {
        Ok(_) | Err(ExtractError::InvalidInput(_)) | Err(ExtractError::Unsupported(_)) => {}
        Err(e) => panic!("{name}: expected a result or a typed refusal, got {e:?}"),
    }
}

#[test]
fn library_calls_refuse_malformed_arguments() {
    let rt = runtime();
    let img = |w: u32, h: u32, n: usize| RgbaImage::new(w, h, vec![200; n]).unwrap();
    let mask = |w: u32, h: u32, v: u8| Mask::new(w, h, vec![v; (w * h) as usize]).unwrap();
    // Buffers that do not match their size never become images or masks
    // (the sandbox checks again: `component::the_component_runs_under_plain_wasmtime`).
    for (name, w, h, n) in
        [("short pixels", 10, 10, 17), ("long pixels", 10, 10, 401), ("size overflow", u32::MAX, u32::MAX, 4)]
    {
        let refused = RgbaImage::new(w, h, vec![200; n]);
        assert!(matches!(refused, Err(ExtractError::InvalidInput(_))), "{name}: {refused:?}");
    }
    assert!(matches!(Mask::new(5, 5, vec![1; 3]), Err(ExtractError::InvalidInput(_))), "mask size mismatch");
    typed("empty image", rt.otsu_binarize_region(img(0, 0, 0)));
    typed("one pixel", rt.otsu_binarize_region(img(1, 1, 4)));
    typed("stafflines of nothing", rt.detect_stafflines(img(3, 1, 12)));
    typed("non-binary mask", rt.compute_cut_lines(mask(10, 10, 7)));
    typed("empty mask", rt.compute_cut_lines(mask(0, 0, 0)));
    let bad_cuts = vec![vec![Point { x: i32::MIN, y: i32::MAX }], vec![]];
    typed("bad cut lines", rt.separate_lines(i32::MAX, i32::MIN, mask(10, 10, 1), &bad_cuts));
    typed("polygon empty", rt.fill_polygon(10, 10, &[]));
    typed("polygon zero size", rt.fill_polygon(0, 0, &[Point { x: 0, y: 0 }]));
    typed(
        "polygon extreme",
        rt.fill_polygon(
            16,
            16,
            &[Point { x: i32::MIN, y: i32::MIN }, Point { x: i32::MAX, y: 0 }, Point { x: 0, y: i32::MAX }],
        ),
    );
    // A 4 G-pixel mask cannot be made under the memory cap: a typed refusal
    // or a sandbox stop, never a host allocation.
    match rt.fill_polygon(65536, 65536, &[Point { x: 0, y: 0 }, Point { x: 5, y: 5 }, Point { x: 0, y: 5 }]) {
        Ok(_) | Err(ExtractError::InvalidInput(_) | ExtractError::Unsupported(_) | ExtractError::Sandbox(_)) => {}
        Err(e) => panic!("huge polygon mask: {e:?}"),
    }
    let n = |id: i64, class: &str| Node {
        id,
        class_name: class.into(),
        top: 0,
        left: 0,
        width: 3,
        height: 2,
        outlinks: vec![id + 1],
        inlinks: vec![],
        precedence_outlinks: vec![],
        precedence_inlinks: vec![],
        text_transcription: None,
        mask: Some(mask(1, 1, 1)),
    };
    typed("staff of nothing", rt.generate_staff_from_stafflines(vec![]));
    typed("staff of bad masks", rt.generate_staff_from_stafflines(vec![n(1, "staffLine"); 5]));
    typed("staffspaces", rt.generate_staffspaces(vec![n(i64::MAX - 1, "staff")]));
    typed("snap", rt.snap_nodes_to_staves(vec![n(i64::MIN, "noteheadFull")]));
    let placed = PlacedMask { left: 0, top: 0, mask: mask(2, 2, 1) };
    typed("insert into garbage", rt.insert_node("not xml", "noteheadFull", placed.clone()));
    typed("insert bad class", rt.insert_node(&small(), "<evil/>&amp;", placed.clone()));
    typed(
        "insert empty mask",
        rt.insert_node(&small(), "noteheadFull", PlacedMask { left: 0, top: 0, mask: mask(0, 0, 0) }),
    );
    typed(
        "insert far away",
        rt.insert_node(&small(), "noteheadFull", PlacedMask { left: i32::MAX, top: i32::MIN, ..placed }),
    );
    // The runtime still works.
    assert!(rt.otsu_binarize_region(img(4, 4, 64)).is_ok());
}

#[test]
fn exec_cli_refuses_bad_arguments() {
    let cases: &[&[&str]] = &[
        &["exec", "--globals", "[1]", "-c", "1"],
        &["exec", "--globals", "{", "-c", "1"],
        &["exec", "--timeout", "0", "-c", "1"],
        &["exec", "--timeout", "nan", "-c", "1"],
        &["exec", "--memory", "12X", "-c", "1"],
        &["exec", "--allow-dir", "/nonexistent", "-c", "1"],
        &["exec", "--allow-dir", "/etc/passwd", "-c", "1"],
        &["exec", "/nonexistent.py"],
        // An endless "script": refused after a bounded read.
        &["exec", "/dev/zero"],
    ];
    for args in cases {
        let out = run(cli().args(*args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
    }
    // A script that is not UTF-8.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.py"), [0xffu8, 0xfe, b'1']).unwrap();
    let out = run(cli().arg("exec").arg(dir.path().join("s.py")));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}
