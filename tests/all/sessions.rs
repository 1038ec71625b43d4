//! Sessions over HTTP (`/v1/sessions`): state and files between calls,
//! quotas, path traversal, TTL expiry, the session limit, a sandbox stop
//! followed by more calls, serialised calls, and cleanup on shutdown. Each
//! test runs a server of its own on 127.0.0.1 with a runtime of its own
//! (sessions hold instances).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use mung_runtime::Runtime;
use mung_runtime_server::{ServerConfig, SessionsConfig};
use reqwest::blocking::{Body, Response};
use serde_json::{Value, json};

use crate::serve::{TestServer, client};

/// A server whose sessions live in `dir`, with `max_sessions` places, the
/// given idle TTL and script deadline.
fn start(dir: &Path, max_sessions: usize, idle_ttl: Duration, timeout: Duration) -> TestServer {
    let runtime =
        Runtime::builder().timeout(timeout).max_instances(max_sessions as u32 + 3).build().expect("building a runtime");
    let mut sessions = SessionsConfig::default();
    sessions.max_sessions = max_sessions;
    sessions.idle_ttl = idle_ttl;
    sessions.files_quota = 1 << 20;
    sessions.dir = Some(dir.to_path_buf());
    TestServer::start(runtime, ServerConfig::default().jobs(2).allow_execute(true).sessions(sessions))
}

fn default_server(dir: &Path) -> TestServer {
    start(dir, 4, Duration::from_secs(600), Duration::from_secs(10))
}

fn create(s: &TestServer, body: Value) -> Response {
    client().post(s.url("/v1/sessions")).json(&body).send().unwrap()
}

/// Creates a session and returns its id.
fn new_session(s: &TestServer, body: Value) -> String {
    let response = create(s, body);
    assert_eq!(response.status(), 201);
    let body: Value = response.json().unwrap();
    body["id"].as_str().unwrap().to_string()
}

fn execute(s: &TestServer, id: &str, code: &str) -> Response {
    client().post(s.url(&format!("/v1/sessions/{id}/execute"))).json(&json!({ "code": code })).send().unwrap()
}

fn value(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().unwrap();
    assert_eq!(status, 200, "{body}");
    body["value"].clone()
}

fn put(s: &TestServer, id: &str, path: &str, body: impl Into<Body>) -> Response {
    client().put(s.url(&format!("/v1/sessions/{id}/files/{path}"))).body(body).send().unwrap()
}

fn get(s: &TestServer, path: &str) -> Response {
    client().get(s.url(path)).send().unwrap()
}

fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with(mung_runtime_server::PROBLEM_JSON));
    response.json().unwrap()
}

/// The session directories left under `dir` (the server's own directory
/// holds one per live session).
fn session_dirs(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|root| std::fs::read_dir(root).unwrap().count())
        .sum()
}

