//! The runtime core: `execute` semantics, typed failures, sandbox limits,
//! and sharing one `Runtime` between threads.

use std::time::{Duration, Instant};

use crate::common::runtime;
use mung_runtime::{ExecError, ExecFailure, Mount, PythonErrorKind, Runtime, SandboxError};
use serde_json::json;

fn python_error(e: &ExecError) -> &mung_runtime::PythonError {
    match &e.failure {
        ExecFailure::Python(p) => p,
        other => panic!("expected a Python error, got {other:?}"),
    }
}

fn sandbox_error(e: &ExecError) -> &SandboxError {
    match &e.failure {
        ExecFailure::Sandbox(s) => s,
        other => panic!("expected a sandbox stop, got {other:?}"),
    }
}

/// The runtime still answers after whatever the previous call did.
fn still_works(rt: &Runtime) {
    assert_eq!(rt.execute("6 * 7", &json!({})).expect("the next call").value, json!(42));
}

#[test]
fn packages_import_and_work_inside_the_sandbox() {
    let code = r#"
import numpy as np, lxml.etree as et, scipy.ndimage as ndi, PIL.Image
import mung.node, mung.io, skimage.measure
img = np.zeros((5, 5), np.uint8); img[1:3, 1:3] = 1; img[4, 4] = 1
labels, n = ndi.label(img)
node = mung.node.Node(0, "noteheadBlack", 1, 2, 3, 4, mask=np.ones((4, 3), np.uint8))
{
    "numpy": int(np.arange(10).sum()),
    "lxml": et.fromstring(b"<a><b>x</b></a>").findtext("b"),
    "scipy": int(n),
    "pil": PIL.Image.new("L", (3, 2)).size,
    "mung": [node.bottom, node.right, node.encode_mask()],
    "skimage": int(skimage.measure.label(img).max()),
}
"#;
    let value = runtime().execute(code, &json!({})).expect("imports").value;
    assert_eq!(
        value,
        json!({"numpy": 45, "lxml": "x", "scipy": 2, "pil": [3, 2], "mung": [5, 5, "0:0 1:12"], "skimage": 2})
    );
}

#[test]
fn a_session_keeps_state_and_a_fresh_call_does_not() {
    let rt = runtime();
    let mut session = rt.session();
    assert_eq!(session.execute("x = 40", &json!({})).unwrap().value, json!(null));
    assert_eq!(session.execute("x + y", &json!({"y": 2})).unwrap().value, json!(42));
    // Another session, and a fresh call, do not see `x`.
    let mut other = rt.session();
    let e = other.execute("x", &json!({})).unwrap_err();
    assert_eq!(python_error(&e).type_name, "NameError");
    let e = rt.execute("x", &json!({})).unwrap_err();
    assert_eq!(python_error(&e).type_name, "NameError");
    // Reset forgets the names.
    session.reset().unwrap();
    assert_eq!(python_error(&session.execute("x", &json!({})).unwrap_err()).type_name, "NameError");
}

#[test]
fn values_convert_to_json_and_prints_are_captured_separately() {
    let rt = runtime();
    let done = rt
        .execute(
            "import numpy as np\nprint('hello')\nimport sys; print('warn', file=sys.stderr)\n\
             {'i': np.int64(3), 'f': np.float32(0.5), 'a': np.arange(3).reshape(1, 3), 't': (1, 'x'), 's': {3, 1}, 'n': None, 'b': True}",
            &json!({}),
        )
        .unwrap();
    assert_eq!(
        done.value,
        json!({"i": 3, "f": 0.5, "a": [[0, 1, 2]], "t": [1, "x"], "s": [1, 3], "n": null, "b": true})
    );
    assert_eq!(done.output.stdout_text(), "hello\n");
    assert_eq!(done.output.stderr_text(), "warn\n");
    // A snippet that does not end with an expression gives null.
    assert_eq!(rt.execute("x = 1", &json!({})).unwrap().value, json!(null));
    // Globals of any JSON type arrive as Python values.
    let value =
        rt.execute("[a + 1, b['k'][1], c is None]", &json!({"a": 1.5, "b": {"k": [0, "v"]}, "c": null})).unwrap().value;
    assert_eq!(value, json!([2.5, "v", true]));
}

