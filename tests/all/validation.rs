//! MuNG validation: exact MuNG Studio output on real documents, bad inputs,
//! `--fix`, and the compatibility code against the real libraries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{cli, file_hash, fixtures, native_command, reference_validator, run, runtime, shared_data, show};
use mung_runtime::{ValidateError, ValidationIssue};
use serde_json::{Value, json};

fn expected(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn as_json(issues: &[ValidationIssue]) -> Value {
    serde_json::to_value(issues).unwrap()
}

/// Runs `mung-runtime validate --format json` and returns file -> object.
fn cli_json(args: &[&Path], jobs: &str) -> (i32, BTreeMap<PathBuf, Value>) {
    let out = run(cli().args(["validate", "--format", "json", "--jobs", jobs]).args(args));
    let parsed: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", show(&out)));
    let map =
        parsed.as_array().unwrap().iter().map(|d| (PathBuf::from(d["file"].as_str().unwrap()), d.clone())).collect();
    (out.status.code().unwrap(), map)
}

#[test]
fn the_self_made_fixture_gives_the_hand_derived_issues() {
    let xml = std::fs::read_to_string(fixtures().join("small.xml")).unwrap();
    let issues = runtime().validate(&xml).unwrap();
    assert_eq!(as_json(&issues), expected(&fixtures().join("small.expected.json")));
    // The CLI gives the same, in MuNG Studio's JSON form.
    let (status, docs) = cli_json(&[&fixtures().join("small.xml")], "1");
    assert_eq!(status, 1, "issues found");
    let doc = docs.values().next().unwrap();
    assert_eq!(doc["issues"], expected(&fixtures().join("small.expected.json")));
    let first = doc["issues"][0].as_object().unwrap();
    assert_eq!(first.keys().collect::<Vec<_>>(), ["code", "fingerprint", "message", "nodeId", "resolution"]);
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn the_whole_corpus_matches_mung_studio_exactly() {
    let data = shared_data();
    let annotations = data.join("muscima-pp-v2.0/annotations");
    let samples = data.join("mung-samples");
    let sample_docs = [
        samples.join("test_data/01_basic.xml"),
        samples.join("test_data/01_basic_binary_2.0.xml"),
        samples.join("mung2midi-sample/CVC-MUSCIMA_W-01_N-10_D-ideal.xml"),
        samples.join("sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.jpg.xml"),
    ];
    let mut args: Vec<&Path> = vec![&annotations];
    args.extend(sample_docs.iter().map(PathBuf::as_path));
    let (status, docs) = cli_json(&args, "2");
    assert_eq!(status, 1);
    assert_eq!(docs.len(), 104);
    let mut checked = 0;
    for (file, doc) in &docs {
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let expected_file = if file.starts_with(&annotations) {
            data.join("muscima-pp-v2.0/expected-validation").join(format!("{stem}.json"))
        } else {
            samples.join("expected-validation").join(format!("{stem}.json"))
        };
        assert!(doc.get("error").is_none(), "{}: {}", file.display(), doc["error"]);
        assert!(
            doc["issues"] == expected(&expected_file),
            "{} differs from {}",
            file.display(),
            expected_file.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 104);
    // The reference answers every document the compiled rules leave to it,
    // so it must be exact too.
    let reference = reference_validator();
    for (file, doc) in &docs {
        let issues = reference.validate(&std::fs::read_to_string(file).unwrap()).unwrap();
        assert!(as_json(&issues) == doc["issues"], "{}: the reference differs", file.display());
    }
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn muscima_1_0_documents_give_the_specified_counts() {
    let data = shared_data();
    let dir = data.join("mung-samples/test_data");
    let cases: [(&str, &[(u32, usize)]); 3] = [
        ("CVC-MUSCIMA_W-01_N-10_D-ideal.xml", &[(1012, 27), (5002, 581), (5101, 1272), (5102, 226), (5201, 460)]),
        ("CVC-MUSCIMA_W-01_N-10_D-ideal.b.xml", &[(1012, 3), (5002, 39), (5101, 33), (5102, 7)]),
        ("CVC-MUSCIMA_W-07_N-08_D-ideal.staffspace.xml", &[(1012, 19), (5002, 473), (5101, 672), (5102, 288)]),
    ];
    for (name, counts) in cases {
        let issues = runtime().validate(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        let mut got: BTreeMap<u32, usize> = BTreeMap::new();
        for i in &issues {
            *got.entry(i.code).or_default() += 1;
        }
        assert_eq!(got, counts.iter().copied().collect::<BTreeMap<_, _>>(), "{name}");
    }
}

/// Each bad document gets its own clear error; the batch goes on.
#[test]
fn bad_inputs_each_give_a_clear_error_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let node = |id: i64, class: &str, extra: &str| {
        format!(
            "<Node><Id>{id}</Id><ClassName>{class}</ClassName><Top>0</Top><Left>0</Left><Width>2</Width><Height>2</Height>{extra}</Node>"
        )
    };
    let doc = |nodes: &str| {
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Nodes dataset=\"t\" document=\"t\">{nodes}</Nodes>\n")
    };
    let good = doc(&node(1, "noteheadBlack", ""));
    let bomb = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Nodes [<!ENTITY a \"aaaaaaaaaa\">{}]>\n<Nodes>&j;</Nodes>",
        (b'b'..=b'j')
            .map(|c| format!("<!ENTITY {} \"{}\">", c as char, format!("&{};", (c - 1) as char).repeat(10)))
            .collect::<String>()
    );
    let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE Nodes [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<Nodes><Node><Id>1</Id><ClassName>&x;</ClassName><Top>0</Top><Left>0</Left><Width>1</Width><Height>1</Height></Node></Nodes>";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("good.xml", good.clone().into_bytes(), ""),
        ("not-xml.xml", b"this is not XML at all".to_vec(), "invalid-input"),
        ("truncated.xml", good.as_bytes()[..good.len() / 2].to_vec(), "invalid-input"),
        ("bomb.xml", bomb.into_bytes(), "invalid-input"),
        ("xxe.xml", xxe.as_bytes().to_vec(), "invalid-input"),
        ("bad-rle.xml", doc(&node(1, "stem", "<Mask>0:1 1:9</Mask>")).into_bytes(), "invalid-input"),
        (
            "duplicate-ids.xml",
            doc(&format!("{}{}", node(1, "stem", ""), node(1, "beam", ""))).into_bytes(),
            "invalid-input",
        ),
        ("missing-link.xml", doc(&node(1, "noteheadBlack", "<Outlinks>99</Outlinks>")).into_bytes(), "invalid-input"),
        ("binary.xml", (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(), "invalid-input"),
        (
            "huge.xml",
            {
                let mut big = doc("").into_bytes();
                big.resize(50 << 20, b' ');
                big
            },
            "too-large",
        ),
    ];
    for (name, bytes, _) in &cases {
        std::fs::write(d.join(name), bytes).unwrap();
    }
    std::os::unix::fs::symlink("/nonexistent/target.xml", d.join("unreadable.xml")).unwrap();

    let (status, docs) = cli_json(&[d], "2");
    assert_eq!(status, 2, "some documents could not be read");
    assert_eq!(docs.len(), cases.len() + 1);
    for (name, _, kind) in &cases {
        let doc = &docs[&d.join(name)];
        if kind.is_empty() {
            assert_eq!(doc["issues"].as_array().unwrap().len(), 3, "{name}: {doc}");
        } else {
            assert_eq!(doc["error"]["kind"], *kind, "{name}: {doc}");
            let message = doc["error"]["message"].as_str().unwrap();
            assert!(message.len() > 10 && !message.contains("Traceback"), "{name}: unclear message {message:?}");
        }
    }
    assert_eq!(docs[&d.join("unreadable.xml")]["error"]["kind"], "unreadable");
    let xxe_message = docs[&d.join("xxe.xml")]["error"]["message"].as_str().unwrap();
    assert!(!xxe_message.contains("root:"), "/etc/passwd leaked: {xxe_message}");
    assert!(docs[&d.join("bad-rle.xml")]["error"]["message"].as_str().unwrap().contains("node id 1"));

    // The library reports the same kinds, and the next call works.
    let rt = runtime();
    for (name, bytes, kind) in &cases {
        if *kind != "invalid-input" || name.starts_with("binary") {
            continue;
        }
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(matches!(rt.validate(&text), Err(ValidateError::InvalidInput(_))), "{name}");
        assert_eq!(rt.validate(&good).unwrap().len(), 3);
    }
}

#[test]
fn fix_writes_copies_that_revalidate_clean_and_never_touches_inputs() {
    let inputs = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut sources = vec![fixtures().join("small-fixable.xml"), fixtures().join("small.xml")];
    if cfg!(mung_shared_data) {
        let data = crate::common::shared_data();
        sources.push(data.join("mung-samples/test_data/01_basic.xml"));
        sources.push(data.join("muscima-pp-v2.0/annotations/CVC-MUSCIMA_W-05_N-19_D-ideal.xml"));
    }
    for s in &sources {
        std::fs::copy(s, inputs.path().join(s.file_name().unwrap())).unwrap();
    }
    let before: Vec<(PathBuf, String)> = std::fs::read_dir(inputs.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), file_hash(&p)))
        .collect();

    let res = run(cli().args(["validate", "--format", "jsonl", "--fix"]).arg(out.path()).arg(inputs.path()));
    assert_eq!(res.status.code(), Some(1), "{}", show(&res));
    for (path, hash) in &before {
        assert_eq!(&file_hash(path), hash, "{} was modified", path.display());
        let fixed = out.path().join(path.file_name().unwrap());
        let text = std::fs::read_to_string(&fixed).unwrap_or_else(|e| panic!("{}: {e}", fixed.display()));
        let issues = runtime().validate(&text).unwrap();
        let fixable: Vec<_> = issues.iter().filter(|i| i.resolution.is_some()).collect();
        assert!(fixable.is_empty(), "{}: still fixable: {fixable:?}", fixed.display());
    }
    // Writing over an input is refused.
    let res = run(cli().args(["validate", "--fix"]).arg(inputs.path()).arg(inputs.path()));
    assert_eq!(res.status.code(), Some(2), "{}", show(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("would overwrite"), "{}", show(&res));
}

#[test]
fn human_output_summarises_each_document() {
    let res = run(cli().args(["validate", "--max-listed", "3"]).arg(fixtures().join("small.xml")));
    assert_eq!(res.status.code(), Some(1));
    let text = String::from_utf8_lossy(&res.stdout);
    assert!(text.contains("small.xml: 34 issues ("), "{text}");
    assert!(text.contains("… and 31 more"), "{text}");
    let clean = tempfile::NamedTempFile::with_suffix(".xml").unwrap();
    std::fs::write(clean.path(), "<Nodes></Nodes>").unwrap();
    let res = run(cli().arg("validate").arg(clean.path()));
    assert_eq!(res.status.code(), Some(0), "{}", show(&res));
    assert!(String::from_utf8_lossy(&res.stdout).contains("no issues"));
    // A directory without documents is an error, not a silent success.
    let empty = tempfile::tempdir().unwrap();
    let res = run(cli().arg("validate").arg(empty.path()));
    assert_eq!(res.status.code(), Some(2), "{}", show(&res));
    assert!(String::from_utf8_lossy(&res.stderr).contains("no *.xml documents found"), "{}", show(&res));
}

/// The `skimage.measure.label` stand-in gives exactly what scikit-image
/// gives natively.
#[test]
fn the_skimage_stand_in_matches_real_scikit_image() {
    let script = r#"
import json, sys
import numpy as np
from skimage.measure import label
rng = np.random.default_rng(7)
cases = [np.zeros((1, 1), np.uint8), np.ones((1, 1), np.uint8), np.zeros((4, 6), np.uint8), np.ones((5, 3), np.uint8)]
for h, w, p in [(8, 8, 0.5), (13, 7, 0.3), (20, 31, 0.6), (1, 40, 0.5), (40, 1, 0.5), (30, 30, 0.45)]:
    cases.append((rng.random((h, w)) < p).astype(np.uint8))
cases.append(rng.integers(0, 4, (12, 12)).astype(np.uint8))
out = [{"image": c.tolist(), "label": label(c).tolist(), "label1": label(c, connectivity=1).tolist(),
        "num": int(label(c, return_num=True)[1]), "dtype": str(label(c).dtype)} for c in cases]
json.dump(out, sys.stdout)
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("native_label.py");
    std::fs::write(&path, script).unwrap();
    // Natively, with real scikit-image (not our stand-in on the path).
    let mut cmd = std::process::Command::new(crate::common::native_python());
    let res = run(cmd.arg(&path));
    assert!(res.status.success(), "{}", show(&res));
    let native: Value = serde_json::from_slice(&res.stdout).unwrap();
    let sandbox = runtime()
        .execute(
            "import numpy as np\nfrom skimage.measure import label\n\
             [{'label': label(np.array(c['image'], np.uint8)).tolist(),\
               'label1': label(np.array(c['image'], np.uint8), connectivity=1).tolist(),\
               'num': int(label(np.array(c['image'], np.uint8), return_num=True)[1]),\
               'dtype': str(label(np.array(c['image'], np.uint8)).dtype)} for c in cases]",
            &json!({"cases": native}),
        )
        .unwrap()
        .value;
    for (i, (n, s)) in native.as_array().unwrap().iter().zip(sandbox.as_array().unwrap()).enumerate() {
        for key in ["label", "label1", "num", "dtype"] {
            assert_eq!(n[key], s[key], "case {i}, {key}");
        }
    }
    // The broader native comparison written with the package.
    let res = run(&mut native_command(&crate::common::repo().join("python-wasm/tests/test_skimage_compat.py")));
    assert!(res.status.success(), "{}", show(&res));
}

/// `mung-runtime validate … | head` closes stdout early: the tool stops
/// quietly with the status of what it validated, it does not panic.
#[test]
fn a_closed_stdout_ends_the_report_quietly() {
    use std::process::Stdio;
    for args in [&["validate", "--format", "jsonl"][..], &["validate"][..]] {
        let mut child = cli()
            .args(args)
            .arg(fixtures())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting mung-runtime");
        drop(child.stdout.take()); // the reader goes away before the first line
        let res = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(res.status.code(), Some(1), "{args:?}: {stderr}");
    }
    let mut child = cli()
        .args(["exec", "-c", "for i in range(10000): print(i)"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting mung-runtime");
    drop(child.stdout.take());
    let res = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&res.stderr).contains("panicked"), "{}", show(&res));
    assert_eq!(res.status.code(), Some(0), "{}", show(&res));
}

/// The documents the compiled validator is compared on: the self-made
/// fixtures, and the real small documents when the shared data is there.
fn comparison_documents() -> Vec<(String, String)> {
    let mut paths = vec![fixtures().join("small.xml"), fixtures().join("small-fixable.xml")];
    if cfg!(mung_shared_data) {
        let samples = shared_data().join("mung-samples");
        paths.extend([
            samples.join("test_data/01_basic.xml"),
            samples.join("test_data/01_basic_binary_2.0.xml"),
            samples.join("test_data/CVC-MUSCIMA_W-01_N-10_D-ideal.b.xml"),
            samples
                .join("sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.jpg.xml"),
        ]);
    }
    paths
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(p).unwrap()))
        .collect()
}

/// Edits of a document that reach each rule and each way a document can be
/// wrong: class renames (deprecated, orientation, single-pixel and grammar
/// classes), dropped links and data, a shared id, a truncated text, a
/// DOCTYPE, another declared encoding. `seed` varies which nodes change.
fn variants(xml: &str, seed: usize) -> Vec<(&'static str, String)> {
    const CLASSES: [&str; 14] = [
        "noteheadFull",
        "flag",
        "fermata",
        "sharp",
        "numeral3",
        "barline",
        "tuple",
        "flag8thUp",
        "fermataBelow",
        "stem",
        "staffLine",
        "noteheadBlack",
        "beam",
        "restQuarter",
    ];
    let mut out = Vec::new();
    let mut n = 0;
    let renamed = replace_each(xml, "<ClassName>", "</ClassName>", |old| {
        n += 1;
        if (n + seed).is_multiple_of(3) { CLASSES[(n * 7 + seed) % CLASSES.len()].to_string() } else { old.to_string() }
    });
    out.push(("classes renamed", renamed));
    let mut n = 0;
    out.push((
        "outlinks dropped",
        replace_each(xml, "<Outlinks>", "</Outlinks>", |old| {
            n += 1;
            if (n + seed).is_multiple_of(4) { String::new() } else { old.to_string() }
        }),
    ));
    let mut n = 0;
    let mut last = String::new();
    out.push((
        "an id shared",
        replace_each(xml, "<Id>", "</Id>", |old| {
            n += 1;
            let id = if n == 3 + seed { last.clone() } else { old.to_string() };
            last = old.to_string();
            id
        }),
    ));
    out.push(("data dropped", replace_each(xml, "<Data>", "</Data>", |_| String::new())));
    let mut cut = xml.len() * (seed + 1) / 5;
    while !xml.is_char_boundary(cut) {
        cut -= 1;
    }
    out.push(("truncated", xml[..cut].to_string()));
    out.push(("doctype", xml.replacen("?>", "?><!DOCTYPE Nodes [<!ENTITY a \"b\">]>", 1)));
    out.push(("latin-1", xml.replacen("encoding=\"utf-8\"", "encoding=\"ISO-8859-1\"", 1)));
    out
}

/// `xml` with the text between each `open` and the next `close` replaced.
fn replace_each(xml: &str, open: &str, close: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find(open) {
        let body = start + open.len();
        let Some(len) = rest[body..].find(close) else { break };
        out.push_str(&rest[..body]);
        out.push_str(&f(&rest[body..body + len]));
        rest = &rest[body + len..];
    }
    out.push_str(rest);
    out
}

/// The compiled validator (the default) and `mstudio.validation` give the
/// same answer, issues or error, on real documents and on edits of them
/// that reach every rule and every way to fail.
#[test]
fn the_compiled_validator_answers_exactly_like_the_reference() {
    let reference = reference_validator();
    let mut compared = 0;
    let mut issues = 0;
    for (name, xml) in comparison_documents() {
        let mut cases = vec![("as it is", xml.clone())];
        for seed in 0..3 {
            cases.extend(variants(&xml, seed));
        }
        for (what, doc) in cases {
            let fast = runtime().validate(&doc);
            let slow = reference.validate(&doc);
            match (&fast, &slow) {
                (Ok(a), Ok(b)) => {
                    assert!(a == b, "{name}, {what}: the compiled issues differ from the reference's");
                    issues += a.len();
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}, {what}"),
                _ => panic!("{name}, {what}: compiled {fast:?}\nreference {slow:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared >= 2 * 22, "{compared} documents compared");
    assert!(issues > 0);
}
