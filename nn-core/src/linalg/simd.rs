//! One SIMD register's worth of `f32` lanes, and the few operations the kernels use.
//!
//! The kernels in [`super::kernels`] are written once against [`Simd`] and instantiated per
//! instruction set. Every method is `#[inline(always)]`, so inside a `#[target_feature]` entry
//! point (see [`super::x86`]) each call compiles to the one instruction it names.

/// Lanes of `f32` held in one register, with loads and stores that may be partial.
pub(super) trait Simd {
    /// How many `f32` fit in one register.
    const LANES: usize;
    /// Whether the kernels may call into a function of their own that is not inlined: only
    /// when `Self` needs no target feature, since a function compiled without the caller's
    /// `#[target_feature]` would not inline the intrinsics.
    const OUTLINE: bool = false;
    /// The register type.
    type V: Copy;

    /// All lanes zero.
    ///
    /// # Safety
    /// The CPU supports the instruction set of `Self`.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    ///
    /// # Safety
    /// As for [`Simd::zero`].
    unsafe fn splat(x: f32) -> Self::V;
    /// Loads `LANES` values from `p`.
    ///
    /// # Safety
    /// As for [`Simd::zero`], and `p..p + LANES` is readable.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Loads the first `count` lanes from `p` (`count <= LANES`) and zeroes the rest. Reads
    /// nothing at or past `p + count`, so `p` itself may be out of bounds when `count == 0`.
    ///
    /// # Safety
    /// As for [`Simd::zero`], and `p..p + count` is readable.
    unsafe fn load_first(p: *const f32, count: usize) -> Self::V;
    /// Stores all lanes to `p`.
    ///
    /// # Safety
    /// As for [`Simd::zero`], and `p..p + LANES` is writable.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Stores the first `count` lanes to `p` (`count <= LANES`), touching nothing past them.
    ///
    /// # Safety
    /// As for [`Simd::zero`], and `p..p + count` is writable.
    unsafe fn store_first(p: *mut f32, v: Self::V, count: usize);
    /// `a · b + c`, fused where the instruction set has it.
    ///
    /// # Safety
    /// As for [`Simd::zero`].
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise `a · b`.
    ///
    /// # Safety
    /// As for [`Simd::zero`].
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// The sum of all lanes.
    ///
    /// # Safety
    /// As for [`Simd::zero`].
    unsafe fn sum(v: Self::V) -> f32;
}

/// Plain Rust on eight-lane arrays: runs everywhere, and LLVM vectorizes it for whatever the
/// build targets (SSE2 on baseline x86-64, NEON on aarch64).
pub(super) struct Portable;

impl Portable {
    const WIDTH: usize = 8;
}

impl Simd for Portable {
    const LANES: usize = Self::WIDTH;
    const OUTLINE: bool = true;
    type V = [f32; Self::WIDTH];

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; Self::WIDTH]
    }

    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        [x; Self::WIDTH]
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees `p..p + LANES` is readable; `read_unaligned` because
        // `p` is only `f32`-aligned.
        unsafe { p.cast::<Self::V>().read_unaligned() }
    }

    #[inline(always)]
    unsafe fn load_first(p: *const f32, count: usize) -> Self::V {
        let mut v = [0.0; Self::WIDTH];
        for (lane, slot) in v.iter_mut().enumerate().take(count) {
            // SAFETY: `lane < count`, and the caller guarantees `p..p + count` is readable.
            *slot = unsafe { p.add(lane).read() };
        }
        v
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller guarantees `p..p + LANES` is writable.
        unsafe { p.cast::<Self::V>().write_unaligned(v) }
    }

    #[inline(always)]
    unsafe fn store_first(p: *mut f32, v: Self::V, count: usize) {
        for (lane, &x) in v.iter().enumerate().take(count) {
            // SAFETY: `lane < count`, and the caller guarantees `p..p + count` is writable.
            unsafe { p.add(lane).write(x) };
        }
    }

    #[inline(always)]
    unsafe fn mul_add(a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        // Unfused: `f32::mul_add` needs std or a slow libm call on targets without FMA.
        core::array::from_fn(|lane| a[lane] * b[lane] + c[lane])
    }

    #[inline(always)]
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V {
        core::array::from_fn(|lane| a[lane] * b[lane])
    }

    #[inline(always)]
    unsafe fn sum(v: Self::V) -> f32 {
        // Pairwise, as a vector unit would: ((0+4)+(2+6)) + ((1+5)+(3+7)).
        let half: [f32; 4] = core::array::from_fn(|lane| v[lane] + v[lane + 4]);
        (half[0] + half[2]) + (half[1] + half[3])
    }
}
