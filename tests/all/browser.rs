//! The page served at `GET /`, driven in a real headless Chromium through
//! chromedriver (W3C WebDriver over HTTP): open a real document and its page
//! image, check the issue table and the boxes against the server's own
//! answers, select a row, binarize a region, download the fixed document,
//! show a server error, and keep a screenshot in `target/browser/page.png`.
//!
//! Everything listens on 127.0.0.1 only; the browser gets a fresh profile.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, multipart};
use serde_json::{Value, json};

use crate::common::{cli, repo, shared_data};

/// The key of a web element reference in WebDriver JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The real page and its document (a printed song book, 355 nodes).
const SAMPLE: &str =
    "mung-samples/sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154";

/// A region of that page with a staff and notes in it (page pixels).
const INK_REGION: [u32; 4] = [90, 180, 420, 110];

/// How long `mung-runtime serve` may take to listen: measured up to 260 s
/// on two cores when the compiled interpreter was not yet cached.
const SERVER_START: Duration = Duration::from_secs(900);

/// A child process that is killed when dropped (also when a test panics).
struct KillOnDrop {
    child: Child,
    name: &'static str,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl KillOnDrop {
    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited with {status}", self.name)),
            _ => None,
        }
    }
}

/// Collects a pipe's text in the background, so the child never blocks on it.
fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

fn http() -> Client {
    // No proxy from the environment: every address here is loopback.
    Client::builder().no_proxy().timeout(Duration::from_secs(300)).build().unwrap()
}

/// `mung-runtime serve` on a free loopback port.
struct Server {
    _process: KillOnDrop,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start() -> Server {
        let mut child = cli()
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting `mung-runtime serve`");
        let stdout = child.stdout.take().unwrap();
        let stderr = collect(child.stderr.take().unwrap());
        let mut process = KillOnDrop { child, name: "mung-runtime serve" };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(base) = line.trim().strip_prefix("listening on ") {
                    let _ = tx.send(base.to_string());
                }
            }
        });
        // The first start on a machine compiles the interpreter (minutes on
        // two cores, more while other tests hold the cache's lock).
        let deadline = Instant::now() + SERVER_START;
        let base = loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(base) => break base,
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(exit) = process.exited() {
                        panic!("{exit} before it listened\n--- stderr\n{}", stderr.lock().unwrap());
                    }
                }
                Err(_) => panic!(
                    "`mung-runtime serve` did not print `listening on` within {SERVER_START:?}\n--- stderr\n{}",
                    stderr.lock().unwrap()
                ),
            }
        };
        assert!(base.starts_with("http://127.0.0.1:"), "not a loopback address: {base}");
        Server { _process: process, base, stderr }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// A free loopback port (chromedriver has no `--port=0`).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// chromedriver on a free loopback port, ready.
struct Driver {
    _process: KillOnDrop,
    base: String,
    http: Client,
}

impl Driver {
    fn start() -> Driver {
        let http = http();
        let mut last = String::new();
        // The port is free when picked; should something take it before
        // chromedriver binds, try another.
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(env!("MUNG_RUNTIME_TEST_CHROMEDRIVER"))
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", env!("MUNG_RUNTIME_TEST_CHROMEDRIVER")));
            let out = collect(child.stdout.take().unwrap());
            let err = collect(child.stderr.take().unwrap());
            let mut process = KillOnDrop { child, name: "chromedriver" };
            let base = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Some(exit) = process.exited() {
                    last = exit;
                    break;
                }
                let ready = http
                    .get(format!("{base}/status"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .ok()
                    .and_then(|r| r.json::<Value>().ok())
                    .is_some_and(|v| v["value"]["ready"] == json!(true));
                if ready {
                    return Driver { _process: process, base, http };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            last = format!("{last}\n--- stdout\n{}\n--- stderr\n{}", out.lock().unwrap(), err.lock().unwrap());
        }
        panic!("chromedriver did not become ready: {last}");
    }

    /// One WebDriver command; `Err` carries the error of the answer.
    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        } else if method == reqwest::Method::POST {
            request = request.json(&json!({}));
        }
        let response = request.send().map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let answer: Value = response.json().map_err(|e| format!("{method} {path}: unreadable answer: {e}"))?;
        if status.is_success() {
            Ok(answer["value"].clone())
        } else {
            Err(format!(
                "{method} {path}: {status} {}: {}",
                answer["value"]["error"].as_str().unwrap_or("?"),
                answer["value"]["message"].as_str().unwrap_or("").lines().next().unwrap_or("")
            ))
        }
    }
}

