//! The hot kernels of mung-runtime's mask tools, bit-identical to OpenCV 4.10
//! with IPP off (the project's extraction spec, §2 and §3.1–§3.4), in Rust.
//!
//! They are built into the glue component for `wasm32` with `simd128`, so the
//! pixels of a page are processed inside the sandbox; the same code builds
//! natively (with plain lanes instead of wasm vectors) for the tests.
//! `mstudio.extraction` (numpy) stays the reference they are checked against.
//!
//! Two kernels are defined by long chains of float32 roundings (the 13-tap
//! bilateral filter and the 101-tap Gaussian). Both use *filter then verify*,
//! as the numpy reference does: a fast float32 estimate with a rigorous bound
//! on its distance from the exact result decides almost every pixel; the few
//! pixels it cannot decide are recomputed with the exact sequence of
//! roundings. Each kernel module also has the plain per-pixel definition
//! (`exact`), which the tests compare the fast path with.
//!
//! * [`lightness`] — the L channel of RGB→HLS (§2.1)
//! * [`bilateral`] — `bilateralFilter(d=5, σ=25, 25)` (§2.5)
//! * [`otsu`] — histogram and Otsu threshold (§2.6)
//! * [`closing`] — grayscale closing with a 50×1 rectangle (§2.3)
//! * [`gaussian`] — the 101×101 Gaussian local mean and the stafflines decision (§2.4, §3.2)
//! * [`polygon`] — OpenCV's `fillPoly` (§2.7)
//! * [`runs`] — column runs, cut lines and bands (§2.8, §3.3, §3.4)
//! * [`tools`] — the region tools themselves, with the reference's input checks

#![deny(missing_docs)]

pub mod bilateral;
pub mod closing;
mod fma;
pub mod gaussian;
pub mod lightness;
pub mod otsu;
pub mod polygon;
pub mod runs;
mod simd;
pub mod tools;

pub use fma::fma32;
pub use tools::{Image, Mask, ToolError};

#[cfg(test)]
mod tests {
    /// The wasm build of these tests must exercise the vector code.
    #[test]
    #[cfg(target_arch = "wasm32")]
    fn built_with_simd128() {
        assert!(cfg!(target_feature = "simd128"), "build with -C target-feature=+simd128");
    }
}
