//! Regression tests for the defects of issue 10 (host-side limits): each
//! failed before its fix.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{cli, fixtures, run, runtime, show};
use mung_runtime::{ExecFailure, HashSeed, Mount, PythonErrorKind, RgbaImage, Runtime, SandboxError, ValidateError};
use serde_json::{Value, json};

/// Runs `cmd`, killing it if it takes longer than `limit` (a hang must fail
/// the test, not the whole run).
fn run_within(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("{cmd:?} did not finish within {limit:?}\n{}", show(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    (child.wait_with_output().unwrap(), elapsed)
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Lets a host thread that is still blocked opening `fifo` (the guest's
/// abandoned open) go: a writer appears and leaves at once.
fn release_fifo(fifo: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new().write(true).custom_flags(0o4000).open(fifo);
}

// ------------------------------------------------------------------ defect 1

#[test]
fn d1_a_fifo_in_a_grant_does_not_outlive_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let grant = dir.path().canonicalize().unwrap();
    let fifo = grant.join("p");
    mkfifo(&fifo);
    let guest = grant.to_str().unwrap().to_string();
    let rt = Runtime::builder()
        .timeout(Duration::from_secs(2))
        .mount(Mount::read_only(&grant, &guest))
        .build()
        .expect("a runtime with a grant");
    // Boot an instance first, so that the timing below is the call's alone.
    assert_eq!(rt.execute("1", &json!({})).unwrap().value, json!(1));
    let code = format!("open({:?}).read()", fifo.to_str().unwrap());
    let start = Instant::now();
    let err = rt.execute(&code, &json!({})).expect_err("reading a FIFO without a writer cannot finish");
    let elapsed = start.elapsed();
    release_fifo(&fifo);
    assert!(matches!(err.failure, ExecFailure::Sandbox(SandboxError::Timeout { .. })), "{err:?}");
    assert!(elapsed < Duration::from_secs(5), "stopped after {elapsed:?}, not at the 2 s deadline");
    assert_eq!(rt.execute("6 * 7", &json!({})).unwrap().value, json!(42));

    // The same through the command line: status 124.
    let (out, _) = run_within(
        cli().args(["exec", "--timeout", "2", "--allow-dir"]).arg(&grant).arg("-c").arg(&code),
        Duration::from_secs(300),
    );
    release_fifo(&fifo);
    assert_eq!(out.status.code(), Some(124), "{}", show(&out));
}

// ------------------------------------------------------------------ defect 2

#[test]
fn d2_validate_refuses_devices_and_fifos_without_reading_them() {
    let (out, elapsed) =
        run_within(cli().args(["validate", "--format", "jsonl", "/dev/zero"]), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let line: Value = serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["error"]["kind"], "not-a-file", "{line}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");

    // A FIFO named *.xml in a folder: reported, the rest of the batch runs.
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("a.xml"));
    std::fs::copy(fixtures().join("small.xml"), dir.path().join("b.xml")).unwrap();
    let (out, _) = run_within(cli().args(["validate", "--format", "jsonl"]).arg(dir.path()), Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{}", show(&out));
    assert_eq!(lines[0]["error"]["kind"], "not-a-file", "{}", lines[0]);
    assert!(lines[1]["issues"].is_array(), "{}", lines[1]);
}

#[test]
fn d2_validate_checks_the_size_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.xml");
    // A 3 GB sparse file: reading it whole took 3.2 GB and 11 s.
    std::fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    let (out, elapsed) = run_within(cli().args(["validate", "--format", "jsonl"]).arg(&big), Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["error"]["kind"], "too-large", "{line}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

/// The same bound for `extract`'s inputs: the page image, a mask, the cuts
/// and the document to insert into are read only when they are regular
/// files within the memory cap (reading `/dev/zero` whole ran out of memory).
#[test]
fn d2_extract_refuses_devices_and_oversized_inputs_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.png");
    std::fs::File::create(&big).unwrap().set_len(3 << 30).unwrap();
    let mask = dir.path().join("mask.png");
    image::GrayImage::from_pixel(4, 4, image::Luma([255])).save(&mask).unwrap();
    let out_png = dir.path().join("out.png");
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec![
            "extract".into(),
            "binarize".into(),
            "--image".into(),
            "/dev/zero".into(),
            "--region".into(),
            "0,0,4,4".into(),
            "-o".into(),
            out_png.clone().into(),
        ],
        vec![
            "extract".into(),
            "binarize".into(),
            "--image".into(),
            big.clone().into(),
            "--region".into(),
            "0,0,4,4".into(),
            "-o".into(),
            out_png.clone().into(),
        ],
        vec!["extract".into(), "cut-lines".into(), "--mask".into(), "/dev/zero".into()],
        vec![
            "extract".into(),
            "separate".into(),
            "--mask".into(),
            mask.clone().into(),
            "--cuts".into(),
            "/dev/zero".into(),
            "-o".into(),
            dir.path().join("bands").into(),
        ],
    ];
    for args in cases {
        let (out, elapsed) = run_within(cli().args(&args), Duration::from_secs(120));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("not a regular file (a device)") || stderr.contains("more than the limit"),
            "{args:?}: {stderr}"
        );
        assert!(elapsed < Duration::from_secs(30), "{args:?}: {elapsed:?}");
    }
    assert!(!out_png.exists(), "nothing written");
}

// ------------------------------------------------------------------ defect 3

#[test]
fn d3_the_folder_walk_survives_symlink_loops_and_lists_each_document_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::copy(fixtures().join("small.xml"), root.join("a.xml")).unwrap();
    std::fs::copy(fixtures().join("small.xml"), root.join("sub/b.xml")).unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/uplink")).unwrap();
    std::os::unix::fs::symlink(".", root.join("x")).unwrap();
    std::os::unix::fs::symlink(".", root.join("y")).unwrap();
    // A link to a document is the same document.
    std::os::unix::fs::symlink("a.xml", root.join("same.xml")).unwrap();
    let (out, _) = run_within(cli().args(["validate", "--format", "jsonl"]).arg(root), Duration::from_secs(120));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "each document once:\n{}", show(&out));
    // small.xml has issues: status 1, as for the same two files without links.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