/// A browser session; deleted when dropped.
struct Session<'a> {
    driver: &'a Driver,
    id: String,
    server: &'a Server,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if !self.id.is_empty() {
            let _ = self.driver.call(reqwest::Method::DELETE, &format!("/session/{}", self.id), None);
        }
    }
}

impl<'a> Session<'a> {
    fn new(driver: &'a Driver, server: &'a Server, profile: &Path, downloads: &Path) -> Session<'a> {
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": env!("MUNG_RUNTIME_TEST_CHROMIUM"),
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--window-size=1400,1000",
                            format!("--user-data-dir={}", profile.display()),
                        ],
                        "prefs": {
                            "download.default_directory": downloads.display().to_string(),
                            "download.prompt_for_download": false,
                        },
                    },
                },
            },
        });
        let value = driver
            .call(reqwest::Method::POST, "/session", Some(capabilities))
            .unwrap_or_else(|e| panic!("cannot start Chromium ({}): {e}", env!("MUNG_RUNTIME_TEST_CHROMIUM")));
        let id = value["sessionId"].as_str().expect("a session id").to_string();
        let session = Session { driver, id, server };
        session.post("/timeouts", json!({"script": 120_000, "pageLoad": 60_000, "implicit": 0}));
        session
    }

    /// Panics with `what`, the page's status line and the server's stderr.
    fn fail(&self, what: impl std::fmt::Display) -> ! {
        let status = self
            .driver
            .call(
                reqwest::Method::POST,
                &format!("/session/{}/execute/sync", self.id),
                Some(json!({"script": "const s = document.querySelector('#status'); return s ? s.textContent : null;", "args": []})),
            )
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("(unreadable: {e})"));
        panic!("{what}\n--- #status on the page: {status}\n--- server stderr\n{}", self.server.stderr());
    }

    fn try_post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.driver.call(reqwest::Method::POST, &format!("/session/{}{path}", self.id), Some(body))
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.try_post(path, body).unwrap_or_else(|e| self.fail(e))
    }

    fn get(&self, path: &str) -> Value {
        self.driver
            .call(reqwest::Method::GET, &format!("/session/{}{path}", self.id), None)
            .unwrap_or_else(|e| self.fail(e))
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Ends the session, checking that the browser agrees.
    fn delete(mut self) {
        let id = std::mem::take(&mut self.id);
        self.driver.call(reqwest::Method::DELETE, &format!("/session/{id}"), None).unwrap_or_else(|e| self.fail(e));
    }

    /// Runs `body` (an expression giving a Promise, with the arguments in
    /// `args`) and waits for it: `{"ok": value}` or `{"error": message}`.
    fn promise(&self, body: &str, args: Value) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const args = Array.from(arguments).slice(0, -1);
             Promise.resolve().then(() => {body})
               .then(ok => done({{ok}}), e => done({{error: String(e && e.message || e)}}));"
        );
        self.post("/execute/async", json!({"script": script, "args": args}))
    }

    fn find(&self, css: &str) -> String {
        let value = self.post("/element", json!({"using": "css selector", "value": css}));
        value[ELEMENT].as_str().unwrap_or_else(|| self.fail(format!("no element {css}: {value}"))).to_string()
    }

    fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    fn send_keys(&self, element: &str, text: &str) {
        self.post(&format!("/element/{element}/value"), json!({"text": text}));
    }

    fn press(&self, key: &str) {
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]}),
        );
        self.driver
            .call(reqwest::Method::DELETE, &format!("/session/{}/actions", self.id), None)
            .unwrap_or_else(|e| self.fail(e));
    }

    /// Polls `probe` until it gives `Some`, for at most `limit`.
    fn wait_for<T>(&self, what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(value) = probe() {
                return value;
            }
            if Instant::now() > deadline {
                self.fail(format!("timed out after {limit:?} waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The numbers the page shows, for assertions.
    fn page_state(&self) -> Value {
        self.script(
            "const canvas = document.querySelector('#page-canvas');
             const status = document.querySelector('#status');
             const rows = [...document.querySelectorAll('#issues tbody tr')];
             return {
               rows: rows.length,
               nodeIds: rows.map(r => r.dataset.nodeId === undefined ? null : Number(r.dataset.nodeId)),
               selected: rows.filter(r => r.classList.contains('selected')).map(r => Number(r.dataset.index)),
               ariaSelected: rows.filter(r => r.getAttribute('aria-selected') === 'true').length,
               boxes: Number(canvas.dataset.boxes),
               boxesShown: Number(document.querySelector('#boxes-drawn').textContent),
               selectedNode: canvas.dataset.selectedNode,
               maskPixels: Number(canvas.dataset.maskPixels),
               canvasShown: !canvas.hidden && canvas.width > 0,
               summary: document.querySelector('#summary').textContent,
               status: status.textContent,
               statusKind: status.dataset.kind,
               renamed: document.querySelector('#fix-result').dataset.renamed ?? null,
             };",
            json!([]),
        )
    }
}

/// Standard base64 (the screenshot, the mask) without a dependency.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a') as u32 + 26,
            b'0'..=b'9' => (c - b'0') as u32 + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {:?}", c as char),
        }
    };
    let digits: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The `<Top>` of each node of a MuNG document, by `<Id>`.
fn node_tops(xml: &str) -> BTreeMap<i64, i64> {
    let field = |node: &str, name: &str| -> Option<i64> {
        node.split(&format!("<{name}>")).nth(1)?.split(&format!("</{name}>")).next()?.trim().parse().ok()
    };
    xml.split("<Node>").skip(1).filter_map(|node| Some((field(node, "Id")?, field(node, "Top")?))).collect()
}

fn fixed_name(doc: &Path) -> String {
    format!("{}.fixed.xml", doc.file_name().unwrap().to_str().unwrap().strip_suffix(".xml").unwrap())
}

#[test]
#[cfg_attr(
    not(mung_chromium),
    ignore = "needs chromium + chromedriver (Debian packages chromium, chromium-driver); .ci/run installs them"
)]
#[cfg_attr(not(mung_shared_data), ignore = "needs ../shared/data")]
fn the_page_validates_draws_selects_binarizes_and_fixes_in_chromium() {
    let started = Instant::now();
    let step = |what: &str| println!("[{:6.1} s] {what}", started.elapsed().as_secs_f64());
    let data = shared_data();
    let doc: PathBuf = data.join(format!("{SAMPLE}.jpg.xml"));
    let image: PathBuf = data.join(format!("{SAMPLE}.png"));
    let xml = std::fs::read_to_string(&doc).unwrap();
    let image_bytes = std::fs::read(&image).unwrap();

    let server = Server::start();
    step("server started");
    let http = http();

    // What the server itself answers, to hold the page to.
    let answer: Value = http
        .post(server.url("/v1/validate"))
        .header("Content-Type", "application/xml")
        .body(xml.clone())
        .send()
        .unwrap()
        .error_for_status()
        .unwrap_or_else(|e| panic!("{e}\n--- server stderr\n{}", server.stderr()))
        .json()
        .unwrap();
    let issues = answer["issues"].as_array().unwrap().clone();
    assert!(!issues.is_empty(), "the sample document has issues");
    let fixable = issues.iter().filter(|i| !i["resolution"].is_null()).count();
    let tops = node_tops(&xml);
    let expected_node_ids: Vec<Value> = issues.iter().map(|i| i["nodeId"].clone()).collect();
    let expected_boxes = issues
        .iter()
        .filter_map(|i| i["nodeId"].as_i64())
        .filter(|id| tops.contains_key(id))
        .collect::<BTreeSet<_>>()
        .len();

    let driver = Driver::start();
    step("chromedriver ready");
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let session = Session::new(&driver, &server, profile.path(), downloads.path());
    step("browser session");

    session.post("/url", json!({"url": server.url("/")}));
    let title = session.get("/title");
    assert_eq!(title, json!("mung-runtime"));

    // Open the page image and the document through the file inputs.
    let image_input = session.find("#image-input");
    session.send_keys(&image_input, image.to_str().unwrap());
    let doc_input = session.find("#doc-input");
    session.send_keys(&doc_input, doc.to_str().unwrap());

    let state = session.wait_for("the issue rows and the boxes", Duration::from_secs(120), || {
        let state = session.page_state();
        if state["statusKind"] == "error" {
            session.fail(format!("the page shows an error: {}", state["status"]));
        }
        (state["rows"].as_u64() > Some(0) && state["boxes"].as_u64() > Some(0)).then_some(state)
    });
    assert_eq!(state["rows"], json!(issues.len()), "one row per issue the server reports");
    assert_eq!(state["nodeIds"], json!(expected_node_ids), "rows in the server's order, with their nodes");
    assert_eq!(state["summary"], json!(format!("{} issues, {fixable} fixable", issues.len())));
    assert_eq!(state["boxes"], json!(expected_boxes), "a box per node with an issue");
    assert_eq!(state["boxesShown"], state["boxes"]);
    assert!(state["canvasShown"] == json!(true), "the canvas shows the page: {state}");
    step("rows and boxes checked");

    // Select a row by clicking it (one whose node is low on the page, out of
    // view until the page scrolls to it); then the next one with the keyboard.
    let pick = (0..issues.len() - 1)
        .find(|&i| issues[i]["nodeId"].as_i64().and_then(|id| tops.get(&id)).is_some_and(|&top| top > 1400))
        .expect("an issue low on the page");
    let row = session.find(&format!("#issues tbody tr[data-index='{pick}']"));
    session.click(&row);
    session.wait_for("the selected box to scroll into view", Duration::from_secs(10), || {
        let seen = session.script(
            "const canvas = document.querySelector('#page-canvas');
             const box = JSON.parse(canvas.dataset.selectedBox || 'null');
             if (!box) return false;
             const scale = Number(canvas.dataset.scale);
             const c = canvas.getBoundingClientRect();
             const v = document.querySelector('#viewer').getBoundingClientRect();
             const x = c.left + (box.left + box.width / 2) * scale;
             const y = c.top + (box.top + box.height / 2) * scale;
             return x >= v.left && x <= v.right && y >= v.top && y <= v.bottom;",
            json!([]),
        );
        (seen == json!(true)).then_some(())
    });
    let state = session.page_state();
    assert_eq!(state["selected"], json!([pick]), "exactly the clicked row is selected: {state}");
    assert_eq!(state["ariaSelected"], json!(1));
    assert_eq!(state["selectedNode"], json!(issues[pick]["nodeId"].to_string()), "its box is the highlighted one");
    let class = session.get(&format!("/element/{row}/attribute/class"));
    assert!(class.as_str().unwrap_or("").contains("selected"), "the row is highlighted: {class}");
    session.press("\u{E015}"); // ArrowDown
    let state = session.page_state();
    assert_eq!(state["selected"], json!([pick + 1]), "ArrowDown selects the next row: {state}");
    assert_eq!(state["selectedNode"], json!(issues[pick + 1]["nodeId"].to_string()));
    step("selection checked");

    // Binarize a region with ink, through the same code as a drag.
    let [x, y, w, h] = INK_REGION;
    let result = session.promise("window.mungBinarize(...args)", json!([x, y, w, h]));
    let Some(placed) = result.get("ok") else { session.fail(format!("mungBinarize failed: {result}")) };
    let ink = placed["inkPixels"].as_u64().unwrap();
    assert!(ink > 0 && ink < u64::from(w * h), "some ink, not all: {placed}");
    assert_eq!((placed["left"].clone(), placed["top"].clone()), (json!(x), json!(y)), "placed where asked: {placed}");
    assert_eq!(session.page_state()["maskPixels"], json!(ink), "the overlay counts the same ink");
    // The same request made directly gives the same mask.
    let form = multipart::Form::new()
        .part("image", multipart::Part::bytes(image_bytes.clone()).file_name("page.png").mime_str("image/png").unwrap())
        .text("region", format!("{x},{y},{w},{h}"));
    let direct: Value = http
        .post(server.url("/v1/extract/binarize"))
        .header("Accept", "application/json")
        .multipart(form)
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap();
    let pixels = base64_decode(direct["pixels"].as_str().unwrap());
    assert_eq!(pixels.len() as u64, u64::from(w * h));
    assert_eq!(pixels.iter().filter(|&&p| p != 0).count() as u64, ink, "the page shows the server's mask");
    step("binarize checked");

    // Download the fixed document: the file arrives, equal to /v1/fix's.
    let fixed = http
        .post(server.url("/v1/fix"))
        .header("Content-Type", "application/xml")
        .body(xml.clone())
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();
    let renamed = fixed.headers()["x-mung-renamed"].to_str().unwrap().to_string();
    let fixed_xml = fixed.bytes().unwrap();
    session.click(&session.find("#fix-button"));
    let shown = session.wait_for("the renamed count", Duration::from_secs(60), || {
        session.page_state()["renamed"].as_str().map(str::to_string)
    });
    assert_eq!(shown, renamed, "the page shows X-Mung-Renamed");
    let download = downloads.path().join(fixed_name(&doc));
    let downloaded = session.wait_for("the downloaded fixed document", Duration::from_secs(30), || {
        std::fs::read(&download).ok().filter(|b| b.len() == fixed_xml.len())
    });
    assert_eq!(downloaded, fixed_xml.to_vec(), "{} is the server's fixed document", download.display());
    step("fixed document downloaded");

    // The screenshot, with the selection and the mask on the page.
    session.script("window.scrollTo(0, 0);", json!([]));
    let png = base64_decode(session.get("/screenshot").as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
    let shot = repo().join("target/browser/page.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    std::fs::write(&shot, &png).unwrap();
    println!("screenshot: {}", shot.display());

    // A document the server refuses: its problem shows, and the page stays
    // usable (dropped here as a browser drop event would bring it).
    let broken = "<Nodes><Node><Id>1</Id>";
    let problem: Value = http
        .post(server.url("/v1/validate"))
        .header("Content-Type", "application/xml")
        .body(broken)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let title = problem["title"].as_str().expect("a problem+json title").to_string();
    session.script(
        "const transfer = new DataTransfer();
         transfer.items.add(new File([arguments[0]], 'broken.xml', {type: 'application/xml'}));
         document.querySelector('#drop-zone').dispatchEvent(
           new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));",
        json!([broken]),
    );
    let state = session.wait_for("the error in the status area", Duration::from_secs(60), || {
        let state = session.page_state();
        (state["statusKind"] == "error").then_some(state)
    });
    let status = state["status"].as_str().unwrap();
    assert!(status.contains(&title), "the status shows the problem's title {title:?}: {status}");
    if let Some(detail) = problem["detail"].as_str() {
        assert!(status.contains(detail), "and its detail {detail:?}: {status}");
    }
    assert_eq!(state["rows"], json!(0));
    step("error shown");
    session.send_keys(&doc_input, doc.to_str().unwrap());
    session.wait_for("the rows again after the error", Duration::from_secs(120), || {
        let state = session.page_state();
        (state["rows"] == json!(issues.len()) && state["statusKind"] == "ok").then_some(())
    });

    session.delete();
}
