//! OpenCV's `THRESH_OTSU` on 8-bit images (§2.6).

/// Counts of the values 0..=255.
pub fn histogram(pixels: &[u8]) -> [u32; 256] {
    // Four partial histograms: consecutive equal values do not wait for
    // each other's increments.
    let mut h = [[0u32; 256]; 4];
    let mut chunks = pixels.chunks_exact(4);
    for c in &mut chunks {
        h[0][usize::from(c[0])] += 1;
        h[1][usize::from(c[1])] += 1;
        h[2][usize::from(c[2])] += 1;
        h[3][usize::from(c[3])] += 1;
    }
    for &v in chunks.remainder() {
        h[0][usize::from(v)] += 1;
    }
    core::array::from_fn(|i| h[0][i] + h[1][i] + h[2][i] + h[3][i])
}

/// The Otsu threshold `t` of a histogram (at least one pixel): the first
/// maximum of the between-class variance, in float64 as OpenCV computes it.
/// `t` is 0 when no split has two non-empty classes.
pub fn threshold(hist: &[u32; 256]) -> u8 {
    let n: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    let scale = 1.0 / n as f64;
    let mut mu = 0.0;
    for (i, &c) in hist.iter().enumerate() {
        mu += i as f64 * f64::from(c);
    }
    mu *= scale;
    let eps = f64::from(f32::EPSILON);
    let (mut q1, mut mu1, mut best, mut t) = (0.0f64, 0.0f64, 0.0f64, 0u8);
    for (i, &c) in hist.iter().enumerate() {
        let p = f64::from(c) * scale;
        mu1 *= q1;
        q1 += p;
        let q2 = 1.0 - q1;
        if q1.min(q2) < eps || q1.max(q2) > 1.0 - eps {
            continue;
        }
        mu1 = (mu1 + i as f64 * p) / q1;
        let mu2 = (mu - q1 * mu1) / q2;
        let d = mu2 - mu1;
        let sigma = ((q1 * q2) * d) * d;
        if sigma > best {
            best = sigma;
            t = i as u8;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edge_cases() {
        let mut h = [0u32; 256];
        h[200] = 10;
        assert_eq!(threshold(&h), 0, "uniform: no split");
        h[10] = 10;
        assert_eq!(threshold(&h), 10);
    }

    proptest! {
        #[test]
        fn histogram_counts_every_value(px in proptest::collection::vec(any::<u8>(), 0..300)) {
            let h = histogram(&px);
            for v in 0..=255u8 {
                prop_assert_eq!(h[usize::from(v)] as usize, px.iter().filter(|&&p| p == v).count());
            }
        }
    }
}
