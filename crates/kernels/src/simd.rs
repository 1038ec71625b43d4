//! The few vector operations the kernels use: wasm `simd128` vectors when
//! built for it, plain arrays of lanes otherwise (native tests), with the
//! same IEEE semantics lane for lane, so both builds compute identical bits.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// Four float32 lanes.
    #[derive(Clone, Copy)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            Self(f32x4_splat(v))
        }
        /// The first four values of `s`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            let s = &s[..4];
            // SAFETY: four floats are in bounds; wasm loads need no alignment.
            Self(unsafe { v128_load(s.as_ptr().cast()) })
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            let s = &mut s[..4];
            // SAFETY: as in `load`.
            unsafe { v128_store(s.as_mut_ptr().cast(), self.0) }
        }
        /// Four floats at `p`.
        ///
        /// # Safety
        /// `p..p + 4` is readable.
        #[inline(always)]
        pub unsafe fn load_ptr(p: *const f32) -> Self {
            // SAFETY: the caller keeps the four floats readable.
            Self(unsafe { v128_load(p.cast()) })
        }
        /// Four floats at `p`, read with a volatile load.
        ///
        /// # Safety
        /// `p..p + 4` is readable.
        #[inline(always)]
        pub unsafe fn load_volatile(p: *const f32) -> Self {
            /// A vector at a float's alignment.
            #[repr(C, packed(4))]
            #[derive(Clone, Copy)]
            struct Floats(v128);
            // SAFETY: the caller keeps the four floats readable; `Floats`
            // needs only the alignment of `f32`.
            Self(unsafe { core::ptr::read_volatile(p.cast::<Floats>()) }.0)
        }
        /// The first four bytes of `s` as floats.
        #[inline(always)]
        pub fn from_u8(s: &[u8]) -> Self {
            let s = &s[..4];
            // SAFETY: four bytes are in bounds.
            let v = unsafe { v128_load32_zero(s.as_ptr().cast()) };
            Self(f32x4_convert_u32x4(u32x4_extend_low_u16x8(u16x8_extend_low_u8x16(v))))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(f32x4_abs(self.0))
        }
        /// Bit `i` set where lane `i` of self ≥ lane `i` of `o`.
        #[inline(always)]
        pub fn ge_mask(self, o: Self) -> u32 {
            u32::from(i32x4_bitmask(f32x4_ge(self.0, o.0)) as u8)
        }
        /// Bit `i` set where lane `i` of self > lane `i` of `o`.
        #[inline(always)]
        pub fn gt_mask(self, o: Self) -> u32 {
            u32::from(i32x4_bitmask(f32x4_gt(self.0, o.0)) as u8)
        }
        /// The four lanes.
        #[inline(always)]
        pub fn to_lanes(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
        /// The low byte of each lane's bits, stored as four bytes.
        #[inline(always)]
        pub fn store_low_bytes(self, s: &mut [u8]) {
            let s = &mut s[..4];
            let b = i8x16_shuffle::<0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12>(self.0, self.0);
            // SAFETY: four bytes are in bounds.
            unsafe { v128_store32_lane::<0>(b, s.as_mut_ptr().cast()) }
        }
    }

    /// Sixteen byte lanes.
    #[derive(Clone, Copy)]
    pub struct U8x16(v128);

    impl U8x16 {
        #[inline(always)]
        pub fn splat(v: u8) -> Self {
            Self(u8x16_splat(v))
        }
        #[inline(always)]
        pub fn load(s: &[u8]) -> Self {
            let s = &s[..16];
            // SAFETY: sixteen bytes are in bounds; no alignment needed.
            Self(unsafe { v128_load(s.as_ptr().cast()) })
        }
        #[inline(always)]
        pub fn store(self, s: &mut [u8]) {
            let s = &mut s[..16];
            // SAFETY: as in `load`.
            unsafe { v128_store(s.as_mut_ptr().cast(), self.0) }
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(u8x16_max(self.0, o.0))
        }
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            Self(u8x16_min(self.0, o.0))
        }
        /// `|self − o|` lane by lane.
        #[inline(always)]
        pub fn abs_diff(self, o: Self) -> Self {
            Self(v128_or(u8x16_sub_sat(self.0, o.0), u8x16_sub_sat(o.0, self.0)))
        }
        /// 1 where self ≤ o, else 0.
        #[inline(always)]
        pub fn le_01(self, o: Self) -> Self {
            Self(v128_and(u8x16_le(self.0, o.0), u8x16_splat(1)))
        }
        /// Bit `i` set where lane `i` of self ≥ lane `i` of `o`.
        #[inline(always)]
        pub fn ge_bits(self, o: Self) -> u32 {
            u32::from(u8x16_bitmask(u8x16_ge(self.0, o.0)))
        }
        /// The largest lane.
        #[inline(always)]
        pub fn max_lane(self) -> u8 {
            let mut v = self.0;
            v = u8x16_max(v, i8x16_shuffle::<8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7>(v, v));
            v = u8x16_max(v, i8x16_shuffle::<4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3>(v, v));
            v = u8x16_max(v, i8x16_shuffle::<2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1>(v, v));
            v = u8x16_max(v, i8x16_shuffle::<1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0>(v, v));
            u8x16_extract_lane::<0>(v)
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    /// Four float32 lanes.
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    impl F32x4 {
        #[inline(always)]
        fn map(self, o: Self, f: impl Fn(f32, f32) -> f32) -> Self {
            Self(core::array::from_fn(|i| f(self.0[i], o.0[i])))
        }
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            Self([v; 4])
        }
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            Self(s[..4].try_into().unwrap())
        }
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            s[..4].copy_from_slice(&self.0);
        }
        /// Four floats at `p`.
        ///
        /// # Safety
        /// `p..p + 4` is readable.
        #[inline(always)]
        pub unsafe fn load_ptr(p: *const f32) -> Self {
            // SAFETY: the caller keeps the four floats readable.
            Self(unsafe { p.cast::<[f32; 4]>().read_unaligned() })
        }
        /// Four floats at `p` (volatile only in the wasm build, where it
        /// orders the loads).
        ///
        /// # Safety
        /// `p..p + 4` is readable.
        #[inline(always)]
        pub unsafe fn load_volatile(p: *const f32) -> Self {
            // SAFETY: the caller keeps the four floats readable.
            unsafe { Self::load_ptr(p) }
        }
        #[inline(always)]
        pub fn from_u8(s: &[u8]) -> Self {
            Self(core::array::from_fn(|i| f32::from(s[i])))
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            self.map(o, |a, b| a + b)
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            self.map(o, |a, b| a - b)
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            self.map(o, |a, b| a * b)
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            self.map(o, |a, b| a / b)
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(self.0.map(f32::abs))
        }
        #[inline(always)]
        pub fn ge_mask(self, o: Self) -> u32 {
            (0..4).map(|i| u32::from(self.0[i] >= o.0[i]) << i).sum()
        }
        #[inline(always)]
        pub fn gt_mask(self, o: Self) -> u32 {
            (0..4).map(|i| u32::from(self.0[i] > o.0[i]) << i).sum()
        }
        #[inline(always)]
        pub fn to_lanes(self) -> [f32; 4] {
            self.0
        }
        #[inline(always)]
        pub fn store_low_bytes(self, s: &mut [u8]) {
            for (b, v) in s[..4].iter_mut().zip(self.0) {
                *b = v.to_bits() as u8;
            }
        }
    }

    /// Sixteen byte lanes.
    #[derive(Clone, Copy)]
    pub struct U8x16([u8; 16]);

    impl U8x16 {
        #[inline(always)]
        fn map(self, o: Self, f: impl Fn(u8, u8) -> u8) -> Self {
            Self(core::array::from_fn(|i| f(self.0[i], o.0[i])))
        }
        #[inline(always)]
        pub fn splat(v: u8) -> Self {
            Self([v; 16])
        }
        #[inline(always)]
        pub fn load(s: &[u8]) -> Self {
            Self(s[..16].try_into().unwrap())
        }
        #[inline(always)]
        pub fn store(self, s: &mut [u8]) {
            s[..16].copy_from_slice(&self.0);
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            self.map(o, u8::max)
        }
        #[inline(always)]
        pub fn min(self, o: Self) -> Self {
            self.map(o, u8::min)
        }
        #[inline(always)]
        pub fn abs_diff(self, o: Self) -> Self {
            self.map(o, u8::abs_diff)
        }
        #[inline(always)]
        pub fn le_01(self, o: Self) -> Self {
            self.map(o, |a, b| u8::from(a <= b))
        }
        #[inline(always)]
        pub fn ge_bits(self, o: Self) -> u32 {
            (0..16).map(|i| u32::from(self.0[i] >= o.0[i]) << i).sum()
        }
        #[inline(always)]
        pub fn max_lane(self) -> u8 {
            self.0.into_iter().max().unwrap_or(0)
        }
    }
}

pub(crate) use imp::{F32x4, U8x16};
