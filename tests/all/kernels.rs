//! The Rust mask kernels (the default, run in the component's glue with wasm
//! SIMD) against `mstudio`'s numpy implementation (the reference, run by the
//! interpreter in the same component) on random inputs: every answer — mask,
//! cut lines, bands, or typed refusal with its message — must be the same.
//! (`extraction.rs` checks the kernels against OpenCV itself.)

use std::sync::OnceLock;

use mung_runtime::{ExtractError, Mask, MaskKernels, Point, RgbaImage, Runtime};
use proptest::prelude::*;

use crate::common::runtime;

/// Cases per property: each runs the numpy reference in the sandbox.
const CASES: u32 = 40;

/// A runtime whose mask tools run the numpy reference.
fn reference() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::builder().mask_kernels(MaskKernels::Reference).build().expect("building the reference runtime")
    })
}

/// An answer in a comparable form: the value, or the error's kind and message.
fn answer<T: std::fmt::Debug>(r: Result<T, ExtractError>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(ExtractError::InvalidInput(m)) => format!("invalid input: {m}"),
        Err(ExtractError::Unsupported(m)) => format!("unsupported: {m}"),
        Err(e) => panic!("not a typed refusal: {e:?}"),
    }
}

/// A small deterministic generator, so one seed makes one picture.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Pictures like pages (light paper, dark horizontal lines longer and
/// shorter than 50 px, blobs, noise), flat areas with steps, or pure noise;
/// any alpha.
fn picture(w: usize, h: usize, style: u8, seed: u64) -> RgbaImage {
    let mut g = Gen(seed | 1);
    let paper = 170 + g.below(80) as i64;
    let lines: Vec<(usize, usize, usize, usize, i64)> = (0..g.below(6))
        .map(|_| {
            let y = g.below(h as u64) as usize;
            let x = g.below(w as u64) as usize;
            let len = 20 + g.below(120) as usize;
            (y, 1 + g.below(3) as usize, x, len, g.below(90) as i64)
        })
        .collect();
    let mut pixels = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let mut v = match style % 3 {
                0 => paper + g.below(17) as i64 - 8,
                1 => paper - 30 * ((x / 7 + y / 5) % 3) as i64,
                _ => g.below(256) as i64,
            };
            for &(ly, t, lx, len, ink) in &lines {
                if (ly..ly + t).contains(&y) && (lx..lx + len).contains(&x) {
                    v = ink + g.below(9) as i64;
                }
            }
            let v = v.clamp(0, 255) as u8;
            let tint = g.below(4) as u8;
            pixels.extend([v, v.saturating_sub(tint), v.saturating_add(tint), g.below(256) as u8]);
        }
    }
    RgbaImage::new(w as u32, h as u32, pixels).unwrap()
}

/// Masks of several wavy lines with gaps, like the stafflines tool's output.
fn lines_mask(w: usize, h: usize, seed: u64) -> Mask {
    let mut g = Gen(seed | 1);
    let n = 1 + g.below(5) as usize;
    let mut pixels = vec![0u8; w * h];
    for k in 0..n {
        let base = (k * h / n + g.below(3) as usize) as i64;
        let thick = 1 + g.below(3) as i64;
        for x in 0..w {
            if g.below(10) == 0 {
                continue;
            }
            let y0 = base + (x as i64 / 17) % 2;
            for y in y0..y0 + thick {
                if (0..h as i64).contains(&y) {
                    pixels[y as usize * w + x] = 1;
                }
            }
        }
    }
    Mask::new(w as u32, h as u32, pixels).unwrap()
}

