//! The escape suite: hostile scripts against one shared sandbox. Each must
//! stay contained, end with the expected outcome (value, typed error or
//! sandbox stop), and leave the runtime working for the next call.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mung_runtime::{ExecError, ExecFailure, Execution, Mount, PythonErrorKind, Runtime, SandboxError};
use serde_json::{Value, json};

type Outcome = Result<Execution, ExecError>;

/// What a hostile script must end with.
enum Expect {
    /// This value.
    Value(Value),
    /// A value the check accepts.
    ValueWhere(fn(&Value) -> bool),
    /// An uncaught exception (any type).
    Exception,
    /// An uncaught exception of one of these types.
    ExceptionOf(&'static [&'static str]),
    /// A Python-level exit with this status.
    Exit(i32),
    /// A sandbox stop of this kind (`SandboxError::kind`).
    Stop(&'static str),
    /// Any typed failure (a Python error or a sandbox stop): the input is
    /// hostile in a way whose exact end depends on the interpreter.
    AnyFailure,
    /// Out of memory: `MemoryError`, or the memory-limit stop.
    OutOfMemory,
    /// A value whose stdout or stderr was cut at the output limit.
    Truncated,
    /// A Python error of this kind.
    Kind(PythonErrorKind),
    /// Any end but the deadline (scripts that set a trap for the next call).
    Anything,
}

const DEADLINE: Duration = Duration::from_secs(2);

fn hostile_runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::builder()
            .timeout(DEADLINE)
            .memory_limit(256 << 20)
            .output_limit(1 << 20)
            .build()
            .expect("building the runtime")
    })
}

fn check(name: &str, outcome: &Outcome, expect: &Expect) {
    let describe = || match outcome {
        Ok(done) => format!("value {}", done.value),
        Err(e) => format!("{:?}", e.failure),
    };
    let ok = match (expect, outcome) {
        (Expect::Value(v), Ok(done)) => &done.value == v,
        (Expect::ValueWhere(f), Ok(done)) => f(&done.value),
        (Expect::Truncated, Ok(done)) => done.output.stdout_truncated || done.output.stderr_truncated,
        (Expect::Exception, Err(e)) => {
            matches!(&e.failure, ExecFailure::Python(p) if p.kind == PythonErrorKind::Exception)
        }
        (Expect::ExceptionOf(types), Err(e)) => matches!(&e.failure,
            ExecFailure::Python(p) if p.kind == PythonErrorKind::Exception && types.contains(&p.type_name.as_str())),
        (Expect::Exit(code), Err(e)) => matches!(&e.failure,
            ExecFailure::Python(p) if p.kind == PythonErrorKind::Exit && p.exit_code == Some(*code)),
        (Expect::Stop(kind), Err(e)) => matches!(&e.failure, ExecFailure::Sandbox(s) if s.kind() == *kind),
        (Expect::AnyFailure, Err(_)) => true,
        (Expect::OutOfMemory, Err(e)) => match &e.failure {
            // numpy raises its own subclass, `_ArrayMemoryError`.
            ExecFailure::Python(p) => p.type_name.ends_with("MemoryError"),
            ExecFailure::Sandbox(SandboxError::MemoryLimit { .. }) => true,
            _ => false,
        },
        (Expect::Kind(kind), Err(e)) => matches!(&e.failure, ExecFailure::Python(p) if p.kind == *kind),
        (Expect::Anything, Ok(_)) => true,
        (Expect::Anything, Err(e)) => !matches!(e.failure, ExecFailure::Sandbox(SandboxError::Timeout { .. })),
        _ => false,
    };
    assert!(ok, "{name}: unexpected outcome: {}", describe());
}

