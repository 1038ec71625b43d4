//! `mung-runtime serve` tried as an attacker and as a flaky network would
//! try it (issue 14): compression on every route, stalled uploads, slowloris,
//! shutdown with half-sent requests, admission before the body, zip bombs,
//! batch limits, the Host check and the page's headers. Every loop is
//! bounded and talks only to 127.0.0.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mung_runtime_server::ServerConfig;
use serde_json::{Value, json};

use crate::common::{fixtures, runtime};
use crate::serve::{ServeProcess, TestServer, client, problem, xml};

/// Sends `request` as is and reads the answer until the server closes the
/// connection or `wait` passes.
fn raw(addr: SocketAddr, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads from `stream` until it closes, an error, or `wait`; returns what
/// came and how long until it closed (`None` if it stayed open).
fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> (String, Option<Duration>) {
    let start = Instant::now();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < wait {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&answer).into_owned(), Some(start.elapsed())),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (String::from_utf8_lossy(&answer).into_owned(), Some(start.elapsed())),
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), None)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("a complete gzip stream");
    out
}

/// A zip of `(name, bytes)` entries, deflated.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
    for (name, data) in entries {
        writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap();
    bytes
}

/// A sample request of every route: method, path, content type, body.
fn sample_requests() -> Vec<(&'static str, &'static str, &'static str, Vec<u8>)> {
    let doc = std::fs::read(fixtures().join("small.xml")).unwrap();
    let mut page = image::RgbaImage::from_pixel(40, 30, image::Rgba([255, 255, 255, 255]));
    for y in 10..20 {
        for x in 5..25 {
            page.put_pixel(x, y, image::Rgba([0, 0, 0, 255]));
        }
    }
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(page)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // Two lines of ink, so there is one cut between them.
    let (w, h) = (30u32, 20u32);
    let mut pixels = vec![0u8; (w * h) as usize];
    for x in 0..w as usize {
        pixels[3 * w as usize + x] = 1;
        pixels[15 * w as usize + x] = 1;
    }
    use base64::Engine as _;
    let mask = json!({"left": 0, "top": 0, "width": w, "height": h,
        "pixels": base64::engine::general_purpose::STANDARD.encode(&pixels)});
    let json = |v: Value| v.to_string().into_bytes();
    let line = |top: i32| {
        json!({"id": top, "class_name": "staffLine", "top": top, "left": 0, "width": 20, "height": 1,
            "mask": {"width": 20, "height": 1, "pixels": base64::engine::general_purpose::STANDARD.encode([1u8; 20])}})
    };
    let lines: Vec<Value> = (0..5).map(|i| line(10 + 4 * i)).collect();
    vec![
        ("GET", "/", "", Vec::new()),
        ("GET", "/healthz", "", Vec::new()),
        ("GET", "/readyz", "", Vec::new()),
        ("GET", "/metrics", "", Vec::new()),
        ("GET", "/openapi.json", "", Vec::new()),
        ("POST", "/v1/validate", "application/xml", doc.clone()),
        ("POST", "/v1/fix", "application/xml", doc.clone()),
        ("POST", "/v1/validate/batch", "application/zip", zip_of(&[("a.xml", doc.clone()), ("b/c.xml", doc)])),
        ("POST", "/v1/execute", "application/json", json(json!({"code": "print('hi'); [1, 2]"}))),
        ("POST", "/v1/extract/binarize", "image/png", png.clone()),
        ("POST", "/v1/extract/stafflines", "image/png", png),
        (
            "POST",
            "/v1/extract/fill-polygon",
            "application/json",
            json(json!({"width": 8, "height": 8, "polygon": [[1, 1], [6, 1], [6, 6]]})),
        ),
        ("POST", "/v1/extract/cut-lines", "application/json", json(json!({"mask": mask}))),
        (
            "POST",
            "/v1/extract/separate",
            "application/json",
            json(json!({"mask": mask, "cut_lines": [[[0, 9], [29, 9]]]})),
        ),
        ("POST", "/v1/extract/staff", "application/json", json(json!({"nodes": lines}))),
        ("POST", "/v1/extract/staffspaces", "application/json", json(json!({"nodes": []}))),
        ("POST", "/v1/extract/snap", "application/json", json(json!({"nodes": []}))),
        ("POST", "/v1/sessions", "application/json", json(json!({}))),
        ("GET", "/v1/sessions/{id}", "", Vec::new()),
        ("POST", "/v1/sessions/{id}/execute", "application/json", json(json!({"code": "x = 6 * 7\nx"}))),
        ("GET", "/v1/sessions/{id}/files", "", Vec::new()),
        ("PUT", "/v1/sessions/{id}/files/{path}", "application/octet-stream", b"new".to_vec()),
        ("GET", "/v1/sessions/{id}/files/{path}", "", Vec::new()),
        ("DELETE", "/v1/sessions/{id}/files/{path}", "", Vec::new()),
        ("DELETE", "/v1/sessions/{id}", "", Vec::new()),
        (
            "POST",
            "/mcp",
            "application/json",
            json(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "serve_hostile", "version": "0"}}})),
        ),
        (
            "POST",
            "/v1/extract/insert-node",
            "application/json",
            json(json!({"document": String::from_utf8(std::fs::read(fixtures().join("small.xml")).unwrap()).unwrap(),
                "class_name": "noteheadBlack", "mask": mask})),
        ),
    ]
}

