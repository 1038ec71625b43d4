//! The iteration order of a 64-bit CPython 3.11/3.12 `set` of `(int, int)` tuples
//! (validation spec §4.7), as emulated by `mstudio.validation.edgeorder`.

use std::collections::HashSet;

const MODULUS: u64 = (1 << 61) - 1;
const P1: u64 = 11_400_714_785_074_694_791;
const P2: u64 = 14_029_467_366_897_019_727;
const P5: u64 = 2_870_177_450_012_600_261;
const TAIL2: u64 = 2 ^ P5 ^ 3_527_539;
const MINSIZE: usize = 8;
const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

/// CPython's `hash(v)` for an int on a 64-bit build, as an unsigned 64-bit value.
pub(crate) fn int_hash(v: i64) -> u64 {
    let m = i128::from(MODULUS);
    let v = i128::from(v);
    let h = if v >= 0 {
        v % m
    } else {
        let h = -((-v) % m);
        if h == -1 { -2 } else { h }
    };
    // two's complement modulo 2**64
    h as i64 as u64
}

/// CPython's `hash((a, b))` (xxHash-based tuple hash), unsigned.
pub(crate) fn pair_hash(a: i64, b: i64) -> u64 {
    let mut acc = P5;
    for lane in [int_hash(a), int_hash(b)] {
        acc = acc.wrapping_add(lane.wrapping_mul(P2));
        acc = acc.rotate_left(31);
        acc = acc.wrapping_mul(P1);
    }
    acc = acc.wrapping_add(TAIL2);
    if acc == u64::MAX { 1_546_275_796 } else { acc }
}

fn probe(table: &mut [isize], mask: usize, h: u64, k: isize) {
    let mut i = (h as usize) & mask;
    let mut perturb = h;
    loop {
        if table[i] < 0 {
            table[i] = k;
            return;
        }
        if i + LINEAR_PROBES <= mask
            && let Some(slot) = table[i + 1..=i + LINEAR_PROBES].iter_mut().find(|s| **s < 0)
        {
            *slot = k;
            return;
        }
        perturb >>= PERTURB_SHIFT;
        i = ((i as u64).wrapping_mul(5).wrapping_add(1).wrapping_add(perturb) as usize) & mask;
    }
}

/// Iteration order (indices into `hashes`) of a CPython set into which distinct keys
/// with these hashes were added in order.
pub(crate) fn set_order(hashes: &[u64]) -> Vec<usize> {
    let mut mask = MINSIZE - 1;
    let mut table: Vec<isize> = vec![-1; MINSIZE];
    let mut used = 0usize;
    for (k, &h) in hashes.iter().enumerate() {
        let i = (h as usize) & mask;
        if table[i] < 0 {
            table[i] = k as isize;
        } else {
            probe(&mut table, mask, h, k as isize);
        }
        used += 1;
        if used * 5 >= mask * 3 {
            let target = if used > 50_000 { used * 2 } else { used * 4 };
            let mut size = MINSIZE;
            while size <= target {
                size <<= 1;
            }
            let old = std::mem::replace(&mut table, vec![-1; size]);
            mask = size - 1;
            for k2 in old {
                if k2 >= 0 {
                    let h2 = hashes[k2 as usize];
                    let i = (h2 as usize) & mask;
                    if table[i] < 0 {
                        table[i] = k2;
                    } else {
                        probe(&mut table, mask, h2, k2);
                    }
                }
            }
        }
    }
    table.into_iter().filter(|&k| k >= 0).map(|k| k as usize).collect()
}

/// The distinct pairs (first occurrence kept) in `set(pairs)` iteration order.
pub(crate) fn ordered_pairs(pairs: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut seen = HashSet::with_capacity(pairs.len());
    let uniq: Vec<(i64, i64)> = pairs.iter().copied().filter(|p| seen.insert(*p)).collect();
    if uniq.len() < 2 {
        return uniq;
    }
    let hashes: Vec<u64> = uniq.iter().map(|&(a, b)| pair_hash(a, b)).collect();
    set_order(&hashes).into_iter().map(|k| uniq[k]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_cpython() {
        // values printed by 64-bit CPython 3.11: hash(-1), hash(-2), hash(2**61 - 1)
        assert_eq!(int_hash(-1) as i64, -2);
        assert_eq!(int_hash(-2) as i64, -2);
        assert_eq!(int_hash((1 << 61) - 1), 0);
        assert_eq!(int_hash(i64::MIN) as i64, -4);
        assert_eq!(pair_hash(0, 30), 727_260_303_880_965_761);
        assert_eq!(pair_hash(-5, 30) as i64, -3_344_051_966_909_712_478);
        assert_eq!(pair_hash(-1, -1), 960_947_337_673_586_213);
        assert_eq!(pair_hash(i64::MAX, i64::MIN), 3_417_692_881_334_962_393);
    }

    #[test]
    fn set_order_matches_cpython() {
        // list({(i*7919 % 101, i) for i in range(40)})[:12] on 64-bit CPython 3.11
        let pairs: Vec<(i64, i64)> = (0..40).map(|i| (i * 7919 % 101, i)).collect();
        let got = ordered_pairs(&pairs);
        assert_eq!(
            &got[..12],
            &[
                (100, 32),
                (84, 39),
                (43, 38),
                (78, 29),
                (21, 35),
                (62, 36),
                (6, 10),
                (15, 25),
                (2, 37),
                (22, 3),
                (31, 18),
                (72, 19)
            ]
        );
    }
}