/// Runs each script, checks its outcome and that the next call works.
fn suite(rt: &Runtime, cases: &[(&str, &str, Expect)]) {
    for (name, code, expect) in cases {
        let start = Instant::now();
        let outcome = rt.execute(code, &json!({}));
        let elapsed = start.elapsed();
        check(name, &outcome, expect);
        assert!(elapsed < DEADLINE + Duration::from_secs(3), "{name}: took {elapsed:?}");
        let next = rt.execute("6 * 7", &json!({}));
        assert_eq!(next.map(|d| d.value).ok(), Some(json!(42)), "{name}: the next call failed");
    }
}

#[test]
fn files_outside_the_grants_are_invisible() {
    suite(
        hostile_runtime(),
        &[
            ("etc-passwd", "import os\nos.path.exists('/etc/passwd')", Expect::Value(json!(false))),
            (
                "root-listing",
                "import os\ntry:\n    names = sorted(os.listdir('/'))\nexcept OSError:\n    names = []\nnames",
                Expect::ValueWhere(|v| {
                    let names: Vec<&str> = v.as_array().unwrap().iter().filter_map(|n| n.as_str()).collect();
                    names.iter().all(|n| ["usr", "packages", "vendor"].contains(n))
                }),
            ),
            ("dotdot-stdlib", "open('/usr/local/lib/../../../etc/passwd').read()", Expect::Exception),
            ("dotdot-packages", "open('/packages/../../../../proc/self/environ').read()", Expect::Exception),
            ("proc-self", "open('/proc/self/maps').read()", Expect::Exception),
            ("write-packages", "open('/packages/evil.py', 'w').write('x')", Expect::Exception),
            ("write-stdlib", "import os\nos.remove('/usr/local/lib/python315.zip')", Expect::Exception),
            ("tmp-absent", "open('/tmp/x', 'w').write('x')", Expect::Exception),
            ("chdir-root", "import os\nos.chdir('/')\nopen('etc/hostname').read()", Expect::Exception),
            ("symlink-in-ro", "import os\nos.symlink('/etc/passwd', '/packages/l')", Expect::Exception),
            ("hardlink-in-ro", "import os\nos.link('/packages/mstudio/__init__.py', '/packages/h')", Expect::Exception),
            (
                "environment",
                "import os\nsorted(os.environ)",
                Expect::ValueWhere(|v| {
                    let keys: Vec<&str> = v.as_array().unwrap().iter().filter_map(|k| k.as_str()).collect();
                    keys.len() < 10
                        && !keys.iter().any(|k| ["PATH", "USER", "PWD", "SHELL"].contains(k) || k.starts_with("CARGO"))
                }),
            ),
        ],
    );
}

#[test]
fn no_network_no_processes_no_native_code() {
    suite(
        hostile_runtime(),
        &[
            ("tcp-connect", "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)", Expect::Exception),
            ("dns", "import socket\nsocket.getaddrinfo('example.com', 80)", Expect::Exception),
            (
                "udp",
                "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('8.8.8.8', 53))",
                Expect::Exception,
            ),
            (
                "urllib",
                "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:1/', timeout=1)",
                Expect::Exception,
            ),
            ("subprocess", "import subprocess\nsubprocess.run(['ls'])", Expect::Exception),
            (
                "os-system",
                "import os\ntry:\n    r = os.system('ls')\nexcept Exception:\n    r = -1\nr != 0",
                Expect::Value(json!(true)),
            ),
            ("fork", "import os\nos.fork()", Expect::Exception),
            ("ctypes", "import ctypes\nctypes.CDLL(None)", Expect::Exception),
            ("thread", "import threading\nt = threading.Thread(target=print)\nt.start()\nt.join()", Expect::Exception),
            (
                "host-frames",
                // Forging a reply frame: the real reply still wins.
                "import _host\n_host.call(b'\\x01\\x01[666]')\ntry:\n    _host.call(b'\\x07')\nexcept OSError:\n    pass\n5",
                Expect::Value(json!(5)),
            ),
        ],
    );
}