#[test]
fn every_route_gives_complete_bodies_under_gzip_and_identity() {
    let config = ServerConfig::default().jobs(2).allow_execute(true).mcp(true);
    let s = TestServer::start(runtime().clone(), config);
    let c = client();
    let routes = sample_requests();
    let described: Vec<_> =
        mung_runtime_server::ROUTES.iter().map(|r| (r.method.to_uppercase(), r.path, r.ok)).collect();
    assert_eq!(routes.len(), described.len(), "a sample request for every route");
    for (method, path, media, body) in routes {
        let ok = described
            .iter()
            .find(|(m, p, _)| m == method && *p == path)
            .unwrap_or_else(|| panic!("{method} {path} is not a route"))
            .2;
        let mut bodies = Vec::new();
        for encoding in ["gzip", "identity", "gzip, br, identity"] {
            // Each session route gets a session of its own holding `a.txt`.
            let session = path.contains("{id}").then(|| {
                let created: Value = c
                    .post(s.url("/v1/sessions"))
                    .json(&json!({}))
                    .send()
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .json()
                    .unwrap();
                let id = created["id"].as_str().unwrap().to_string();
                let put = c.put(s.url(&format!("/v1/sessions/{id}/files/a.txt"))).body("old").send().unwrap();
                assert_eq!(put.status(), 201);
                id
            });
            let url = s.url(&path.replace("{id}", session.as_deref().unwrap_or("")).replace("{path}", "a.txt"));
            let request = match method {
                "GET" => c.get(url),
                "DELETE" => c.delete(url),
                "PUT" => c.put(url).header("content-type", media).body(body.clone()),
                _ => c.post(url).header("content-type", media).body(body.clone()),
            };
            let request = match path {
                "/mcp" => request.header("accept", "application/json, text/event-stream"),
                _ => request,
            };
            let response = request.header("accept-encoding", encoding).send().unwrap();
            let status = response.status().as_u16();
            // Replacing the file the session already holds is a 200.
            let ok = if method == "PUT" { 200 } else { ok };
            assert_eq!(status, ok, "{method} {path} under {encoding}: {:?}", response.headers());
            let gzipped = response.headers().get("content-encoding").is_some_and(|v| v == "gzip");
            let raw = response.bytes().unwrap_or_else(|e| panic!("{path} under {encoding}: the body broke off: {e}"));
            let plain = if gzipped { gunzip(&raw) } else { raw.to_vec() };
            bodies.push(plain);
            if let Some(id) = session.filter(|_| !(method == "DELETE" && path == "/v1/sessions/{id}")) {
                c.delete(s.url(&format!("/v1/sessions/{id}"))).send().unwrap().error_for_status().unwrap();
            }
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match (method, path) {
            // Counters move between requests.
            (_, "/metrics") => bodies.iter().for_each(|b| assert!(text(b).trim_end().ends_with("# EOF"))),
            (_, "/v1/validate/batch") => {
                for b in &bodies {
                    let text = text(b);
                    assert_eq!(text.lines().count(), 2, "both documents: {text}");
                    assert!(text.ends_with('\n'));
                    for line in text.lines() {
                        assert!(serde_json::from_str::<Value>(line).unwrap()["issues"].is_array(), "{line}");
                    }
                }
            }
            // Every session has its own id and times.
            ("POST", "/v1/sessions") | ("GET", "/v1/sessions/{id}") => {
                for b in &bodies {
                    let v: Value = serde_json::from_slice(b).unwrap_or_else(|e| panic!("{path}: {e}: {}", text(b)));
                    assert!(v["id"].is_string(), "{path}: {v}");
                }
            }
            // JSON, or server-sent events ending with the answer; whole either way.
            (_, "/mcp") => {
                for b in &bodies {
                    let t = text(b);
                    let json =
                        t.lines().filter_map(|l| l.strip_prefix("data:")).rfind(|d| !d.trim().is_empty()).unwrap_or(&t);
                    let v: Value = serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("/mcp: {e}: {t}"));
                    assert!(v["result"]["serverInfo"]["name"].is_string(), "/mcp: {v}");
                }
            }
            _ => {
                // What a call cost (`usage`) differs from call to call.
                let steady = |b: &Vec<u8>| match serde_json::from_slice::<Value>(b) {
                    Ok(Value::Object(mut o)) => {
                        o.remove("usage");
                        Value::Object(o).to_string().into_bytes()
                    }
                    _ => b.clone(),
                };
                let bodies: Vec<_> = bodies.iter().map(steady).collect();
                assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{method} {path}: the bodies differ between encodings")
            }
        }
    }
}