#[test]
fn values_without_a_json_form_are_refused_clearly() {
    let rt = runtime();
    for (code, needle) in
        [("b'raw'", "bytes are not JSON"), ("float('nan')", "Out of range float"), ("object()", "object is not JSON")]
    {
        let e = rt.execute(code, &json!({})).unwrap_err();
        let p = python_error(&e);
        assert_eq!(p.kind, PythonErrorKind::NotJson, "{code}: {p:?}");
        assert!(p.message.contains(needle), "{code}: {}", p.message);
    }
    let e = rt.execute("1", &json!([1, 2])).unwrap_err();
    assert_eq!(python_error(&e).kind, PythonErrorKind::InvalidGlobals);
}

#[test]
fn syntax_errors_exceptions_and_exits_are_typed_and_the_next_call_works() {
    let rt = runtime();

    let e = rt.execute("x = 1\ndef f(:\n  pass", &json!({})).unwrap_err();
    let p = python_error(&e);
    assert_eq!((p.kind, p.type_name.as_str()), (PythonErrorKind::Syntax, "SyntaxError"));
    assert!(p.traceback.contains("line 2"), "{}", p.traceback);
    still_works(rt);

    let e = rt.execute("a = 1\nb = 0\nprint('before')\na / b", &json!({})).unwrap_err();
    let p = python_error(&e);
    assert_eq!((p.kind, p.type_name.as_str()), (PythonErrorKind::Exception, "ZeroDivisionError"));
    assert!(p.traceback.contains("File \"<exec>\", line 4"), "the traceback points into the snippet: {}", p.traceback);
    assert!(p.traceback.contains("a / b"), "{}", p.traceback);
    assert!(!p.traceback.contains("mung-runtime prelude"), "runtime frames are hidden: {}", p.traceback);
    assert_eq!(e.output.stdout_text(), "before\n", "output before the failure is kept");
    still_works(rt);

    let e = rt.execute("import sys; sys.exit(3)", &json!({})).unwrap_err();
    let p = python_error(&e);
    assert_eq!((p.kind, p.exit_code), (PythonErrorKind::Exit, Some(3)));
    still_works(rt);

    for code in ["exit()", "quit(5)"] {
        let e = rt.execute(code, &json!({})).unwrap_err();
        assert_eq!(python_error(&e).kind, PythonErrorKind::Exit, "{code}");
        still_works(rt);
    }

    let e = rt.execute("import os; os._exit(1)", &json!({})).unwrap_err();
    assert!(matches!(sandbox_error(&e), SandboxError::Exit { code: 1 }), "{e:?}");
    still_works(rt);

    // abort() traps the wasm instance.
    let e = rt.execute("import os; os.abort()", &json!({})).unwrap_err();
    assert!(matches!(sandbox_error(&e), SandboxError::Trap { .. }), "{e:?}");
    still_works(rt);
}

#[test]
fn a_session_survives_errors_but_is_replaced_after_a_stop() {
    let rt = runtime();
    let mut session = rt.session();
    session.execute("kept = 1", &json!({})).unwrap();
    session.execute("1 / 0", &json!({})).unwrap_err();
    assert_eq!(session.execute("kept", &json!({})).unwrap().value, json!(1), "an exception keeps the state");
    session.execute("import os; os.abort()", &json!({})).unwrap_err();
    let e = session.execute("kept", &json!({})).unwrap_err();
    assert_eq!(python_error(&e).type_name, "NameError", "a trap discards the instance and its state");
    assert_eq!(session.execute("2 + 2", &json!({})).unwrap().value, json!(4));
}

