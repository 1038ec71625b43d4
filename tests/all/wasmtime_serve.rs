//! The portable HTTP component under the real `wasmtime serve` of
//! wasmtime-cli 48.0.8 answers like `mung-runtime serve`.
//!
//! wasmtime-cli is installed once per machine with `cargo install` into
//! `<cache>/tools/wasmtime-cli-48.0.8` (under a file lock, so parallel test
//! processes install it once; the first time takes many minutes), or taken
//! from `$MUNG_RUNTIME_WASMTIME`. Both servers listen on 127.0.0.1 only.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use mung_runtime::Runtime;
use mung_runtime_server::ServerConfig;
use reqwest::blocking::{RequestBuilder, Response};
use serde_json::json;

use crate::common::{cache, fixtures, runtime};
// `mung-runtime serve` in this process, as `serve.rs` runs it: the reference.
use crate::serve::{TestServer as NativeServer, client};

/// A wasmtime-cli binary to use instead of installing one.
const WASMTIME_ENV: &str = "MUNG_RUNTIME_WASMTIME";
/// How long the first start may take: wasmtime compiles the ~130 MB
/// component (then caches the machine code).
const START_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The `wasmtime` executable of wasmtime-cli [`mung_runtime::WASMTIME_SERVE_TESTED`].
pub(crate) fn wasmtime() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(install_wasmtime).clone()
}