#[test]
fn stalled_batch_uploads_hold_no_sandbox_and_are_dropped() {
    let config = ServerConfig::default().jobs(2).queue(2).idle_timeout(Duration::from_secs(2));
    let s = TestServer::start(runtime().clone(), config);
    // 34 chunked uploads that never send a byte of their body.
    let stalled: Vec<TcpStream> = (0..34)
        .map(|_| {
            let mut stream = TcpStream::connect(s.addr()).unwrap();
            stream
                .write_all(
                    b"POST /v1/validate/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/zip\r\n\
                      Transfer-Encoding: chunked\r\n\r\n",
                )
                .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Every sandbox route still answers, and the server is ready.
    let c = client();
    let doc = xml(&fixtures().join("small.xml"));
    let ok = c.post(s.url("/v1/validate")).header("content-type", "application/xml").body(doc).send().unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(c.get(s.url("/readyz")).send().unwrap().status(), 200);
    // Each stalled upload is answered (503 at once past the upload slots,
    // 408 once it stalled for the idle timeout) and closed.
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for mut stream in stalled {
        let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(15));
        assert!(closed.is_some(), "a stalled upload was never dropped: {answer:?}");
        let status = answer.get(9..12).unwrap_or("none").to_string();
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses.get("408"), Some(&2), "the two uploads being spooled time out: {statuses:?}");
    assert_eq!(statuses.get("503"), Some(&32), "the others are refused at once: {statuses:?}");
}

#[test]
fn slow_headers_are_cut_and_health_is_answered_past_the_connection_limit() {
    let config = ServerConfig::default().jobs(1).max_connections(20).header_timeout(Duration::from_secs(2));
    let s = TestServer::start(runtime().clone(), config);
    // 40 connections trickle a request head, a byte now and then.
    let mut slow: Vec<TcpStream> = (0..40)
        .map(|_| {
            let mut stream = TcpStream::connect(s.addr()).unwrap();
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // Past the limit, health and readiness still answer.
    let start = Instant::now();
    let health = raw(s.addr(), b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Duration::from_secs(5));
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(start.elapsed() < Duration::from_secs(2), "health took {:?}", start.elapsed());
    let other = raw(s.addr(), b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Duration::from_secs(5));
    assert!(other.starts_with("HTTP/1.1 503"), "past the limit other routes get 503: {other}");
    assert!(other.to_ascii_lowercase().contains("retry-after"), "{other}");
    // Every trickling connection is closed by the header timeout (2 s),
    // however long it keeps trickling.
    let start = Instant::now();
    for stream in &mut slow {
        let _ = stream.write_all(b"b");
    }
    for stream in &mut slow {
        let (_, closed) = read_until_closed(stream, Duration::from_secs(10));
        assert!(closed.is_some(), "a slow head was never cut");
    }
    assert!(start.elapsed() < Duration::from_secs(10));
    // Once they are gone, everything answers again.
    assert_eq!(client().get(s.url("/openapi.json")).send().unwrap().status(), 200);
    let metrics = client().get(s.url("/metrics")).send().unwrap().text().unwrap();
    assert!(metrics.contains("mung_refused_connections_total"), "{metrics}");
}

#[test]
fn sigterm_ends_within_the_grace_period_despite_a_half_sent_request() {
    let mut p = ServeProcess::start(&["--shutdown-grace", "2", "--idle-timeout", "60", "--header-timeout", "60"]);
    let addr: SocketAddr = p.addr.parse().unwrap();
    // One request with half its body, one with half its head.
    let mut body = TcpStream::connect(addr).unwrap();
    body.write_all(b"POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\nContent-Length: 1000\r\n\r\n<Nodes>").unwrap();
    let mut head = TcpStream::connect(addr).unwrap();
    head.write_all(b"POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &p.child.id().to_string()]).status().unwrap().success());
    let code = loop {
        if let Some(status) = p.child.try_wait().unwrap() {
            break status.code();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "the server did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(1500), "it waited for the grace period ({took:?})");
    drop((body, head));
}

#[test]
fn a_full_server_refuses_before_reading_the_body() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1).queue(0).allow_execute(true));
    let slow = std::thread::spawn({
        let url = s.url("/v1/execute");
        move || client().post(url).json(&json!({"code": "import time; time.sleep(2); 7"})).send().unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));
    // A 60 MB body is announced, none of it sent: the answer comes at once.
    let start = Instant::now();
    let answer = raw(
        s.addr(),
        format!(
            "POST /v1/extract/binarize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n",
            60 << 20
        )
        .as_bytes(),
        Duration::from_secs(5),
    );
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(2), "answered in {:?}", start.elapsed());
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    let _ = slow.join().unwrap();
}

#[test]
fn a_request_body_that_stops_is_answered_408() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1).idle_timeout(Duration::from_secs(1)));
    let mut stream = TcpStream::connect(s.addr()).unwrap();
    stream
        .write_all(b"POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\nContent-Length: 100\r\n\r\n<Nodes>")
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(closed.is_some());
    // The admission it held is free again.
    let doc = xml(&fixtures().join("small.xml"));
    let ok = client().post(s.url("/v1/validate")).header("content-type", "application/xml").body(doc).send().unwrap();
    assert_eq!(ok.status(), 200);
}

