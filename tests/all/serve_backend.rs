//! `mung-runtime serve` as MuNG Studio's backend (issue 15, server side):
//! CORS for configured origins only, bearer tokens, and raw RGBA pixels both
//! ways, equal to the PNG path.

use mung_runtime_server::{RGBA, ServerConfig};
use reqwest::blocking::multipart;
use serde_json::{Value, json};

use crate::common::{cli, fixtures, run, runtime, show};
use crate::serve::{ServeProcess, TestServer, client, problem, xml};

const ORIGIN: &str = "http://studio.localhost:5173";
const TOKEN: &str = "0123456789abcdef-studio-token";

/// A page with dark strokes on light paper, as RGBA.
fn page() -> image::RgbaImage {
    let mut page = image::RgbaImage::from_pixel(80, 60, image::Rgba([240, 238, 230, 255]));
    for y in 12..15 {
        for x in 4..76 {
            page.put_pixel(x, y, image::Rgba([20, 20, 30, 255]));
        }
    }
    for y in 20..50 {
        for x in 30..34 {
            page.put_pixel(x, y, image::Rgba([10, 10, 10, 255]));
        }
    }
    page
}

fn png(image: &image::RgbaImage) -> Vec<u8> {
    let mut png = Vec::new();
    image::DynamicImage::ImageRgba8(image.clone())
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[test]
fn cors_answers_configured_origins_only() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1).cors_origins(vec![ORIGIN.into()]));
    let c = client();
    let preflight = |origin: &str, method: &str, headers: &str| {
        c.request(reqwest::Method::OPTIONS, s.url("/v1/extract/binarize"))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
            .unwrap()
    };
    let ok = preflight(ORIGIN, "POST", "content-type,authorization,x-mung-width,x-mung-height");
    assert!(ok.status().is_success(), "{:?}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], ORIGIN);
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for name in ["content-type", "authorization", "x-mung-width", "x-mung-height"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert_eq!(h["access-control-max-age"], "3600");
    // Every /v1 route preflights.
    for route in mung_runtime_server::ROUTES.iter().filter(|r| r.path.starts_with("/v1/")) {
        let r = c
            .request(reqwest::Method::OPTIONS, s.url(route.path))
            .header("origin", ORIGIN)
            .header("access-control-request-method", route.method.to_uppercase())
            .header("access-control-request-headers", "content-type")
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{} {}", route.path, r.status());
    }
    // Another origin gets no permission.
    let other = preflight("http://evil.localhost", "POST", "content-type");
    assert!(other.headers().get("access-control-allow-origin").is_none(), "{:?}", other.headers());
    // A real request: the origin is allowed, and the X-Mung headers exposed.
    let response = c
        .post(s.url("/v1/fix"))
        .header("origin", ORIGIN)
        .header("content-type", "application/xml")
        .body(xml(&fixtures().join("small-fixable.xml")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    for name in ["x-mung-renamed", "retry-after", "x-mung-left", "x-mung-width"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    assert_eq!(response.headers()["cross-origin-resource-policy"], "cross-origin");

    // Without a configured origin there is no CORS header at all.
    let plain = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1));
    let r = c
        .request(reqwest::Method::OPTIONS, plain.url("/v1/validate"))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .unwrap();
    assert!(r.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{:?}", r.headers());
}

#[test]
fn tokens_guard_the_call_routes_and_leave_health_open() {
    let s = TestServer::start(
        runtime().clone(),
        ServerConfig::default().jobs(1).tokens(vec![TOKEN.into(), "another-token-0123456789".into()]),
    );
    let c = client();
    let doc = xml(&fixtures().join("small.xml"));
    let post = |token: Option<&str>| {
        let mut r = c.post(s.url("/v1/validate")).header("content-type", "application/xml").body(doc.clone());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().unwrap()
    };
    let missing = post(None);
    assert_eq!(missing.headers()["www-authenticate"], r#"Bearer realm="mung-runtime""#);
    let body = problem(missing, 401);
    assert!(body["type"].as_str().unwrap().ends_with("/unauthorized"));
    let wrong = post(Some("not-a-token-of-this-server"));
    assert!(wrong.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    problem(wrong, 401);
    assert_eq!(post(Some(TOKEN)).status(), 200);
    assert_eq!(post(Some("another-token-0123456789")).status(), 200);
    // The batch and extraction routes too; health, readiness, the page and
    // the description stay open.
    let batch = c.post(s.url("/v1/validate/batch")).header("content-type", "application/zip").body("x").send().unwrap();
    problem(batch, 401);
    for open in ["/healthz", "/readyz", "/", "/openapi.json", "/metrics"] {
        assert_eq!(c.get(s.url(open)).send().unwrap().status(), 200, "{open}");
    }
}

#[test]
fn serve_refuses_a_public_address_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    // A non-loopback address that is not this machine's (RFC 5737): the
    // refusal comes before binding, and nothing could listen there anyway.
    let out = run(cli().args(["serve", "--addr", "192.0.2.1:0"]));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--token-file") && err.contains("--insecure-no-token"), "{err}");
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "short\n").unwrap();
    let out = run(cli().args(["serve", "--addr", "127.0.0.1:0", "--token-file"]).arg(&tokens));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"), "{}", show(&out));
    std::fs::write(&tokens, format!("# studio\n{TOKEN}\n")).unwrap();
    let out = run(cli().args(["serve", "--addr", "127.0.0.1:0", "--cors-origin", "*", "--token-file"]).arg(&tokens));
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    // With a token file the process serves and checks it.
    let p = ServeProcess::start(&["--token-file", tokens.to_str().unwrap()]);
    let url = format!("http://{}/v1/validate", p.addr);
    let doc = xml(&fixtures().join("small.xml"));
    let c = client();
    assert_eq!(c.post(&url).header("content-type", "application/xml").body(doc.clone()).send().unwrap().status(), 401);
    let ok = c.post(&url).bearer_auth(TOKEN).header("content-type", "application/xml").body(doc).send().unwrap();
    assert_eq!(ok.status(), 200);
}

#[test]
fn raw_rgba_in_and_out_equals_the_png_path() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(2));
    let c = client();
    let page = page();
    for tool in ["binarize", "stafflines"] {
        let url = s.url(&format!("/v1/extract/{tool}"));
        // The reference: a PNG page and a region, answered as a grey PNG.
        let form = multipart::Form::new()
            .part("image", multipart::Part::bytes(png(&page)).file_name("page.png"))
            .text("region", "2,8,70,45");
        let reference = c.post(&url).multipart(form).send().unwrap();
        assert_eq!(reference.status(), 200);
        let reference = image::load_from_memory(&reference.bytes().unwrap()).unwrap().to_luma8();
        // Raw pixels of the whole page, the region in the query; raw back.
        let raw = c
            .post(format!("{url}?region=2,8,70,45"))
            .header("content-type", RGBA)
            .header("accept", RGBA)
            .header("x-mung-width", page.width())
            .header("x-mung-height", page.height())
            .body(page.as_raw().clone())
            .send()
            .unwrap();
        assert_eq!(raw.status(), 200, "{tool}");
        let h = raw.headers().clone();
        assert_eq!(h["content-type"], RGBA);
        assert_eq!((h["x-mung-width"].to_str().unwrap(), h["x-mung-height"].to_str().unwrap()), ("70", "45"));
        assert_eq!((h["x-mung-left"].to_str().unwrap(), h["x-mung-top"].to_str().unwrap()), ("2", "8"));
        assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
        let pixels = raw.bytes().unwrap();
        assert_eq!(pixels.len(), 70 * 45 * 4);
        let mut ink = 0;
        for (rgba, grey) in pixels.chunks_exact(4).zip(reference.pixels()) {
            let inside = grey.0[0] == 255;
            let expected = if inside { [255, 0, 0, 255] } else { [0, 0, 0, 0] };
            assert_eq!(rgba, expected, "{tool}: MuNG Studio's mask convention, equal to the PNG path");
            ink += usize::from(inside);
        }
        assert!(ink > 0, "{tool} found ink");
        // The region itself as raw pixels, size in the query.
        let crop = image::imageops::crop_imm(&page, 2, 8, 70, 45).to_image();
        let again = c
            .post(format!("{url}?width=70&height=45"))
            .header("content-type", RGBA)
            .header("accept", RGBA)
            .body(crop.into_raw())
            .send()
            .unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(again.bytes().unwrap(), pixels, "{tool}: the same mask from the cropped region");
    }
    // Wrong sizes are refused: a short body (400), no size (400), too big (413).
    let short = c
        .post(s.url("/v1/extract/binarize?width=10&height=10"))
        .header("content-type", RGBA)
        .body(vec![0u8; 399])
        .send()
        .unwrap();
    assert!(problem(short, 400)["detail"].as_str().unwrap().contains("expected 400"));
    let unsized_ =
        c.post(s.url("/v1/extract/binarize")).header("content-type", RGBA).body(vec![0u8; 16]).send().unwrap();
    assert!(problem(unsized_, 400)["detail"].as_str().unwrap().contains("X-Mung-Width"));
    let huge = c
        .post(s.url("/v1/extract/binarize?width=100000&height=100000"))
        .header("content-type", RGBA)
        .body(vec![0u8; 16])
        .send()
        .unwrap();
    problem(huge, 413);
}

#[test]
fn cut_lines_take_raw_rgba_masks_and_errors_carry_the_bare_message() {
    let s = TestServer::start(runtime().clone(), ServerConfig::default().jobs(1));
    let c = client();
    // Two horizontal lines of ink in MuNG Studio's colours.
    let (w, h) = (40usize, 24usize);
    let mut rgba = vec![0u8; w * h * 4];
    let mut bits = vec![0u8; w * h];
    for x in 0..w {
        for y in [5, 17] {
            rgba[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[255, 0, 0, 255]);
            bits[y * w + x] = 1;
        }
    }
    let raw: Value = c
        .post(s.url("/v1/extract/cut-lines"))
        .header("content-type", RGBA)
        .header("x-mung-width", w)
        .header("x-mung-height", h)
        .body(rgba)
        .send()
        .unwrap()
        .json()
        .unwrap();
    use base64::Engine as _;
    let mask = json!({"width": w, "height": h, "pixels": base64::engine::general_purpose::STANDARD.encode(&bits)});
    let reference: Value =
        c.post(s.url("/v1/extract/cut-lines")).json(&json!({ "mask": mask })).send().unwrap().json().unwrap();
    assert_eq!(raw, reference);
    assert_eq!(raw["cut_lines"].as_array().unwrap().len(), 1, "{raw}");
    // An empty mask has no lines to cut between: 422 with the bare message.
    let empty = c
        .post(s.url("/v1/extract/cut-lines?width=8&height=8"))
        .header("content-type", RGBA)
        .body(vec![0u8; 8 * 8 * 4])
        .send()
        .unwrap();
    let body = problem(empty, 422);
    let message = body["message"].as_str().expect("a message member");
    assert!(!message.is_empty() && !message.starts_with("invalid input"), "{body}");
    assert!(body["detail"].as_str().unwrap().ends_with(message), "{body}");
}