#[test]
fn a_session_keeps_names_and_files_between_calls_until_it_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    let response = create(&s, json!({ "ttl": 60, "memory": "512M", "timeout": 5, "files_quota": "64K" }));
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: Value = response.json().unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 32, "128 random bits in hex");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(location, format!("/v1/sessions/{id}"));
    assert!(created["expires_at"].as_str().unwrap().ends_with('Z'), "{created}");
    assert_eq!(created["limits"]["ttl"], 60.0);
    assert_eq!(created["limits"]["memory"], 512 << 20);
    assert_eq!(created["limits"]["timeout"], 5.0);
    assert_eq!(created["limits"]["files_quota"], 64 << 10);
    assert_eq!(session_dirs(dir.path()), 1);

    // Names and imports persist.
    assert_eq!(value(execute(&s, id, "import numpy as np\nx = np.arange(7)")), Value::Null);
    let response = execute(&s, id, "int(x.sum()) * 2");
    let body: Value = response.json().unwrap();
    assert_eq!(body["value"], 42, "{body}");
    assert!(body["usage"]["wall_ms"].as_f64().unwrap() > 0.0, "{body}");
    assert!(body["usage"]["memory_peak_bytes"].as_u64().unwrap() > 1 << 20, "{body}");

    // An uploaded file is seen by the script, and the script's files by the client.
    let response = put(&s, id, "data/in.txt", "from the client");
    assert_eq!(response.status(), 201);
    let code = "t = open('/session/data/in.txt').read()\nopen('/session/out.txt', 'w').write(t.upper())\nt";
    assert_eq!(value(execute(&s, id, code)), "from the client");
    let listing: Value = get(&s, &format!("/v1/sessions/{id}/files")).json().unwrap();
    assert_eq!(
        listing["files"],
        json!([{ "path": "data/in.txt", "size": 15 }, { "path": "out.txt", "size": 15 }]),
        "{listing}"
    );
    assert_eq!(listing["used"], 30);
    assert_eq!(listing["quota"], 64 << 10);
    let response = get(&s, &format!("/v1/sessions/{id}/files/out.txt"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    assert_eq!(response.text().unwrap(), "FROM THE CLIENT");
    // Replacing a file answers 200, removing it 204, then it is gone.
    assert_eq!(put(&s, id, "data/in.txt", "again").status(), 200);
    let gone = client().delete(s.url(&format!("/v1/sessions/{id}/files/data"))).send().unwrap();
    assert_eq!(gone.status(), 204);
    problem(get(&s, &format!("/v1/sessions/{id}/files/data/in.txt")), 404);
    assert_eq!(value(execute(&s, id, "import os\nos.path.exists('/session/data')")), false);

    let described: Value = get(&s, &location).json().unwrap();
    assert_eq!(described["usage"]["calls"], 4, "{described}");
    assert_eq!(described["interpreter_started"], true, "{described}");
    assert_eq!(described["files_used"], 15, "{described}");

    // The fresh route reports usage too.
    let fresh: Value =
        client().post(s.url("/v1/execute")).json(&json!({ "code": "1 + 1" })).send().unwrap().json().unwrap();
    assert_eq!(fresh["value"], 2);
    assert!(fresh["usage"]["memory_peak_bytes"].as_u64().unwrap() > 0, "{fresh}");

    let metrics = get(&s, "/metrics").text().unwrap();
    assert!(metrics.contains("mung_sessions_live 1"), "{metrics}");
    assert!(metrics.contains("mung_sessions_created_total 1"), "{metrics}");
    assert!(metrics.contains(r#"mung_script_calls_total{route="/v1/sessions/{id}/execute"} 4"#), "{metrics}");

    assert_eq!(client().delete(s.url(&location)).send().unwrap().status(), 204);
    problem(get(&s, &location), 404);
    problem(execute(&s, id, "1"), 404);
    assert_eq!(session_dirs(dir.path()), 0, "the directory goes with the session");
    let metrics = get(&s, "/metrics").text().unwrap();
    assert!(metrics.contains(r#"mung_sessions_ended_total{reason="deleted"} 1"#), "{metrics}");
}

#[test]
fn limits_are_capped_by_the_server_and_bad_requests_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    let created: Value =
        create(&s, json!({ "ttl": 1e9, "memory": "64G", "timeout": 1e6, "files_quota": "1G" })).json().unwrap();
    assert_eq!(created["limits"]["ttl"], 600.0, "{created}");
    assert_eq!(created["limits"]["memory"], mung_runtime::DEFAULT_MEMORY_LIMIT, "{created}");
    assert_eq!(created["limits"]["timeout"], 10.0, "{created}");
    assert_eq!(created["limits"]["files_quota"], 1 << 20, "{created}");
    problem(create(&s, json!({ "ttl": -1 })), 400);
    problem(create(&s, json!({ "memory": "12X" })), 400);
    problem(create(&s, json!({ "memory": "1M" })), 400);
    problem(create(&s, json!({ "colour": "blue" })), 400);
    let no_json = client().post(s.url("/v1/sessions")).header("content-type", "text/plain").body("{}").send().unwrap();
    problem(no_json, 415);
    // An empty body takes every default.
    assert_eq!(client().post(s.url("/v1/sessions")).send().unwrap().status(), 201);
    problem(get(&s, "/v1/sessions/00000000000000000000000000000000"), 404);
}

#[test]
fn sessions_need_execution_to_be_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut sessions = SessionsConfig::default();
    sessions.dir = Some(dir.path().to_path_buf());
    let runtime = Runtime::builder().max_instances(3).build().unwrap();
    let s = TestServer::start(runtime, ServerConfig::default().jobs(1).sessions(sessions));
    let body = problem(create(&s, json!({})), 403);
    assert!(body["detail"].as_str().unwrap().contains("--allow-execute"), "{body}");
}

#[test]
fn the_files_quota_is_enforced_for_uploads_and_scripts_alike() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    let id = new_session(&s, json!({ "files_quota": 1000 }));
    // Larger than the whole quota: 413 before the body is read.
    problem(put(&s, &id, "big", vec![0u8; 2000]), 413);
    assert_eq!(put(&s, &id, "a", vec![1u8; 600]).status(), 201);
    // Fits the quota, not what is left of it: 507.
    let full = problem(put(&s, &id, "b", vec![2u8; 600]), 507);
    assert!(full["detail"].as_str().unwrap().contains("400 are free"), "{full}");
    // A streamed body without a length is cut off at the quota too.
    let stream = Body::new(std::io::Cursor::new(vec![3u8; 600]).chain(std::io::repeat(4).take(0)));
    problem(put(&s, &id, "c", stream), 507);
    // The script shares the same quota: 400 bytes left.
    let code = "try:\n    with open('/session/s', 'wb') as f:\n        f.write(b'x' * 600)\n    r = 'written'\nexcept OSError as e:\n    r = e.strerror\nr";
    assert_eq!(value(execute(&s, &id, code)), "No space left on device");
    let listing: Value = get(&s, &format!("/v1/sessions/{id}/files")).json().unwrap();
    assert!(listing["used"].as_u64().unwrap() <= 1000, "{listing}");
    // Nothing half-written is left behind.
    let names: Vec<&str> = listing["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(names.iter().all(|n| *n == "a" || *n == "s"), "{listing}");
}

#[test]
fn paths_that_leave_the_session_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    let id = new_session(&s, json!({}));
    for path in ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a%2F..%2F..%2Fx", "a%5Cb", "a//b"] {
        let body = problem(put(&s, &id, path, "x"), 400);
        assert!(body["type"].as_str().unwrap().ends_with("/bad-path"), "{path}: {body}");
        problem(get(&s, &format!("/v1/sessions/{id}/files/{path}")), 400);
    }
    // A link the script made inside the session is not followed by the host.
    let code = "import os\nos.mkdir('/session/real')\nopen('/session/real/f', 'w').write('x')\nos.symlink('real', '/session/link')";
    execute(&s, &id, code);
    let body = problem(get(&s, &format!("/v1/sessions/{id}/files/link/f")), 400);
    assert!(body["detail"].as_str().unwrap().contains("symbolic link"), "{body}");
    assert_eq!(get(&s, &format!("/v1/sessions/{id}/files/real/f")).text().unwrap(), "x");
    // Links out of the session cannot even be made.
    let escape = "import os\ntry:\n    os.symlink('../..', '/session/up')\n    r = 'made'\nexcept OSError as e:\n    r = type(e).__name__\nr";
    assert_eq!(value(execute(&s, &id, escape)), "PermissionError");
}

#[test]
fn idle_sessions_expire_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 4, Duration::from_millis(600), Duration::from_secs(10));
    let id = new_session(&s, json!({}));
    assert_eq!(value(execute(&s, &id, "open('/session/f', 'w').write('x')")), 1);
    // A session in use is kept: each call starts its idle time again.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(get(&s, &format!("/v1/sessions/{id}")).status(), 200);
    }
    let start = Instant::now();
    while session_dirs(dir.path()) > 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the sweeper removed nothing");
        std::thread::sleep(Duration::from_millis(50));
    }
    problem(get(&s, &format!("/v1/sessions/{id}")), 404);
    let metrics = get(&s, "/metrics").text().unwrap();
    assert!(metrics.contains(r#"mung_sessions_ended_total{reason="idle"} 1"#), "{metrics}");
    assert!(metrics.contains("mung_sessions_live 0"), "{metrics}");
    // Its place is free again.
    new_session(&s, json!({}));
}

#[test]
fn past_max_sessions_creation_is_refused_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), 2, Duration::from_secs(600), Duration::from_secs(10));
    let a = new_session(&s, json!({}));
    let _b = new_session(&s, json!({ "ttl": 30 }));
    let response = create(&s, json!({}));
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "the first expiry is at most 30 s away: {retry}");
    let body = problem(response, 503);
    assert!(body["type"].as_str().unwrap().ends_with("/sessions-full"), "{body}");
    // Live sessions are never evicted to make room; deleting one does.
    assert_eq!(value(execute(&s, &a, "1")), 1);
    assert_eq!(client().delete(s.url(&format!("/v1/sessions/{a}"))).send().unwrap().status(), 204);
    new_session(&s, json!({}));
}