fn limited(timeout: Duration) -> Runtime {
    Runtime::builder().timeout(timeout).memory_limit(256 << 20).output_limit(1 << 20).build().unwrap()
}

#[test]
fn the_deadline_stops_busy_loops_and_blocking_sleeps() {
    let rt = limited(Duration::from_secs(1));
    for code in ["while True: pass", "import time; time.sleep(60)", "import select; select.select([], [], [], 60)"] {
        let start = Instant::now();
        let e = rt.execute(code, &json!({})).unwrap_err();
        let took = start.elapsed();
        assert!(matches!(sandbox_error(&e), SandboxError::Timeout { .. }), "{code}: {e:?}");
        assert!((0.5..1.5).contains(&took.as_secs_f64()), "{code} stopped after {took:?}");
        still_works(&rt);
    }
}

#[test]
fn the_memory_cap_fails_cleanly() {
    let rt = limited(Duration::from_secs(20));
    // One big allocation past the cap: Python's MemoryError.
    let e = rt.execute("x = bytearray(300 * 1024 * 1024)", &json!({})).unwrap_err();
    assert_eq!(python_error(&e).type_name, "MemoryError");
    still_works(&rt);
    // Growing step by step until the cap: MemoryError, or a clean stop.
    let e = rt.execute("chunks = []\nwhile True: chunks.append(bytearray(1 << 20))", &json!({})).unwrap_err();
    match &e.failure {
        ExecFailure::Python(p) => assert_eq!(p.type_name, "MemoryError"),
        ExecFailure::Sandbox(s) => assert!(matches!(s, SandboxError::MemoryLimit { .. }), "{s:?}"),
        other => panic!("{other:?}"),
    }
    still_works(&rt);
    // numpy goes through the same allocator.
    let e = rt.execute("import numpy as np; np.ones((6000, 6000))", &json!({})).unwrap_err();
    assert_eq!(python_error(&e).type_name, "_ArrayMemoryError");
    still_works(&rt);
}

#[test]
fn printing_a_gigabyte_is_cut_at_the_cap() {
    let rt = limited(Duration::from_secs(60));
    let done = rt.execute("line = 'x' * (1 << 20)\nfor _ in range(1024): print(line)\n'done'", &json!({})).unwrap();
    assert_eq!(done.value, json!("done"));
    assert_eq!(done.output.stdout.len(), 1 << 20);
    assert!(done.output.stdout_truncated);
    assert!(!done.output.stderr_truncated);
    still_works(&rt);
}

#[test]
fn the_guest_sees_only_what_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inside.txt"), "granted").unwrap();
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("secret.txt"), "SECRET").unwrap();
    let granted = dir.path().to_str().unwrap().to_string();
    let rt = Runtime::builder().mount(Mount::read_write(dir.path(), granted.clone())).build().unwrap();
    let code = r#"
import os, socket
def attempt(f):
    try:
        return ["ok", f()]
    except Exception as e:
        return ["refused", type(e).__name__]
def write(path):
    with open(path, "w") as f:
        f.write("x")
    return path