/// A zip whose `copies` central records all point at one deflated entry of
/// `size` zero bytes: what zip tools read as many big files.
fn overlapping_zip(copies: usize, size: usize) -> Vec<u8> {
    let mut data = Vec::new();
    let mut encoder = flate2::write::DeflateEncoder::new(&mut data, flate2::Compression::best());
    encoder.write_all(&vec![b' '; size]).unwrap();
    encoder.finish().unwrap();
    let crc = {
        let mut h = flate2::Crc::new();
        h.update(&vec![b' '; size]);
        h.sum()
    };
    let name = b"0.xml";
    let mut out = Vec::new();
    // Local file header.
    out.extend_from_slice(&0x04034b50u32.to_le_bytes());
    out.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&data);
    let directory = out.len();
    for i in 0..copies {
        let name = format!("{i}.xml");
        out.extend_from_slice(&0x02014b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&0u32.to_le_bytes()); // every record: the same local header
        out.extend_from_slice(name.as_bytes());
    }
    let directory_size = out.len() - directory;
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(copies as u16).to_le_bytes());
    out.extend_from_slice(&(copies as u16).to_le_bytes());
    out.extend_from_slice(&(directory_size as u32).to_le_bytes());
    out.extend_from_slice(&(directory as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn zip_bombs_duplicates_and_oversized_batches_are_refused_up_front() {
    let s = TestServer::start(
        runtime().clone(),
        ServerConfig::default().jobs(2).max_batch_body(1 << 20).max_batch_expanded(40_000),
    );
    let c = client();
    let post_zip = |bytes: Vec<u8>| {
        c.post(s.url("/v1/validate/batch")).header("content-type", "application/zip").body(bytes).send().unwrap()
    };
    // 300 records of one 32 MiB stream: refused before any inflating.
    let bomb = overlapping_zip(300, 32 << 20);
    assert!(bomb.len() < 100 << 10, "{} bytes", bomb.len());
    let start = Instant::now();
    let body = problem(post_zip(bomb), 422);
    assert!(body["detail"].as_str().unwrap().contains("share their compressed data"), "{body}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    // Two entries with one name: refused, not silently merged.
    let doc = std::fs::read(fixtures().join("small.xml")).unwrap();
    let mut dup = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(&mut dup));
        writer.start_file("a.xml", zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(&doc).unwrap();
        writer.finish().unwrap();
    }
    // Copy the central record so the name appears twice (zip writers refuse to).
    let dup = duplicate_central_record(&dup);
    let body = problem(post_zip(dup), 422);
    assert!(body["detail"].as_str().unwrap().contains("same name"), "{body}");
    // Past --max-batch-expanded: the documents before it are answered, then
    // one error line ends a well-formed stream.
    let docs: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("d{i}.xml"), doc.clone())).collect();
    let entries: Vec<(&str, Vec<u8>)> = docs.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let response = post_zip(zip_of(&entries));
    assert_eq!(response.status(), 200);
    let text = response.text().unwrap();
    assert!(text.ends_with('\n'), "{text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let files: Vec<&str> = lines.iter().map(|l| l["file"].as_str().unwrap()).collect();
    let last = lines.last().unwrap();
    assert_eq!(last["file"], "(batch)", "the batch line comes last: {files:?}");
    assert_eq!(last["error"]["kind"], "too-large", "{}", last);
    assert!(last["error"]["message"].as_str().unwrap().contains("--max-batch-expanded"));
    let validated = lines.iter().filter(|l| l["issues"].is_array()).count();
    assert_eq!(validated, 40_000 / doc.len(), "{files:?}");
    // A declared 1 TB body: 413 before any byte is read.
    let answer = raw(
        s.addr(),
        b"POST /v1/validate/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/zip\r\nContent-Length: 1099511627776\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // A multipart batch over the limit without a declared length (chunked):
    // 413 too, not a 200 with an error line.
    let mut stream = TcpStream::connect(s.addr()).unwrap();
    stream
        .write_all(
            b"POST /v1/validate/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\
              Content-Type: multipart/form-data; boundary=XyZ\r\n\r\n",
        )
        .unwrap();
    let head = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.xml\"\r\n\r\n";
    let _ = stream.write_all(format!("{:x}\r\n", head.len()).as_bytes());
    let _ = stream.write_all(head);
    let _ = stream.write_all(b"\r\n");
    let chunk = vec![b' '; 64 << 10];
    for _ in 0..32 {
        // The server may stop reading once it is over the limit.
        if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("--max-batch-body"), "{answer}");
}

/// `zip` with its single central record written twice (count updated).
fn duplicate_central_record(zip: &[u8]) -> Vec<u8> {
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], &0x06054b50u32.to_le_bytes());
    let size = u32::from_le_bytes(zip[eocd + 12..eocd + 16].try_into().unwrap()) as usize;
    let start = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let record = &zip[start..start + size];
    let mut out = zip[..start + size].to_vec();
    out.extend_from_slice(record);
    let mut end = zip[eocd..].to_vec();
    end[8..10].copy_from_slice(&2u16.to_le_bytes());
    end[10..12].copy_from_slice(&2u16.to_le_bytes());
    end[12..16].copy_from_slice(&((2 * size) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

#[test]
fn a_batch_past_its_deadline_ends_with_one_error_line() {
    let s =
        TestServer::start(runtime().clone(), ServerConfig::default().jobs(1).batch_deadline(Duration::from_millis(1)));
    // Enough documents that they cannot all be validated within the 1 ms
    // deadline (one takes ~0.3 ms).
    let doc = std::fs::read(fixtures().join("small.xml")).unwrap();
    let names: Vec<String> = (0..100).map(|i| format!("{i}.xml")).collect();
    let files: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (n.as_str(), doc.clone())).collect();
    let response = client()
        .post(s.url("/v1/validate/batch"))
        .header("content-type", "application/zip")
        .body(zip_of(&files))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["error"]["kind"], "deadline", "{last}");
    assert!(last["error"]["message"].as_str().unwrap().contains("--batch-deadline"));
}

#[test]
fn unknown_host_names_are_refused_and_the_page_has_strict_headers() {
    let s =
        TestServer::start(runtime().clone(), ServerConfig::default().jobs(1).public_hosts(vec!["mung.test".into()]));
    let port = s.addr().port();
    let ask = |host: &str| {
        raw(
            s.addr(),
            format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(5),
        )
    };
    // A rebinding page's request names the attacker's host.
    let evil = ask(&format!("attacker.example:{port}"));
    assert!(evil.starts_with("HTTP/1.1 421"), "{evil}");
    assert!(evil.contains("--public-host"), "{evil}");
    for ok in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), "mung.test".into(), format!("[::1]:{port}")] {
        assert!(ask(&ok).starts_with("HTTP/1.1 200"), "{ok}");
    }
    let page = client().get(s.url("/")).send().unwrap();
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let api = client().get(s.url("/openapi.json")).send().unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