#[test]
fn busy_and_blocked_calls_stop_at_the_deadline() {
    suite(
        hostile_runtime(),
        &[
            ("busy-python", "while True:\n    pass", Expect::Stop("timeout")),
            ("busy-regex", "import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')", Expect::Stop("timeout")),
            (
                "busy-numpy",
                "import numpy as np\na = np.random.rand(1 << 20)\nwhile True:\n    a = np.sort(a)[::-1].copy()",
                Expect::Stop("timeout"),
            ),
            ("sleep", "import time\ntime.sleep(1000)", Expect::Stop("timeout")),
            ("select", "import select\nselect.select([], [], [], 1000)", Expect::AnyFailure),
            ("stdin", "import sys\nsys.stdin.read()", Expect::ValueWhere(|v| v == &json!("") || v.is_null())),
            (
                "catch-everything",
                "while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass",
                Expect::Stop("timeout"),
            ),
        ],
    );
}

#[test]
fn memory_recursion_and_nesting_are_contained() {
    suite(
        hostile_runtime(),
        &[
            ("bytearray-1gb", "bytearray(1 << 30)", Expect::OutOfMemory),
            ("list-400mb", "[0] * (10 ** 8)", Expect::OutOfMemory),
            ("grow", "l = []\nwhile True:\n    l.append(bytearray(10 ** 7))", Expect::OutOfMemory),
            ("numpy-huge", "import numpy as np\nnp.ones((1 << 13, 1 << 14))", Expect::OutOfMemory),
            ("recursion", "def f():\n    return f()\nf()", Expect::ExceptionOf(&["RecursionError"])),
            (
                "deep-recursion-limit",
                "import sys\nsys.setrecursionlimit(10 ** 7)\ndef f(n):\n    return f(n + 1)\nf(0)",
                Expect::AnyFailure,
            ),
            ("deep-json", "import json\njson.loads('[' * 200000 + ']' * 200000)", Expect::AnyFailure),
            ("deep-eval", "eval('[' * 100000 + ']' * 100000)", Expect::AnyFailure),
            ("deep-value", "x = []\nfor _ in range(100000):\n    x = [x]\nx", Expect::Kind(PythonErrorKind::NotJson)),
            ("endless-list", "import itertools\nlist(itertools.count())", Expect::AnyFailure),
        ],
    );
}

#[test]
fn output_values_and_exits_are_typed() {
    suite(
        hostile_runtime(),
        &[
            ("stdout-flood", "import sys\nfor _ in range(100000):\n    sys.stdout.write('x' * 100)", Expect::Truncated),
            ("stderr-flood", "import sys\nfor _ in range(100000):\n    sys.stderr.write('x' * 100)", Expect::Truncated),
            ("huge-value", "'x' * (4 << 20)", Expect::Kind(PythonErrorKind::ValueTooLarge)),
            ("huge-list-value", "list(range(10 ** 6))", Expect::Kind(PythonErrorKind::ValueTooLarge)),
            ("bytes-value", "b'abc'", Expect::Kind(PythonErrorKind::NotJson)),
            ("nan-value", "float('nan')", Expect::Kind(PythonErrorKind::NotJson)),
            ("sys-exit", "import sys\nsys.exit(3)", Expect::Exit(3)),
            ("exit", "exit()", Expect::Exit(0)),
            ("quit", "quit(5)", Expect::Exit(5)),
            ("system-exit-text", "raise SystemExit('bye')", Expect::Exit(1)),
            ("os-exit", "import os\nos._exit(7)", Expect::Stop("interpreter-exit")),
            (
                "os-exit-in-finally",
                "import os\ntry:\n    os._exit(9)\nfinally:\n    print('never')",
                Expect::Stop("interpreter-exit"),
            ),
            ("abort", "import os\nos.abort()", Expect::AnyFailure),
            ("keyboard-interrupt", "raise KeyboardInterrupt", Expect::ExceptionOf(&["KeyboardInterrupt"])),
            ("syntax", "def (:", Expect::Kind(PythonErrorKind::Syntax)),
        ],
    );
}

