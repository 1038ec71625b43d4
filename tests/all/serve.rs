//! `mung-runtime serve`: every route, every error status, hostile scripts,
//! overload, graceful shutdown and the batch stream, over real HTTP on
//! 127.0.0.1 (ephemeral ports).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mung_runtime::Runtime;
use mung_runtime_server::{PROBLEM_JSON, ROUTES, Server, ServerConfig};
use reqwest::blocking::{Client, Response, multipart};
use serde_json::{Value, json};

use crate::common::{cli, fixtures, run, runtime, show};

/// A server running in this process on its own thread and async runtime
/// (also the reference in `wasmtime_serve.rs`).
pub(crate) struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub(crate) fn start(runtime: Runtime, config: ServerConfig) -> TestServer {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let server = Server::new(runtime, config);
                server.warm_up().await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                server
                    .serve(listener, async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(300)).expect("the server started");
        TestServer { addr, stop: Some(stop_tx), thread: Some(thread) }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(crate) fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(120)).no_proxy().build().unwrap()
}

/// The shared server: default runtime, execute allowed, 2 jobs.
fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| TestServer::start(runtime().clone(), ServerConfig::default().jobs(2).allow_execute(true)))
}

/// A runtime whose sandbox stops scripts after 2 s and at 256 MiB.
fn strict_runtime() -> Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Runtime::builder().timeout(Duration::from_secs(2)).memory_limit(256 << 20).max_instances(4).build().unwrap()
        })
        .clone()
}

/// A server of its own (tests run in parallel) over the strict runtime: one
/// job, no queue, 1 MiB bodies, execute allowed.
fn strict_server() -> TestServer {
    TestServer::start(strict_runtime(), ServerConfig::default().jobs(1).queue(0).allow_execute(true).max_body(1 << 20))
}

pub(crate) fn problem(response: Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "{:?}", response.headers());
    let media = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(media.starts_with(PROBLEM_JSON), "{media}");
    let body: Value = response.json().unwrap();
    assert_eq!(body["status"], status, "{body}");
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "problem without {key}: {body}");
    }
    body
}

pub(crate) fn xml(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn post_xml(s: &TestServer, route: &str, body: String) -> Response {
    client().post(s.url(route)).header("content-type", "application/xml").body(body).send().unwrap()
}

/// What `mung-runtime validate --format json` prints for one file.
fn cli_issues(path: &Path) -> Value {
    let out = run(cli().args(["validate", "--format", "json"]).arg(path));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", show(&out));
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    all[0]["issues"].clone()
}

#[test]
fn validate_and_fix_answer_exactly_what_the_cli_prints() {
    let s = server();
    for name in ["small.xml", "small-fixable.xml"] {
        let path = fixtures().join(name);
        let response = post_xml(s, "/v1/validate", xml(&path));
        assert_eq!(response.status(), 200);
        let body: Value = response.json().unwrap();
        assert_eq!(body["issues"], cli_issues(&path), "{name}");
    }
    let response = post_xml(s, "/v1/fix", xml(&fixtures().join("small-fixable.xml")));
    assert_eq!(response.status(), 200);
    let renamed: u32 = response.headers()["x-mung-renamed"].to_str().unwrap().parse().unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/xml"));
    let fixed = response.text().unwrap();
    assert!(renamed > 0);
    let again: Value = post_xml(s, "/v1/validate", fixed).json().unwrap();
    let fixable = again["issues"].as_array().unwrap().iter().filter(|i| !i["resolution"].is_null()).count();
    assert_eq!(fixable, 0, "the fixed document has nothing left to fix");
}

#[test]
fn bad_documents_and_requests_get_problem_details() {
    let s = server();
    let body = problem(post_xml(s, "/v1/validate", "<Nodes><Node><Id>1</Id>".into()), 422);
    // The same message the CLI prints for such a document.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<Nodes><Node><Id>1</Id>").unwrap();
    let out = run(cli().args(["validate", "--format", "json"]).arg(&bad));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["detail"], printed[0]["error"]["message"], "{body}");

    problem(
        client().post(s.url("/v1/validate")).header("content-type", "text/plain").body("<Nodes/>").send().unwrap(),
        415,
    );
    problem(client().post(s.url("/v1/validate")).body("<Nodes/>").send().unwrap(), 415);
    problem(post_xml(s, "/v1/validate", String::new()), 400);
    problem(
        client()
            .post(s.url("/v1/validate"))
            .header("content-type", "application/xml")
            .body(vec![0xff, 0xfe, 0])
            .send()
            .unwrap(),
        422,
    );
    problem(
        client().post(s.url("/v1/execute")).header("content-type", "application/json").body("{").send().unwrap(),
        400,
    );
    problem(client().post(s.url("/v1/execute")).json(&json!({"code": "1", "bogus": 1})).send().unwrap(), 400);
    problem(client().get(s.url("/v1/nothing-here")).send().unwrap(), 404);
    problem(client().get(s.url("/v1/validate")).send().unwrap(), 405);
    // Still fine afterwards.
    assert_eq!(post_xml(s, "/v1/validate", xml(&fixtures().join("small.xml"))).status(), 200);
}