fn install_wasmtime() -> PathBuf {
    let version = mung_runtime::WASMTIME_SERVE_TESTED;
    if let Some(path) = std::env::var_os(WASMTIME_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    let start = Instant::now();
    let mut installed = false;
    let binary = cache()
        .cargo_tool("wasmtime-cli", version, "wasmtime", |line| {
            installed = true;
            eprintln!("wasmtime-cli: {line} (10-40 minutes)");
        })
        .unwrap_or_else(|e| panic!("{}", mung_runtime::error_chain(&e)));
    if installed {
        eprintln!("wasmtime-cli {version}: installed in {:.0?}", start.elapsed());
    }
    binary
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `wasmtime serve` of the HTTP component, killed on drop.
struct WasmtimeServe {
    child: Child,
    addr: SocketAddr,
    _logs: tempfile::TempDir,
}

impl WasmtimeServe {
    fn start(runtime: &Runtime) -> WasmtimeServe {
        let wasmtime = wasmtime();
        let component = runtime.http_component_path().expect("the HTTP component");
        // The port may be taken between choosing and binding: try a few.
        for _ in 0..3 {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
            let logs = tempfile::tempdir().unwrap();
            let log = logs.path().join("serve.log");
            let file = std::fs::File::create(&log).unwrap();
            let child = Command::new(&wasmtime)
                .args(runtime.wasmtime_serve_args(&component, &addr.to_string()))
                .stdin(Stdio::null())
                .stdout(file.try_clone().unwrap())
                .stderr(file)
                .spawn()
                .expect("starting wasmtime serve");
            let mut serve = WasmtimeServe { child, addr, _logs: logs };
            eprintln!("wasmtime serve: starting on {addr} (the first start compiles the component)");
            let start = Instant::now();
            loop {
                if let Some(status) = serve.child.try_wait().unwrap() {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    if text.contains("Address already in use") {
                        break;
                    }
                    panic!("wasmtime serve exited with {status}:\n{text}");
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    eprintln!("wasmtime serve: ready after {:.1?}", start.elapsed());
                    return serve;
                }
                assert!(
                    start.elapsed() < START_TIMEOUT,
                    "wasmtime serve did not listen within {START_TIMEOUT:?}:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        panic!("no free port for wasmtime serve after 3 tries");
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for WasmtimeServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status, content type, the `x-mung-*` headers and the body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: String,
    mung_headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn of(response: Response) -> Answer {
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
        let content_type = header("content-type").unwrap_or_default();
        let mut mung_headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| n.as_str().starts_with("x-mung-"))
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        mung_headers.sort();
        let body = response.bytes().unwrap().to_vec();
        Answer { status, content_type, mung_headers, body }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(600)]).into_owned()
    }
}

/// Sends the same request to both servers and checks the answers are equal.
fn same(
    native: &NativeServer,
    portable: &WasmtimeServe,
    what: &str,
    request: impl Fn(&str) -> RequestBuilder,
) -> Answer {
    let a = Answer::of(request(&native.url("")).send().unwrap());
    let b = Answer::of(request(&portable.url("")).send().unwrap());
    assert_eq!(
        (a.status, &a.content_type, &a.mung_headers),
        (b.status, &b.content_type, &b.mung_headers),
        "{what}: native {} vs wasmtime serve {}",
        a.text(),
        b.text()
    );
    assert!(a.body == b.body, "{what}: the bodies differ:\nnative:   {}\nportable: {}", a.text(), b.text());
    a
}

fn post_xml(base: &str, route: &str, body: Vec<u8>) -> RequestBuilder {
    client().post(format!("{base}{route}")).header("content-type", "application/xml").body(body)
}

/// The synthetic page as PNG bytes.
fn page_png() -> Vec<u8> {
    let img = crate::common::synthetic_page();
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    png
}

#[test]
fn wasmtime_serve_answers_like_mung_runtime_serve() {
    let runtime = runtime();
    let portable = WasmtimeServe::start(runtime);
    let native = NativeServer::start(runtime.clone(), ServerConfig::default().jobs(2));

    let small = std::fs::read(fixtures().join("small.xml")).unwrap();
    let answer = same(&native, &portable, "validate small.xml", |b| post_xml(b, "/v1/validate", small.clone()));
    assert_eq!(answer.status, 200);
    let issues: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("small.expected.json")).unwrap()).unwrap();
    assert_eq!(issues["issues"], expected, "the issues MuNG Studio gives");

    let answer = same(&native, &portable, "fix small.xml", |b| post_xml(b, "/v1/fix", small.clone()));
    assert_eq!(answer.status, 200);
    assert!(answer.mung_headers.iter().any(|(n, _)| n == "x-mung-renamed"), "{:?}", answer.mung_headers);

    if cfg!(mung_shared_data) {
        let data = crate::common::shared_data();
        for doc in [
            data.join("muscima-pp-v2.0/annotations/CVC-MUSCIMA_W-01_N-10_D-ideal.xml"),
            data.join(
                "mung-samples/sandbox-data/4b494e80-4cd2-11ea-a3ba-005056827e52_89218983-dac6-4e8f-9549-05f18d613154.jpg.xml",
            ),
        ] {
            let xml = std::fs::read(&doc).unwrap();
            let what = format!("validate {}", doc.display());
            let answer = same(&native, &portable, &what, |b| post_xml(b, "/v1/validate", xml.clone()));
            assert_eq!(answer.status, 200, "{what}");
        }
    }

    // Errors: the same problem+json, detail included.
    let answer = same(&native, &portable, "malformed XML", |b| post_xml(b, "/v1/validate", b"<Nodes><Node>".to_vec()));
    assert_eq!(answer.status, 422);
    assert!(answer.content_type.starts_with("application/problem+json"), "{}", answer.content_type);
    let answer = same(&native, &portable, "not UTF-8", |b| post_xml(b, "/v1/validate", vec![0xff, 0xfe, 0x3c]));
    assert_eq!(answer.status, 422);
    let answer = same(&native, &portable, "wrong media type", |b| {
        client().post(format!("{b}/v1/fix")).header("content-type", "text/plain").body("<Nodes/>")
    });
    assert_eq!(answer.status, 415);
    let answer = same(&native, &portable, "empty body", |b| post_xml(b, "/v1/validate", Vec::new()));
    assert_eq!(answer.status, 400);

    // A region tool, with the JSON body and both answer forms.
    let image = base64::engine::general_purpose::STANDARD.encode(page_png());
    for (route, accept) in [("binarize", "application/json"), ("binarize", "image/png"), ("stafflines", "image/png")] {
        let body = json!({"image": image, "region": [10, 30, 280, 90]});
        let what = format!("{route} as {accept}");
        let answer = same(&native, &portable, &what, |b| {
            client().post(format!("{b}/v1/extract/{route}")).header("accept", accept).json(&body)
        });
        assert_eq!(answer.status, 200, "{what}: {}", answer.text());
    }
    let answer = same(&native, &portable, "region outside the image", |b| {
        client().post(format!("{b}/v1/extract/binarize")).json(&json!({"image": image, "region": "250,150,100,100"}))
    });
    assert_eq!(answer.status, 422);
}
