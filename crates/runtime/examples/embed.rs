//! Embedding mung-runtime: validate a MuNG document, binarize a region of a
//! page image, and run a sandboxed snippet.
//!
//! ```text
//! cargo run --release --example embed -- page.xml page.png
//! ```

use std::time::Duration;

use mung_runtime::{Region, RgbaImage, Runtime};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(xml_path), image_path) = (args.next(), args.next()) else {
        eprintln!("usage: embed DOC.xml [PAGE.png]");
        std::process::exit(2);
    };

    // The first build on a machine downloads and compiles the interpreter
    // (a few minutes); later builds load it from the cache in milliseconds.
    let runtime = Runtime::builder().memory_limit(512 << 20).timeout(Duration::from_secs(30)).build()?;

    let xml = std::fs::read_to_string(&xml_path)?;
    let issues = runtime.validate(&xml)?;
    println!("{xml_path}: {} issues", issues.len());
    for issue in issues.iter().take(5) {
        println!("  {} node {}: {}", issue.code, issue.node_id, issue.message);
    }

    if let Some(image_path) = image_path {
        // Decoding is bounded like the sandbox: no page over 512 MiB as RGBA.
        let page = RgbaImage::open(&image_path, 512 << 20)?;
        let side = page.width().min(page.height()).min(200);
        let region = page.crop(Region { x: 0, y: 0, width: side, height: side })?;
        let mask = runtime.otsu_binarize_region(region)?;
        println!("{image_path}: {} ink pixels in the top-left {side}x{side}", mask.count());
    }

    // Untrusted code runs in a fresh instance with no files and no network.
    let answer = runtime.execute("sum(x * x for x in values)", &serde_json::json!({"values": [1, 2, 3]}))?;
    println!("sum of squares: {}", answer.value);
    Ok(())
}