def connect():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect(("127.0.0.1", 22))
    return "connected"
{
    "read_granted": attempt(lambda: open(granted + "/inside.txt").read()),
    "write_granted": attempt(lambda: write(granted + "/new.txt")),
    "etc_passwd": attempt(lambda: open("/etc/passwd").read()),
    "escape_dotdot": attempt(lambda: open(granted + "/../" + secret_name + "/secret.txt").read()),
    "escape_packages": attempt(lambda: open("/packages/../etc/passwd").read()),
    "write_packages": attempt(lambda: write("/packages/evil.py")),
    "write_root": attempt(lambda: write("/evil.txt")),
    "write_tmp": attempt(lambda: write("/tmp/evil.txt")),
    "list_root": attempt(lambda: os.listdir("/")),
    "socket": attempt(connect),
    "dns": attempt(lambda: socket.getaddrinfo("localhost", 80)),
    "host_env": sorted(k for k in os.environ if k not in ("HOME", "TMPDIR", "PYTHONTZPATH")),
}
"#;
    let secret_name = secret.path().file_name().unwrap().to_str().unwrap();
    let value = rt.execute(code, &json!({"granted": granted, "secret_name": secret_name})).unwrap().value;
    assert_eq!(value["read_granted"], json!(["ok", "granted"]));
    assert_eq!(value["write_granted"][0], "ok");
    assert_eq!(std::fs::read_to_string(dir.path().join("new.txt")).unwrap(), "x");
    for key in [
        "etc_passwd",
        "escape_dotdot",
        "escape_packages",
        "write_packages",
        "write_root",
        "write_tmp",
        "list_root",
        "socket",
        "dns",
    ] {
        assert_eq!(value[key][0], "refused", "{key}: {}", value[key]);
    }
    assert_eq!(value["host_env"], json!([]), "no host environment variables");
    assert!(!std::path::Path::new("/evil.txt").exists());
    assert_eq!(std::fs::read_to_string(secret.path().join("secret.txt")).unwrap(), "SECRET");
}

#[test]
fn a_read_only_grant_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "original").unwrap();
    let guest = dir.path().to_str().unwrap().to_string();
    let rt = Runtime::builder().mount(Mount::read_only(dir.path(), guest.clone())).build().unwrap();
    let e = rt.execute("open(d + '/data.txt', 'w').write('changed')", &json!({"d": guest})).unwrap_err();
    assert!(matches!(python_error(&e).type_name.as_str(), "PermissionError" | "OSError"), "{e}");
    assert_eq!(rt.execute("open(d + '/data.txt').read()", &json!({"d": guest})).unwrap().value, json!("original"));
    assert_eq!(std::fs::read_to_string(dir.path().join("data.txt")).unwrap(), "original");
}

#[test]
fn runtime_and_session_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Runtime>();
    send::<mung_runtime::Session>();
}

#[test]
fn eight_threads_share_one_runtime() {
    let rt = runtime();
    std::thread::scope(|scope| {
        for t in 0..8i64 {
            scope.spawn(move || {
                for i in 0..50i64 {
                    let v = rt.execute("t * 1000 + i", &json!({"t": t, "i": i})).unwrap().value;
                    assert_eq!(v, json!(t * 1000 + i));
                }
            });
        }
    });
}

#[test]
fn output_streams_to_a_sink_as_it_is_written() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let rt = Runtime::builder().on_stdout(move |bytes| sink.lock().unwrap().extend_from_slice(bytes)).build().unwrap();
    let done = rt.execute("for i in range(3): print(i)", &json!({})).unwrap();
    assert_eq!(done.output.stdout_text(), "0\n1\n2\n");
    assert_eq!(String::from_utf8(seen.lock().unwrap().clone()).unwrap(), "0\n1\n2\n");
}

#[test]
fn randomness_differs_between_fresh_instances() {
    let rt = runtime();
    let code = "import random, numpy as np\n[random.random(), float(np.random.random())]";
    let a = rt.execute(code, &json!({})).unwrap().value;
    let b = rt.execute(code, &json!({})).unwrap().value;
    assert_ne!(a[0], b[0], "random is reseeded per instance");
    assert_ne!(a[1], b[1], "numpy.random is reseeded per instance");
}

#[test]
fn bad_settings_are_refused_clearly() {
    let e = Runtime::builder().memory_limit(1 << 20).build().err().expect("1 MiB is too small");
    assert!(e.to_string().contains("memory limit"), "{e}");
    let e = Runtime::builder().timeout(Duration::ZERO).build().err().expect("zero timeout");
    assert!(e.to_string().contains("timeout"), "{e}");
    let e = Runtime::builder()
        .mount(Mount::read_only("/definitely/not/here", "/data"))
        .build()
        .err()
        .expect("missing mount");
    assert!(e.to_string().contains("/definitely/not/here"), "{e}");
}