#[test]
fn a_sandbox_stop_ends_the_interpreter_and_keeps_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    let id = new_session(&s, json!({ "timeout": 2 }));
    value(execute(&s, &id, "x = 1\nopen('/session/kept.txt', 'w').write('kept')"));
    let started = Instant::now();
    let body = problem(execute(&s, &id, "while True:\n    pass"), 504);
    assert!(started.elapsed() < Duration::from_secs(8), "stopped at the session's own 2 s deadline");
    assert_eq!(body["sandbox"], "timeout", "{body}");
    assert_eq!(body["state_lost"], true, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("files are kept"), "{body}");
    // A fresh interpreter in the same session: names gone, files kept.
    let body = problem(execute(&s, &id, "x"), 422);
    assert_eq!(body["error_type"], "NameError", "{body}");
    assert_eq!(body["state_lost"], false, "a Python error keeps the state");
    assert_eq!(value(execute(&s, &id, "open('/session/kept.txt').read()")), "kept");
}

#[test]
fn calls_on_one_session_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    let id = new_session(&s, json!({ "timeout": 2 }));
    value(execute(&s, &id, "import time"));
    // A second call waits for the first within its deadline.
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| value(execute(&s, &id, "time.sleep(0.5)\n'first'")));
        std::thread::sleep(Duration::from_millis(100));
        let second = value(execute(&s, &id, "'second'"));
        (first.join().unwrap(), second)
    });
    assert_eq!((first, second), ("first".into(), "second".into()));
    // An upload holds the session longer than a call's deadline: 409.
    std::thread::scope(|scope| {
        let slow = Body::new(SlowReader { left: 2, pause: Duration::from_millis(1500) });
        let upload = scope.spawn(|| put(&s, &id, "slow.bin", slow).status());
        std::thread::sleep(Duration::from_millis(300));
        let body = problem(execute(&s, &id, "1"), 409);
        assert!(body["type"].as_str().unwrap().ends_with("/session-busy"), "{body}");
        assert_eq!(upload.join().unwrap(), 201);
    });
    assert_eq!(value(execute(&s, &id, "len(open('/session/slow.bin', 'rb').read())")), 2);
}

/// A request body that sends one byte, then pauses, `left` times.
struct SlowReader {
    left: usize,
    pause: Duration,
}

impl Read for SlowReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        std::thread::sleep(self.pause);
        self.left -= 1;
        buf[0] = b'x';
        Ok(1)
    }
}

#[test]
fn shutting_down_removes_every_session_directory() {
    let dir = tempfile::tempdir().unwrap();
    let s = default_server(dir.path());
    for _ in 0..3 {
        let id = new_session(&s, json!({}));
        assert_eq!(put(&s, &id, "f", "x").status(), 201);
    }
    assert_eq!(session_dirs(dir.path()), 3);
    drop(s);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the server's own directory is gone too");
}