#[test]
fn exit_0_is_a_success_and_unrepresentable_values_say_why() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1).allow_execute(true));
    let c = client();
    let exec = |code: &str| c.post(s.url("/v1/execute")).json(&json!({"code": code})).send().unwrap();
    let done = exec("print('bye'); import sys; sys.exit(0)");
    assert_eq!(done.status(), 200);
    let body: Value = done.json().unwrap();
    assert_eq!(body["exit_code"], 0, "{body}");
    assert_eq!(body["stdout"], "bye\n", "{body}");
    let failed = problem(exec("import sys; sys.exit(3)"), 422);
    assert_eq!(failed["exit_code"], 3, "{failed}");
    let huge = problem(exec("10**400"), 422);
    let detail = huge["detail"].as_str().unwrap();
    assert!(!detail.contains("malformed"), "{detail}");
    assert!(detail.contains("JSON") && detail.contains("str("), "{detail}");
    // A trap says what stopped the script, without a wasm backtrace.
    let trap = problem(exec("import os; os.abort()"), 422);
    assert_eq!(trap["sandbox"], "trap", "{trap}");
    let detail = trap["detail"].as_str().unwrap();
    assert!(detail.contains("trapped"), "{detail}");
    assert!(!detail.contains("backtrace") && !detail.contains("0x"), "{detail}");
}