fn points(coords: &[(i32, i32)]) -> Vec<Point> {
    coords.iter().map(|&(x, y)| Point { x, y }).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn binarize_matches_the_reference(w in 1usize..90, h in 1usize..70, style: u8, seed: u64) {
        let img = picture(w, h, style, seed);
        prop_assert_eq!(
            answer(runtime().otsu_binarize_region(img.clone())),
            answer(reference().otsu_binarize_region(img))
        );
    }

    #[test]
    fn stafflines_match_the_reference(w in 1usize..160, h in 1usize..130, style: u8, seed: u64) {
        let img = picture(w, h, style, seed);
        prop_assert_eq!(
            answer(runtime().detect_stafflines(img.clone())),
            answer(reference().detect_stafflines(img))
        );
    }

    #[test]
    fn cut_lines_and_bands_match_the_reference(
        w in 1usize..150,
        h in 1usize..60,
        seed: u64,
        (left, top) in (-3000i32..3000, -3000i32..3000),
        noise in proptest::collection::vec(proptest::collection::vec((-8i32..160, -8i32..70), 0..9), 0..4),
        far in proptest::option::weighted(0.1, (1_048_577i32..=i32::MAX, 0usize..4)),
    ) {
        let mask = lines_mask(w, h, seed);
        let ours = runtime().compute_cut_lines(mask.clone());
        let computed = ours.as_ref().ok().cloned();
        prop_assert_eq!(answer(ours), answer(reference().compute_cut_lines(mask.clone())));
        // the computed cut lines when there are some, else random ones; a
        // point beyond the polygon limit now and then
        let mut cuts = computed.unwrap_or_else(|| noise.iter().map(|l| points(l)).collect());
        if let Some((v, i)) = far {
            cuts.push(points(&[(0, 0), (v, i as i32)]));
        }
        prop_assert_eq!(
            answer(runtime().separate_lines(left, top, mask.clone(), &cuts)),
            answer(reference().separate_lines(left, top, mask, &cuts))
        );
    }

    #[test]
    fn polygons_match_the_reference(
        w in 1u32..120,
        h in 1u32..120,
        coords in proptest::collection::vec((-300i32..300, -300i32..300), 0..40),
    ) {
        let poly = points(&coords);
        prop_assert_eq!(answer(runtime().fill_polygon(w, h, &poly)), answer(reference().fill_polygon(w, h, &poly)));
    }
}

#[test]
fn refusals_match_the_reference() {
    let img = |w: u32, h: u32, n: usize| RgbaImage::new(w, h, vec![90; n]).unwrap();
    let mask = |w: u32, h: u32, v: u8| Mask::new(w, h, vec![v; (w * h) as usize]).unwrap();
    let both = |f: &dyn Fn(&Runtime) -> String| {
        let (ours, theirs) = (f(runtime()), f(reference()));
        assert!(!ours.starts_with("ok"), "{ours}");
        assert_eq!(ours, theirs);
    };
    both(&|rt| answer(rt.detect_stafflines(img(0, 3, 0))));
    both(&|rt| answer(rt.compute_cut_lines(mask(10, 10, 7))));
    both(&|rt| answer(rt.compute_cut_lines(mask(30, 20, 0))));
    both(&|rt| answer(rt.separate_lines(0, 0, mask(10, 10, 2), &[])));
    both(&|rt| answer(rt.separate_lines(i32::MAX, i32::MIN, mask(10, 10, 1), &[points(&[(i32::MIN, 0)])])));
    both(&|rt| answer(rt.fill_polygon(0, 5, &[])));
    both(&|rt| answer(rt.fill_polygon(65536, 65536, &points(&[(0, 0), (5, 5)]))));
    both(&|rt| answer(rt.fill_polygon(16, 16, &points(&[(i32::MIN, i32::MIN), (0, 3)]))));
}

#[test]
fn a_large_picture_matches_the_reference() {
    // more rows than the Gaussian's window and the bilateral filter's ring,
    // widths with every remainder of the vector blocks
    for (w, h, seed) in [(333, 250, 7u64), (129, 140, 8), (17, 300, 9)] {
        let img = picture(w, h, 0, seed);
        assert_eq!(
            answer(runtime().otsu_binarize_region(img.clone())),
            answer(reference().otsu_binarize_region(img.clone())),
            "binarize {w}×{h}"
        );
        assert_eq!(
            answer(runtime().detect_stafflines(img.clone())),
            answer(reference().detect_stafflines(img)),
            "stafflines {w}×{h}"
        );
    }
}

/// The kernels' own property tests (each fast path against its per-pixel
/// definition), built for wasm32 with SIMD as the glue builds them and run
/// under wasmtime: the vector code the component runs, not the native lanes.
#[test]
fn the_kernels_pass_their_tests_on_wasm32_with_simd() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let runner = format!("{} run", crate::wasmtime_serve::wasmtime().display());
    let out = std::process::Command::new(cargo)
        .args(["test", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(crate::common::repo().join("crates/kernels/Cargo.toml"))
        .env("CARGO_TARGET_DIR", crate::common::repo().join("target/kernels-wasm-tests"))
        .env("CARGO_TARGET_WASM32_WASIP2_RUNNER", runner)
        .env("CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS", "-C target-feature=+simd128")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("built_with_simd128 ... ok"), "{stdout}");
    assert!(stdout.contains("test result: ok."), "{stdout}");
}