#[test]
fn a_body_over_the_limit_is_refused_before_it_is_read() {
    let s = strict_server();
    // Announce 2 MiB but send none of it: the answer comes from the header.
    let mut stream = std::net::TcpStream::connect(s.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST /v1/validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    )
    .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("}") {
        match std::io::Read::read(&mut stream, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.to_ascii_lowercase().contains("content-type: application/problem+json"), "{text}");
    assert!(text.contains("--max-body"), "{text}");
    // The server goes on.
    assert_eq!(post_xml(&s, "/v1/validate", xml(&fixtures().join("small.xml"))).status(), 200);
}

#[test]
fn region_tools_answer_png_or_json() {
    let s = server();
    // A dark 20x10 rectangle on white, inside a 64x48 page.
    let mut page = image::RgbaImage::from_pixel(64, 48, image::Rgba([255, 255, 255, 255]));
    for y in 20..30 {
        for x in 10..30 {
            page.put_pixel(x, y, image::Rgba([0, 0, 0, 255]));
        }
    }
    let mut png = Vec::new();
    page.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let form = || {
        multipart::Form::new()
            .part("image", multipart::Part::bytes(png.clone()).file_name("page.png").mime_str("image/png").unwrap())
            .text("region", "5,15,30,20")
    };
    let response = client().post(s.url("/v1/extract/binarize")).multipart(form()).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-mung-left"], "5");
    let mask = image::load_from_memory(&response.bytes().unwrap()).unwrap().to_luma8();
    assert_eq!(mask.dimensions(), (30, 20));
    assert_eq!(mask.get_pixel(10, 10).0[0], 255, "the dark rectangle is ink");
    assert_eq!(mask.get_pixel(1, 1).0[0], 0, "white paper is not");

    let response = client()
        .post(s.url("/v1/extract/binarize"))
        .header("accept", "application/json")
        .multipart(form())
        .send()
        .unwrap();
    let json: Value = response.json().unwrap();
    assert_eq!((json["left"].as_i64(), json["top"].as_i64(), json["width"].as_u64()), (Some(5), Some(15), Some(30)));

    // JSON in, with a polygon keeping only the left half.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    let request = json!({"image": b64, "region": [5, 15, 30, 20], "polygon": [[5, 15], [20, 15], [20, 35], [5, 35]]});
    let response = client()
        .post(s.url("/v1/extract/binarize"))
        .header("accept", "application/json")
        .json(&request)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let clipped: Value = response.json().unwrap();
    let pixels = base64::engine::general_purpose::STANDARD.decode(clipped["pixels"].as_str().unwrap()).unwrap();
    assert!(pixels.iter().enumerate().all(|(i, &p)| p == 0 || i % 30 <= 15), "ink only inside the polygon");
    assert!(pixels.contains(&1));

    let response = client().post(s.url("/v1/extract/stafflines")).multipart(form()).send().unwrap();
    assert_eq!(response.status(), 200);

    // A region outside the page, an image that is none, a missing field.
    let outside = multipart::Form::new()
        .part("image", multipart::Part::bytes(png.clone()).file_name("p.png"))
        .text("region", "60,40,30,30");
    problem(client().post(s.url("/v1/extract/binarize")).multipart(outside).send().unwrap(), 422);
    let junk =
        multipart::Form::new().part("image", multipart::Part::bytes(b"no image".to_vec())).text("region", "0,0,2,2");
    problem(client().post(s.url("/v1/extract/binarize")).multipart(junk).send().unwrap(), 422);
    problem(
        client()
            .post(s.url("/v1/extract/binarize"))
            .multipart(multipart::Form::new().text("region", "1,1,1,1"))
            .send()
            .unwrap(),
        400,
    );
}

#[test]
fn mask_and_node_tools_mirror_the_wit_interface() {
    let s = server();
    let c = client();
    // Two separate horizontal lines: one cut between them, two bands.
    let (w, h) = (40u32, 30u32);
    let mut pixels = vec![0u8; (w * h) as usize];
    for x in 2..38 {
        pixels[(5 * w + x) as usize] = 1;
        pixels[(22 * w + x) as usize] = 1;
    }
    use base64::Engine as _;
    let mask = json!({"left": 100, "top": 200, "width": w, "height": h,
        "pixels": base64::engine::general_purpose::STANDARD.encode(&pixels)});
    let cuts: Value =
        c.post(s.url("/v1/extract/cut-lines")).json(&json!({"mask": mask})).send().unwrap().json().unwrap();
    assert_eq!(cuts["cut_lines"].as_array().unwrap().len(), 1, "{cuts}");
    let bands: Value = c
        .post(s.url("/v1/extract/separate"))
        .json(&json!({"mask": mask, "cut_lines": cuts["cut_lines"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let bands = bands["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 2);
    assert!(bands[0]["top"].as_i64().unwrap() >= 200);

    let filled = c
        .post(s.url("/v1/extract/fill-polygon"))
        .header("accept", "application/json")
        .json(&json!({"width": 10, "height": 10, "polygon": "0,0,9,0,9,9,0,9"}))
        .send()
        .unwrap();
    let filled: Value = filled.json().unwrap();
    let filled = base64::engine::general_purpose::STANDARD.decode(filled["pixels"].as_str().unwrap()).unwrap();
    assert_eq!(filled.iter().filter(|&&p| p == 1).count(), 100);

    // Five stafflines make a staff; the staff gets six staff spaces.
    let line_mask = json!({"width": 200, "height": 1,
        "pixels": base64::engine::general_purpose::STANDARD.encode(vec![1u8; 200])});
    let lines: Vec<Value> = (0..5)
        .map(|i| {
            json!({"id": i, "class_name": "staffLine", "top": 50 + 10 * i, "left": 10, "width": 200, "height": 1,
                   "mask": line_mask})
        })
        .collect();
    let staff: Value =
        c.post(s.url("/v1/extract/staff")).json(&json!({"nodes": lines})).send().unwrap().json().unwrap();
    let staff = staff["node"].clone();
    assert_eq!(staff["class_name"], "staff", "{staff}");
    let mut nodes = lines.clone();
    let mut staff_node = staff.clone();
    staff_node["id"] = json!(5);
    staff_node["outlinks"] = json!([0, 1, 2, 3, 4]);
    nodes.push(staff_node);
    let spaces: Value =
        c.post(s.url("/v1/extract/staffspaces")).json(&json!({"nodes": nodes})).send().unwrap().json().unwrap();
    let spaces = spaces["nodes"].as_array().unwrap();
    assert_eq!(spaces.iter().filter(|n| n["class_name"] == "staffSpace").count(), 6, "{spaces:?}");
    // Snapping needs each staff complete: its lines and spaces linked.
    let mut with_head = nodes.clone();
    let space_ids: Vec<Value> =
        spaces.iter().filter(|n| n["class_name"] == "staffSpace").map(|n| n["id"].clone()).collect();
    let staff_links = with_head[5]["outlinks"].as_array_mut().unwrap();
    staff_links.extend(space_ids);
    with_head.extend(spaces.iter().filter(|n| n["class_name"] == "staffSpace").cloned());
    for n in with_head.iter_mut().filter(|n| n["class_name"] == "staffLine" || n["class_name"] == "staffSpace") {
        n["inlinks"] = json!([5]);
    }
    with_head.push(json!({"id": 99, "class_name": "noteheadFull", "top": 58, "left": 40, "width": 8, "height": 6}));
    let snapped: Value =
        c.post(s.url("/v1/extract/snap")).json(&json!({"nodes": with_head})).send().unwrap().json().unwrap();
    let head = snapped["nodes"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["id"] == 99))
        .unwrap_or_else(|| panic!("{snapped}"))
        .clone();
    assert!(head["outlinks"].as_array().unwrap().contains(&json!(5)), "the notehead links to its staff: {head}");

    let inserted: Value = c
        .post(s.url("/v1/extract/insert-node"))
        .json(&json!({"document": xml(&fixtures().join("small.xml")), "class_name": "noteheadFull", "mask": bands[0]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(inserted["id"].as_i64().is_some(), "{inserted}");
    assert!(inserted["document"].as_str().unwrap().contains("noteheadFull"));
    problem(c.post(s.url("/v1/extract/staff")).json(&json!({"nodes": []})).send().unwrap(), 422);
}

#[test]
fn execute_runs_fresh_and_hostile_scripts_do_not_take_the_server_down() {
    let s = &strict_server();
    let c = client();
    let ok: Value = c
        .post(s.url("/v1/execute"))
        .json(&json!({"code": "print('hi'); x * 2", "globals": {"x": 21}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!((ok["value"].clone(), ok["stdout"].clone()), (json!(42), json!("hi\n")));
    let leak = problem(c.post(s.url("/v1/execute")).json(&json!({"code": "x"})).send().unwrap(), 422);
    assert_eq!(leak["error_type"], "NameError", "nothing of the last request is seen: {leak}");
    let failed = problem(c.post(s.url("/v1/execute")).json(&json!({"code": "1/0"})).send().unwrap(), 422);
    assert_eq!(failed["kind"], "exception");
    assert!(failed["traceback"].as_str().unwrap().contains("ZeroDivisionError"));

    let start = Instant::now();
    let busy = problem(c.post(s.url("/v1/execute")).json(&json!({"code": "while True: pass"})).send().unwrap(), 504);
    assert_eq!(busy["sandbox"], "timeout");
    assert!(start.elapsed() < Duration::from_secs(10));
    let bomb = c
        .post(s.url("/v1/execute"))
        .json(&json!({"code": "a = []\nwhile True: a.append(bytearray(1 << 20))"}))
        .send()
        .unwrap();
    let bomb = problem(bomb, 422);
    assert!(bomb["error_type"] == "MemoryError" || bomb["sandbox"] == "memory-limit", "{bomb}");
    let after: Value = c.post(s.url("/v1/execute")).json(&json!({"code": "1 + 1"})).send().unwrap().json().unwrap();
    assert_eq!(after["value"], 2, "the next request works");
    let metrics = c.get(s.url("/metrics")).send().unwrap().text().unwrap();
    assert!(metrics.contains(r#"mung_sandbox_stops_total{kind="timeout"}"#), "{metrics}");
}

#[test]
fn execute_is_refused_unless_allowed() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1));
    let body = problem(client().post(s.url("/v1/execute")).json(&json!({"code": "1"})).send().unwrap(), 403);
    assert!(body["detail"].as_str().unwrap().contains("--allow-execute"));
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_nothing_is_lost() {
    let s = &strict_server(); // one job, no queue
    let slow = std::thread::spawn({
        let url = s.url("/v1/execute");
        move || client().post(url).json(&json!({"code": "import time; time.sleep(1.5); 7"})).send().unwrap()
    });
    std::thread::sleep(Duration::from_millis(400));
    let busy = client().post(s.url("/v1/execute")).json(&json!({"code": "1"})).send().unwrap();
    assert!(busy.headers().contains_key("retry-after"));
    problem(busy, 503);
    let slow: Value = slow.join().unwrap().json().unwrap();
    assert_eq!(slow["value"], 7, "the running request still finished");
}

#[test]
fn two_hundred_clients_against_two_jobs_all_get_answers() {
    // Bounded: 200 requests, 200 threads, each with a 120 s client timeout.
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(2));
    let doc = xml(&fixtures().join("small.xml"));
    let start = Instant::now();
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let url = s.url("/v1/validate");
            let doc = doc.clone();
            std::thread::spawn(move || {
                let r = client().post(url).header("content-type", "application/xml").body(doc).send().unwrap();
                let retry = r.headers().contains_key("retry-after");
                (r.status().as_u16(), retry)
            })
        })
        .collect();
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for h in handles {
        let (status, retry) = h.join().unwrap();
        assert!(status == 200 || (status == 503 && retry), "status {status}");
        *counts.entry(status).or_default() += 1;
    }
    assert_eq!(counts.values().sum::<usize>(), 200, "{counts:?}");
    assert!(counts.get(&200).copied().unwrap_or(0) >= 10, "{counts:?}");
    eprintln!("200 clients, 2 jobs: {counts:?} in {:?}", start.elapsed());
}

#[test]
fn health_readiness_metrics_and_the_description_cover_every_route() {
    let s = server();
    let c = client();
    assert_eq!(c.get(s.url("/healthz")).send().unwrap().status(), 200);
    assert_eq!(c.get(s.url("/readyz")).send().unwrap().status(), 200);
    let spec: Value = c.get(s.url("/openapi.json")).send().unwrap().json().unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let described: usize = spec["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(described, ROUTES.len());
    for route in ROUTES {
        let url = s.url(route.path);
        let response = match route.method {
            "get" => c.get(url).send().unwrap(),
            _ => c.post(url).header("content-type", "application/octet-stream").body("").send().unwrap(),
        };
        let status = response.status().as_u16();
        assert!(status != 404 && status != 405, "{} {} is described but answers {status}", route.method, route.path);
        if route.method == "get" {
            assert_eq!(status, 200, "{}", route.path);
        }
    }
    let page = c.get(s.url("/")).send().unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let metrics = c.get(s.url("/metrics")).send().unwrap().text().unwrap();
    assert!(metrics.contains(r#"mung_http_requests_total{route="/healthz",status="200"}"#), "{metrics}");
    assert!(metrics.contains("mung_http_request_duration_seconds_bucket"), "{metrics}");
    assert!(metrics.contains(r#"mung_instances{state="idle"}"#), "{metrics}");
}

/// The batch lines keyed by file name.
fn batch_lines(text: &str) -> BTreeMap<String, Value> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let name = Path::new(v["file"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            (name, v)
        })
        .collect()
}

/// `validate --format jsonl` over `paths`, keyed by file name.
fn cli_lines(paths: &[&Path]) -> BTreeMap<String, Value> {
    let out = run(cli().args(["validate", "--format", "jsonl", "--jobs", "2"]).args(paths));
    assert!(matches!(out.status.code(), Some(0..=2)), "{}", show(&out));
    batch_lines(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn the_batch_stream_equals_the_cli_output_for_multipart() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, "<Nodes><Node>").unwrap();
    let files = [fixtures().join("small.xml"), fixtures().join("small-fixable.xml"), broken];
    let mut form = multipart::Form::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        form = form.part(name.clone(), multipart::Part::bytes(std::fs::read(f).unwrap()).file_name(name));
    }
    let response = client().post(s.url("/v1/validate/batch")).multipart(form).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let got = batch_lines(&response.text().unwrap());
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let want = cli_lines(&paths);
    assert_eq!(got.len(), 3);
    for (name, line) in &want {
        assert_eq!(got[name].get("issues"), line.get("issues"), "{name}");
        assert_eq!(got[name]["error"].get("kind"), line["error"].get("kind"), "{name}");
        assert_eq!(got[name]["error"].get("message"), line["error"].get("message"), "{name}");
    }
}

#[test]
#[cfg_attr(
    not(mung_shared_data),
    ignore = "needs ../shared/data (or MUNG_RUNTIME_DATA); under CI=true it runs and fails without it"
)]
fn the_batch_stream_over_the_muscima_corpus_equals_the_cli_output() {
    let s = server();
    let corpus = crate::common::shared_data().join("muscima-pp-v2.0/annotations");
    let mut files: Vec<_> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "xml"));
    files.sort();
    assert!(files.len() >= 100);
    let mut zip_bytes = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
        for f in &files {
            let name = format!("annotations/{}", f.file_name().unwrap().to_string_lossy());
            writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(&std::fs::read(f).unwrap()).unwrap();
        }
        writer.finish().unwrap();
    }
    let response = client()
        .post(s.url("/v1/validate/batch"))
        .header("content-type", "application/zip")
        .body(zip_bytes)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let got = batch_lines(&response.text().unwrap());
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let want = cli_lines(&paths);
    assert_eq!(got.len(), files.len());
    for (name, line) in &want {
        assert_eq!(got[name]["issues"], line["issues"], "{name}");
    }
}

/// `mung-runtime serve` as a child process, killed when dropped.
pub(crate) struct ServeProcess {
    pub(crate) child: Child,
    pub(crate) addr: String,
}

impl ServeProcess {
    pub(crate) fn start(extra: &[&str]) -> ServeProcess {
        let mut child = cli()
            .args(["serve", "--addr", "127.0.0.1:0", "--jobs", "1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("{line:?}")).to_string();
        ServeProcess { child, addr }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_then_exits_cleanly() {
    let mut p = ServeProcess::start(&["--allow-execute"]);
    let url = format!("http://{}/v1/execute", p.addr);
    let in_flight = std::thread::spawn({
        let url = url.clone();
        move || client().post(url).json(&json!({"code": "import time; time.sleep(2); 'done'"})).send().unwrap()
    });
    std::thread::sleep(Duration::from_millis(600));
    let status = std::process::Command::new("kill").args(["-TERM", &p.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let done = in_flight.join().unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(done.json::<Value>().unwrap()["value"], "done");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            break status.code();
        }
        assert!(Instant::now() < deadline, "the server did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    assert!(client().post(url).json(&json!({"code": "1"})).send().is_err(), "nothing listens any more");
}