// ------------------------------------------------------------------ defect 4

#[test]
fn d4_os_exit_keeps_its_status() {
    let err = runtime().execute("import os\nos._exit(7)", &json!({})).expect_err("os._exit ends the call");
    assert!(matches!(err.failure, ExecFailure::Sandbox(SandboxError::Exit { code: 7 })), "{err:?}");
    let err = runtime().execute("import os\nos._exit(0)", &json!({})).expect_err("os._exit ends the call");
    assert!(matches!(err.failure, ExecFailure::Sandbox(SandboxError::Exit { code: 0 })), "{err:?}");
    // Printing the status is not mistaken for it, and stderr stays clean.
    let err = runtime()
        .execute("import os, sys\nsys.stderr.write('x'); sys.stderr.flush()\nos._exit(300)", &json!({}))
        .expect_err("os._exit ends the call");
    assert!(matches!(err.failure, ExecFailure::Sandbox(SandboxError::Exit { code: 300 })), "{err:?}");
    assert_eq!(err.output.stderr, b"x");
    assert_eq!(runtime().execute("6 * 7", &json!({})).unwrap().value, json!(42));

    let out = run(cli().args(["exec", "-c", "import os; os._exit(7)"]));
    assert_eq!(out.status.code(), Some(7), "{}", show(&out));
    let out = run(cli().args(["exec", "--json", "-c", "import os; os._exit(7)"]));
    assert_eq!(out.status.code(), Some(7), "{}", show(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["exit_code"], 7, "{report}");
}

// ------------------------------------------------------------------ defect 5

fn one_node(id: &str) -> String {
    format!(
        "<Nodes><Node><Id>{id}</Id><ClassName>noteheadFull</ClassName><Top>0</Top><Left>0</Left>\
         <Width>2</Width><Height>1</Height><Mask>0:0 1:2</Mask></Node></Nodes>"
    )
}

#[test]
fn d5_an_oversized_node_id_is_invalid_input() {
    for id in ["99999999999999999999999999999", "9223372036854775808", "-9223372036854777856", "1e300"] {
        match runtime().validate(&one_node(id)) {
            // A float literal is refused before its range matters: it cannot be read exactly.
            Err(ValidateError::InvalidInput(m)) => {
                assert!(m.contains(if id.contains('e') { "read exactly" } else { "range" }), "{id}: {m}")
            }
            other => panic!("id {id}: expected invalid input, got {other:?}"),
        }
    }
    // Ids are read as `int(float(text))` (as mung does): the largest one is
    // the largest float below 2**63.
    runtime().validate(&one_node("9223372036854774784")).expect("the largest 64-bit id");
}

// ------------------------------------------------------------------ defect 6

#[test]
fn d6_the_final_value_is_bound_by_the_output_limit() {
    let rt = Runtime::builder().output_limit(1 << 20).build().unwrap();
    let err = rt.execute("'x' * (2 << 20)", &json!({})).expect_err("a 2 MB value over a 1 MB limit");
    match &err.failure {
        ExecFailure::Python(p) => assert_eq!(p.kind, PythonErrorKind::ValueTooLarge, "{p:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(rt.execute("'x' * 1000", &json!({})).unwrap().value.as_str().unwrap().len(), 1000);

    let (out, _) =
        run_within(cli().args(["exec", "--output-limit", "1M", "-c", "'x' * (2 << 20)"]), Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(out.stdout.len() < 1000, "the value was printed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output-limit"), "{}", show(&out));
}

// ------------------------------------------------------------------ defect 7

/// A PNG that claims to be `width`×`height` (valid signature and IHDR, no
/// pixel data): decoding it must be refused from the header alone.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(width.to_be_bytes());
    chunk.extend(height.to_be_bytes());
    chunk.extend([8, 6, 0, 0, 0]); // 8-bit RGBA
    png.extend(13u32.to_be_bytes());
    png.extend(&chunk);
    png.extend(crc32(&chunk).to_be_bytes());
    png
}

#[test]
fn d7_huge_images_are_refused_before_decoding() {
    let png = png_header(20_000, 20_000);
    let start = Instant::now();
    let err = RgbaImage::decode_region(&png, None, 256 << 20).expect_err("1.6 GB of pixels over a 256 MB limit");
    assert!(matches!(err, mung_runtime::ExtractError::InvalidInput(_)), "{err:?}");
    assert!(mung_runtime::Mask::decode(&png, 256 << 20).is_err());
    assert!(start.elapsed() < Duration::from_secs(2));

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("huge.png");
    std::fs::write(&page, &png).unwrap();
    let (out, _) = run_within(
        cli()
            .args(["extract", "binarize", "--memory", "256M", "--region", "0,0,10,10", "--image"])
            .arg(&page)
            .arg("-o")
            .arg(dir.path().join("m.png")),
        Duration::from_secs(60),
    );
    assert_ne!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!dir.path().join("m.png").exists());
}

// ------------------------------------------------------------------ defect 8

/// What the sandbox guarantees about `hash()` (see the README's security
/// model): hash randomisation is on; by default every instance of a machine
/// shares the secret drawn when its snapshot was built (another cache, or
/// another machine, draws another: `cache::two_processes_started_at_once_build_and_compile_once`
/// checks that); str hashes are consistent within an instance and set/dict
/// lookups are correct.
#[test]
fn d8_the_hash_secret_is_random_per_machine_and_consistent_within_an_instance() {
    let code = "import sys\n\
        s = {'abc', 'abd', 'x' * 40}\n\
        d = {k: i for i, k in enumerate(['a', 'b', 'c'])}\n\
        [sys.flags.hash_randomization, hash('abc') == hash(''.join(['a', 'b', 'c'])), sorted(s) == sorted(list(s)), \
         'abc' in s, d['b'], hash('abc')]";
    let a = runtime().execute(code, &json!({})).unwrap().value;
    // hash_randomization is 0 under a fixed PYTHONHASHSEED (the wheel's own
    // snapshot froze PYTHONHASHSEED=0).
    assert_eq!(a.as_array().unwrap()[..5], [json!(1), json!(true), json!(true), json!(true), json!(1)], "{a}");
    // Fresh instances of this machine share the secret.
    let b = runtime().execute(code, &json!({})).unwrap().value;
    assert_eq!(a[5], b[5], "two fresh instances of one snapshot");
}

/// With [`HashSeed::PerInstance`] every instance draws its own secret.
#[test]
fn d8_a_hash_seed_per_instance_differs_between_instances() {
    let rt = Runtime::builder()
        .hash_seed(HashSeed::PerInstance)
        .max_instances(2)
        .build()
        .expect("a runtime with the plain interpreter");
    assert!(!rt.info().preinitialized && rt.info().hash_seed == HashSeed::PerInstance);
    let code = "import sys; [sys.flags.hash_randomization, hash('abc'), hash('abc') == hash('ab' + 'c')]";
    let values: Vec<Value> = (0..3).map(|_| rt.execute(code, &json!({})).unwrap().value).collect();
    for v in &values {
        assert_eq!((v[0].clone(), v[2].clone()), (json!(1), json!(true)), "{v}");
    }
    let hashes: std::collections::HashSet<i64> = values.iter().map(|v| v[1].as_i64().unwrap()).collect();
    assert_eq!(hashes.len(), 3, "three instances, three secrets: {values:?}");
    let machine = runtime().execute("hash('abc')", &json!({})).unwrap().value.as_i64().unwrap();
    assert!(!hashes.contains(&machine), "none is the machine's secret");
    // A session keeps its instance, and so its secret.
    let mut session = rt.session();
    let first = session.execute("hash('abc')", &json!({})).unwrap().value;
    assert_eq!(session.execute("hash('abc')", &json!({})).unwrap().value, first);
    // The same from the command line.
    let out = run(cli().args(["exec", "--hash-seed", "random", "-c", "import sys; sys.flags.hash_randomization"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n", "{}", show(&out));
}

/// The reference validator (Python) gives the same issues, in the same
/// order, whatever the hash secret: checked with a new secret for every
/// document.
#[test]
fn d8_validation_does_not_depend_on_the_hash_secret() {
    let rt = Runtime::builder()
        .hash_seed(HashSeed::PerInstance)
        .isolation(mung_runtime::Isolation::Fresh)
        .max_instances(2)
        // the Python rules are the ones that could depend on it
        .validator(mung_runtime::Validator::Reference)
        .build()
        .expect("a runtime with the plain interpreter");
    let xml = std::fs::read_to_string(fixtures().join("small.xml")).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("small.expected.json")).unwrap()).unwrap();
    for _ in 0..3 {
        let issues = rt.validate(&xml).unwrap();
        assert_eq!(serde_json::to_value(&issues).unwrap(), expected);
    }
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn d8_real_documents_validate_alike_whatever_the_hash_secret() {
    let data = crate::common::shared_data().join("muscima-pp-v2.0");
    let rt = Runtime::builder()
        .hash_seed(HashSeed::PerInstance)
        .isolation(mung_runtime::Isolation::Fresh)
        .max_instances(2)
        // the Python rules are the ones that could depend on it
        .validator(mung_runtime::Validator::Reference)
        .build()
        .expect("a runtime with the plain interpreter");
    for stem in ["CVC-MUSCIMA_W-01_N-10_D-ideal", "CVC-MUSCIMA_W-03_N-18_D-ideal", "CVC-MUSCIMA_W-48_N-16_D-ideal"] {
        let xml = std::fs::read_to_string(data.join("annotations").join(format!("{stem}.xml"))).unwrap();
        let expected: Value = serde_json::from_slice(
            &std::fs::read(data.join("expected-validation").join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        let issues = rt.validate(&xml).unwrap();
        assert!(serde_json::to_value(&issues).unwrap() == expected, "{stem} differs under a per-instance secret");
    }
}

// ------------------------------------------------------------------ defect 9

#[test]
fn d9_links_out_of_a_writable_grant_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let grant = dir.path().join("grant");
    std::fs::create_dir_all(grant.join("sub")).unwrap();
    let rt = Runtime::builder().mount(Mount::read_write(&grant, "/data")).build().expect("a runtime with a grant");
    let code = r#"
import os
out = {}
for link, target in [('/data/up', '..'), ('/data/abs', '/etc/passwd'), ('/data/sub/up2', '../../x'),
                     ('/data/tricky', 'sub/../../x'), ('/data/ok', 'sub/x'), ('/data/sub/ok2', '../ok')]:
    try:
        os.symlink(target, link)
        out[link] = 'made'
    except OSError as e:
        out[link] = type(e).__name__
out"#;
    let value = rt.execute(code, &json!({})).unwrap().value;
    assert_eq!(
        value,
        json!({"/data/up": "PermissionError", "/data/abs": "PermissionError", "/data/sub/up2": "PermissionError",
               "/data/tricky": "PermissionError", "/data/ok": "made", "/data/sub/ok2": "made"})
    );
    let mut on_host: Vec<_> = walk(&grant).into_iter().filter(|p| p.is_symlink()).collect();
    on_host.sort();
    assert_eq!(on_host, vec![grant.join("ok"), grant.join("sub/ok2")], "only the links that stay inside exist");
    assert_eq!(std::fs::read_link(grant.join("sub/ok2")).unwrap(), Path::new("../ok"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn d9_the_write_quota_stops_a_script_filling_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let grant = dir.path().canonicalize().unwrap();
    // 16 MiB in 64 KiB writes against a 1 MiB quota, then the same through
    // os.write and os.pwrite, each stopped with ENOSPC.
    let code = r#"
import errno, os
def fill(write):
    for i in range(256):
        try:
            write(b'x' * 65536)
        except OSError as e:
            return [i, e.errno == errno.ENOSPC]
    return [256, False]
with open('/out/big', 'wb', buffering=0) as f:
    a = fill(f.write)
fd = os.open('/out/more', os.O_WRONLY | os.O_CREAT)
b = fill(lambda d: os.pwrite(fd, d, 0))
os.close(fd)
[a, b]"#;
    let (out, _) = run_within(
        cli()
            .args(["exec", "--json", "--rw-quota", "1M", "--allow-dir"])
            .arg(format!("{}:/out:rw", grant.display()))
            .arg("-c")
            .arg(code),
        Duration::from_secs(300),
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["value"], json!([[16, true], [0, true]]), "{report}");
    let size = std::fs::metadata(grant.join("big")).unwrap().len();
    assert_eq!(size, 1 << 20, "the quota, to the byte");
    // The default (1 GiB) leaves ordinary writes alone, and the quota is per script.
    let out = run(cli()
        .args(["exec", "--allow-dir"])
        .arg(format!("{}:/out:rw", grant.display()))
        .args(["-c", "open('/out/small', 'wb').write(b'y' * 3_000_000)"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "3000000\n", "{}", show(&out));
}

// ------------------------------------------------------------------ defect 10

#[test]
fn d10_fixed_copies_respect_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("fixed");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 022 && exec \"$0\" validate --fix \"$1\" \"$2\"")
        .arg(env!("CARGO_BIN_EXE_mung-runtime"))
        .arg(&out_dir)
        .arg(fixtures().join("small-fixable.xml"));
    let out = run(&mut cmd);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", show(&out));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out_dir.join("small-fixable.xml")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "mode {mode:o}");
}

#[allow(dead_code)]
fn write_all(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path).unwrap().write_all(bytes).unwrap();
}