#[test]
fn nothing_leaks_between_fresh_calls() {
    let rt = hostile_runtime();
    suite(
        rt,
        &[
            ("builtins", "import builtins\nbuiltins.leak = 1\nbuiltins.len = None", Expect::Value(Value::Null)),
            ("module-attr", "import json\njson.secret = 1\njson.dumps = None", Expect::Value(Value::Null)),
            (
                "monkeypatch-mstudio",
                "import mstudio.validation as v\nv.validate = lambda *a, **k: [{'code': 0}]",
                Expect::Value(Value::Null),
            ),
            ("sys-modules", "import sys\nsys.modules.clear()", Expect::Anything),
            (
                "builtins-dict",
                "__builtins__.__dict__.clear() if hasattr(__builtins__, '__dict__') else __builtins__.clear()",
                Expect::Anything,
            ),
        ],
    );
    let check = "import builtins, json\n[hasattr(builtins, 'leak'), len('ab'), hasattr(json, 'secret'), json.dumps(1)]";
    assert_eq!(rt.execute(check, &json!({})).unwrap().value, json!([false, 2, false, "1"]));
    // The validator was not replaced for the typed calls either.
    let issues = rt.validate(&std::fs::read_to_string(crate::common::fixtures().join("small.xml")).unwrap()).unwrap();
    assert!(issues.iter().all(|i| i.code != 0));
}

#[test]
fn randomness_differs_between_fresh_calls() {
    let rt = hostile_runtime();
    let code = "import os, random, numpy as np\n[os.urandom(16).hex(), random.random(), float(np.random.rand())]";
    let a = rt.execute(code, &json!({})).unwrap().value;
    let b = rt.execute(code, &json!({})).unwrap().value;
    for i in 0..3 {
        assert_ne!(a[i], b[i], "source {i} repeats across fresh calls: {a} {b}");
    }
}

/// Escapes through a writable grant: `..`, symbolic and hard links.
#[test]
fn a_grant_does_not_open_the_rest_of_the_host() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("grant")).unwrap();
    let grant = dir.path().join("grant").canonicalize().unwrap();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    std::fs::write(grant.join("inside.txt"), "inside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), grant.join("abs-link")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", grant.join("rel-link")).unwrap();
    std::os::unix::fs::symlink("..", grant.join("up")).unwrap();
    let g = grant.to_str().unwrap().to_string();
    let rt = Runtime::builder()
        .timeout(DEADLINE)
        .mount(Mount::read_write(&grant, &g))
        .build()
        .expect("a runtime with a grant");
    let cases: Vec<(String, &str, Expect)> = vec![
        (format!("open({g:?} + '/inside.txt').read()"), "inside", Expect::Value(json!("inside"))),
        (format!("open({g:?} + '/../secret.txt').read()"), "dotdot", Expect::Exception),
        (format!("open({g:?} + '/abs-link').read()"), "absolute-link", Expect::Exception),
        (format!("open({g:?} + '/rel-link').read()"), "relative-link", Expect::Exception),
        (format!("import os\nos.listdir({g:?} + '/up')"), "up-link", Expect::Exception),
        (
            format!("import os\nos.symlink('../secret.txt', {g:?} + '/new-link')\nopen({g:?} + '/new-link').read()"),
            "new-link",
            Expect::Exception,
        ),
        (
            format!("import os\nos.link({g:?} + '/rel-link', {g:?} + '/hard')\nopen({g:?} + '/hard').read()"),
            "hard-link",
            Expect::Exception,
        ),
    ];
    for (code, name, expect) in &cases {
        let outcome = rt.execute(code, &json!({}));
        check(name, &outcome, expect);
        assert_eq!(rt.execute("6 * 7", &json!({})).unwrap().value, json!(42), "{name}: the next call");
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("secret.txt")).unwrap(), "secret");
}
