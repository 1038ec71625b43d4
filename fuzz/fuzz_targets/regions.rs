//! Host-side parsing of `--region` and `--polygon` (no sandbox: fast).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mung_runtime::{Point, Region};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(region) = text.parse::<Region>() {
        assert_eq!(region.to_string().parse::<Region>(), Ok(region));
    }
    if let Ok(points) = Point::parse_list(text, 3) {
        assert!(points.len() >= 3);
    }
});
