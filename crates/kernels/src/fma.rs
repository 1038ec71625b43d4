//! The fused multiply-add of float32, exactly (§2.2).

/// `a·b + c` rounded once to float32, as the FMA instruction does.
///
/// The product of two float32 is exact in float64; the float64 sum is made
/// *round to odd* with its exact error term (TwoSum), and rounding that to
/// float32 is the correctly rounded result (53 ≥ 24 + 2 bits). wasm has no
/// scalar FMA, and libm's `fmaf` is much slower than these few operations.
#[inline]
pub fn fma32(a: f32, b: f32, c: f32) -> f32 {
    let p = f64::from(a) * f64::from(b);
    let c = f64::from(c);
    let s = p + c;
    if !s.is_finite() {
        return s as f32;
    }
    let t = s - p;
    let e = (p - (s - t)) + (c - t);
    let bits = s.to_bits();
    if e == 0.0 || bits & 1 == 1 {
        return s as f32;
    }
    // s is even and inexact: its odd neighbour toward the exact value. (s is
    // never 0 here: a sum that rounds to 0 is exact.)
    let odd = if (e > 0.0) == (s > 0.0) { bits + 1 } else { bits - 1 };
    f64::from_bits(odd) as f32
}

#[cfg(test)]
mod tests {
    use super::fma32;
    use proptest::prelude::*;

    fn finite() -> impl Strategy<Value = f32> {
        any::<f32>().prop_filter("finite", |v| v.is_finite())
    }

    proptest! {
        #[test]
        fn matches_the_fused_instruction(a in finite(), b in finite(), c in finite()) {
            let want = a.mul_add(b, c);
            let got = fma32(a, b, c);
            prop_assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{a} {b} {c}: {got} vs {want}");
        }

        #[test]
        fn matches_on_the_kernels_ranges(v in 0u8..=255, w in 0f32..1.0, s in 0f32..300.0) {
            prop_assert_eq!(fma32(f32::from(v), w, s).to_bits(), f32::from(v).mul_add(w, s).to_bits());
        }
    }

    #[test]
    fn double_rounding_cases_are_fixed() {
        // 1 + 2^-24 + 2^-60 is just above a float32 midpoint: float64 rounds
        // it onto the midpoint, a second rounding would go down.
        let a = 1.0f32 + f32::EPSILON; // 1 + 2^-23
        let b = 1.0f32 + f32::EPSILON;
        // a*b = 1 + 2^-22 + 2^-46; add c to land near midpoints
        for c in [-(2f32.powi(-22)), 2f32.powi(-24), -(2f32.powi(-24)), 1.0, -1.0] {
            assert_eq!(fma32(a, b, c).to_bits(), a.mul_add(b, c).to_bits(), "c = {c}");
        }
    }
}
