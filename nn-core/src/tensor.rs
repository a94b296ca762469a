//! Const-generic tensors of rank 1 to 4.
//!
//! Every tensor owns a flat, row-major run of exactly the product of its dims, created zeroed on
//! the heap and starting on a 64-byte boundary: a cache line, so that no row load of the matmul
//! kernels straddles two lines because of where the allocator put a tensor. The dims live only
//! in the type, so `Tensor2<64, 784>` and `Tensor2<64, 100>` are different types and a mix-up
//! fails under `cargo check`:
//!
//! ```compile_fail,E0308
//! use nn_core::tensor::Tensor2;
//! fn wants_784<const B: usize>(_x: &Tensor2<B, 784>) {}
//! wants_784(&Tensor2::<64, 100>::zeros()); // expected `784`, found `100`
//! ```
//!
//! Large tensors are never built by value: a `[[f32; 784]; 128]` on the stack would overflow a
//! test thread in debug builds.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::{Index, IndexMut};

use crate::error::Error;

/// Operations shared by every tensor type, used by generic layers, losses and optimizers.
pub trait Tensor: Sized {
    /// The dims, outermost first.
    const SHAPE: &'static [usize];
    /// The number of elements (the product of [`Tensor::SHAPE`]).
    const LEN: usize;

    /// A tensor of zeros, allocated once on the heap.
    fn zeros() -> Self;
    /// The elements in row-major order.
    fn as_slice(&self) -> &[f32];
    /// The elements in row-major order, mutably.
    fn as_mut_slice(&mut self) -> &mut [f32];

    /// Builds a tensor from a slice of exactly [`Tensor::LEN`] elements.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the slice has another length.
    fn try_from_slice(values: &[f32]) -> Result<Self, Error> {
        check_len(Self::LEN, values.len())?;
        let mut t = Self::zeros();
        t.as_mut_slice().copy_from_slice(values);
        Ok(t)
    }

    /// Copies every element of `other` into `self` (no allocation).
    fn copy_from(&mut self, other: &Self) {
        self.as_mut_slice().copy_from_slice(other.as_slice());
    }

    /// Sets every element to `value`.
    fn fill(&mut self, value: f32) {
        self.as_mut_slice().fill(value);
    }
}

/// Makes a value of a workspace type: a tensor of zeros, `()` for layers that cache nothing, or
/// a generated tape. Training buffers are made once with this and then reused.
pub trait Zeroed {
    /// A new, zeroed value.
    fn zeroed() -> Self;
}

impl Zeroed for () {
    fn zeroed() -> Self {}
}

fn check_len(expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch { expected, found })
    }
}

/// Values that start on a 64-byte boundary: a cache line, and a whole AVX-512 register.
///
/// The matmul kernels load whole registers along a row. A row that starts inside a cache line
/// makes every other 32-byte load (AVX2) or every 64-byte load (AVX-512) touch two lines; where a
/// tensor lands is the allocator's choice (glibc puts a large block 16 bytes past a page
/// boundary), so the same product ran 10 to 40 % slower from one allocation to the next.
/// The heap gives no alignment beyond `f32`'s without `unsafe`, so the storage has up to 15
/// values of slack before the first one, found from the buffer's address when it is made (a
/// boxed slice never moves its values).
#[derive(Debug)]
pub(crate) struct Aligned {
    buffer: Box<[f32]>,
    start: usize,
    len: usize,
}

/// Values of slack an [`Aligned`] needs at most.
const SLACK: usize = 15;

impl Aligned {
    /// `len` copies of `value`.
    pub(crate) fn filled(len: usize, value: f32) -> Self {
        let buffer = vec![value; len + SLACK].into_boxed_slice();
        Self::within(buffer, len)
    }

    /// A copy of `values`.
    fn copied(values: &[f32]) -> Self {
        let mut aligned = Self::filled(values.len(), 0.0);
        aligned.as_mut_slice().copy_from_slice(values);
        aligned
    }

    /// `values` itself when it starts on a boundary, else an aligned copy.
    fn from_vec(values: Vec<f32>) -> Self {
        if (values.as_ptr() as usize).is_multiple_of(64) {
            let len = values.len();
            Self {
                buffer: values.into_boxed_slice(),
                start: 0,
                len,
            }
        } else {
            Self::copied(&values)
        }
    }

    /// The first `len` values of `buffer` from its first 64-byte boundary.
    fn within(buffer: Box<[f32]>, len: usize) -> Self {
        let misalignment = buffer.as_ptr() as usize % 64;
        let start = (64 - misalignment) % 64 / core::mem::size_of::<f32>();
        Self { buffer, start, len }
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buffer[self.start..][..self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buffer[self.start..][..self.len]
    }

    fn into_vec(self) -> Vec<f32> {
        if self.start == 0 && self.buffer.len() == self.len {
            self.buffer.into_vec()
        } else {
            self.as_slice().to_vec()
        }
    }
}

impl core::ops::Deref for Aligned {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

impl core::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.as_mut_slice()
    }
}

impl Clone for Aligned {
    fn clone(&self) -> Self {
        Self::copied(self.as_slice())
    }
}

impl PartialEq for Aligned {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

fn zeroed_storage(len: usize) -> Aligned {
    Aligned::filled(len, 0.0)
}

macro_rules! define_tensor {
    (
        $(#[$doc:meta])*
        $name:ident, rank $rank:literal, [$($dim:ident),+], [$($idx:ident),+]
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq)]
        pub struct $name<$(const $dim: usize),+> {
            data: Aligned,
        }

        impl<$(const $dim: usize),+> $name<$($dim),+> {
            /// The number of elements.
            pub const LEN: usize = 1 $(* $dim)+;
            /// The dims, outermost first.
            pub const DIMS: [usize; $rank] = [$($dim),+];

            /// A tensor of zeros, allocated once on the heap.
            pub fn zeros() -> Self {
                Self { data: zeroed_storage(Self::LEN) }
            }

            /// A tensor with every element set to `value`.
            pub fn full(value: f32) -> Self {
                Self { data: Aligned::filled(Self::LEN, value) }
            }

            /// Builds a tensor from a slice of exactly `LEN` elements, in row-major order.
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when the slice has another length.
            pub fn from_slice(values: &[f32]) -> Result<Self, Error> {
                <Self as Tensor>::try_from_slice(values)
            }

            /// Takes a `Vec` of exactly `LEN` elements: without copying when it starts on a
            /// 64-byte boundary, else copied once to one (see [the module docs](self)).
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when the `Vec` has another length.
            pub fn from_vec(values: Vec<f32>) -> Result<Self, Error> {
                check_len(Self::LEN, values.len())?;
                Ok(Self { data: Aligned::from_vec(values) })
            }

            /// Builds a tensor by calling `f` with each index, in row-major order.
            pub fn from_fn(mut f: impl FnMut([usize; $rank]) -> f32) -> Self {
                let mut t = Self::zeros();
                for (flat, value) in t.data.as_mut_slice().iter_mut().enumerate() {
                    *value = f(Self::unravel(flat));
                }
                t
            }

            /// The dims, outermost first.
            pub const fn shape(&self) -> [usize; $rank] {
                Self::DIMS
            }

            /// The elements in row-major order.
            pub fn as_slice(&self) -> &[f32] {
                self.data.as_slice()
            }

            /// The elements in row-major order, mutably.
            pub fn as_mut_slice(&mut self) -> &mut [f32] {
                self.data.as_mut_slice()
            }

            /// Iterates over the elements in row-major order.
            pub fn iter(&self) -> core::slice::Iter<'_, f32> {
                self.data.as_slice().iter()
            }

            /// Iterates mutably over the elements in row-major order.
            pub fn iter_mut(&mut self) -> core::slice::IterMut<'_, f32> {
                self.data.as_mut_slice().iter_mut()
            }

            /// The values, as a `Vec` (the storage itself when it holds nothing else, else a
            /// copy).
            pub fn into_vec(self) -> Vec<f32> {
                self.data.into_vec()
            }

            /// The element at `index`, or `None` when any coordinate is out of range.
            pub fn get(&self, index: [usize; $rank]) -> Option<f32> {
                Self::ravel(index).map(|flat| self.data.as_slice()[flat])
            }

            fn ravel(index: [usize; $rank]) -> Option<usize> {
                let mut flat = 0usize;
                let mut axis = 0;
                $(
                    let $idx = index[axis];
                    if $idx >= $dim {
                        return None;
                    }
                    flat = flat * $dim + $idx;
                    axis += 1;
                )+
                let _ = axis;
                Some(flat)
            }

            fn unravel(mut flat: usize) -> [usize; $rank] {
                let mut index = [0usize; $rank];
                let dims = Self::DIMS;
                for axis in (0..$rank).rev() {
                    index[axis] = flat % dims[axis];
                    flat /= dims[axis];
                }
                index
            }
        }

        impl<$(const $dim: usize),+> Tensor for $name<$($dim),+> {
            const SHAPE: &'static [usize] = &[$($dim),+];
            const LEN: usize = 1 $(* $dim)+;

            fn zeros() -> Self {
                Self { data: zeroed_storage(Self::LEN) }
            }
            fn as_slice(&self) -> &[f32] {
                self.data.as_slice()
            }
            fn as_mut_slice(&mut self) -> &mut [f32] {
                self.data.as_mut_slice()
            }
        }

        impl<$(const $dim: usize),+> Zeroed for $name<$($dim),+> {
            fn zeroed() -> Self {
                Self::zeros()
            }
        }

        impl<$(const $dim: usize),+> Default for $name<$($dim),+> {
            fn default() -> Self {
                Self::zeros()
            }
        }

        impl<$(const $dim: usize),+> Index<[usize; $rank]> for $name<$($dim),+> {
            type Output = f32;
            fn index(&self, index: [usize; $rank]) -> &f32 {
                match Self::ravel(index) {
                    Some(flat) => &self.data.as_slice()[flat],
                    None => panic!(
                        "index {:?} is out of range for a tensor of shape {:?}",
                        index,
                        Self::DIMS
                    ),
                }
            }
        }

        impl<$(const $dim: usize),+> IndexMut<[usize; $rank]> for $name<$($dim),+> {
            fn index_mut(&mut self, index: [usize; $rank]) -> &mut f32 {
                match Self::ravel(index) {
                    Some(flat) => &mut self.data.as_mut_slice()[flat],
                    None => panic!(
                        "index {:?} is out of range for a tensor of shape {:?}",
                        index,
                        Self::DIMS
                    ),
                }
            }
        }

        impl<'a, $(const $dim: usize),+> IntoIterator for &'a $name<$($dim),+> {
            type Item = &'a f32;
            type IntoIter = core::slice::Iter<'a, f32>;
            fn into_iter(self) -> Self::IntoIter {
                self.data.as_slice().iter()
            }
        }

        impl<$(const $dim: usize),+> fmt::Debug for $name<$($dim),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                const PREVIEW: usize = 8;
                write!(f, "{}{:?} [", stringify!($name), Self::DIMS)?;
                for (i, v) in self.data.as_slice().iter().take(PREVIEW).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                if Self::LEN > PREVIEW {
                    write!(f, ", ... {} more", Self::LEN - PREVIEW)?;
                }
                f.write_str("]")
            }
        }
    };
}

define_tensor!(
    /// A vector of `N` elements, e.g. a bias.
    Tensor1, rank 1, [N], [i]
);
define_tensor!(
    /// A `R × C` matrix, row-major: a batch of `R` samples with `C` features each.
    ///
    /// ```
    /// use nn_core::tensor::Tensor2;
    /// let x = Tensor2::<2, 3>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// assert_eq!(x[[1, 0]], 4.0);
    /// assert_eq!(x.row(1), &[4.0, 5.0, 6.0]);
    /// assert!(Tensor2::<2, 3>::from_slice(&[1.0]).is_err());
    /// # Ok::<(), nn_core::Error>(())
    /// ```
    Tensor2, rank 2, [R, C], [r, c]
);
define_tensor!(
    /// A rank-3 tensor, row-major: e.g. a batch of `A` samples, each a `B × C` sequence of `B`
    /// steps with `C` features. `network!` uses it for samples of shape `(B, C)`.
    ///
    /// ```
    /// use nn_core::tensor::Tensor3;
    /// let x = Tensor3::<2, 2, 3>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
    /// assert_eq!(x[[1, 0, 2]], 102.0);
    /// assert_eq!(x.as_slice()[3], 10.0); // the last axis varies fastest
    /// assert_eq!(x.get([2, 0, 0]), None);
    /// ```
    Tensor3, rank 3, [A, B, C], [a, b, c]
);
define_tensor!(
    /// A rank-4 tensor, row-major: e.g. a batch of `A` images of `B` channels, `C × D` pixels.
    /// `network!` uses it for samples of shape `(B, C, D)`.
    ///
    /// ```
    /// use nn_core::tensor::Tensor4;
    /// let mut x = Tensor4::<1, 2, 2, 2>::zeros();
    /// x[[0, 1, 0, 1]] = 5.0;
    /// assert_eq!(x.as_slice()[5], 5.0);
    /// assert_eq!(x.shape(), [1, 2, 2, 2]);
    /// ```
    Tensor4, rank 4, [A, B, C, D], [a, b, c, d]
);

impl<const R: usize, const C: usize> Tensor2<R, C> {
    /// Row `r` as a slice of `C` elements.
    ///
    /// # Panics
    /// When `r >= R`.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data.as_slice()[r * C..(r + 1) * C]
    }

    /// Row `r` as a mutable slice of `C` elements.
    ///
    /// # Panics
    /// When `r >= R`.
    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data.as_mut_slice()[r * C..(r + 1) * C]
    }

    /// Iterates over the rows.
    pub fn rows(&self) -> core::slice::ChunksExact<'_, f32> {
        self.data.as_slice().chunks_exact(C.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tensor_starts_on_a_cache_line() {
        let starts = |t: &[f32]| t.as_ptr() as usize % 64;
        for _ in 0..20 {
            assert_eq!(starts(Tensor2::<3, 5>::zeros().as_slice()), 0);
            assert_eq!(starts(Tensor2::<64, 784>::full(1.0).as_slice()), 0);
            let t = Tensor1::<7>::from_vec((0..7).map(|i| i as f32).collect()).unwrap();
            assert_eq!(starts(t.as_slice()), 0);
            assert_eq!(t.as_slice(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            let copy = t.clone();
            assert_eq!((starts(copy.as_slice()), &copy), (0, &t));
            assert_eq!(copy.into_vec(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        }
    }

    #[test]
    fn zeros_and_len() {
        let t = Tensor3::<2, 3, 4>::zeros();
        assert_eq!(t.as_slice().len(), 24);
        assert!(t.iter().all(|&v| v == 0.0));
        assert_eq!(t.shape(), [2, 3, 4]);
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert_eq!(
            Tensor2::<2, 2>::from_slice(&[1.0, 2.0, 3.0]),
            Err(Error::LengthMismatch {
                expected: 4,
                found: 3
            })
        );
        assert!(Tensor1::<3>::from_vec(vec![0.0; 4]).is_err());
    }

    #[test]
    fn row_major_indexing() {
        let t =
            Tensor4::<2, 2, 2, 3>::from_fn(|[a, b, c, d]| (a * 1000 + b * 100 + c * 10 + d) as f32);
        assert_eq!(t[[1, 0, 1, 2]], 1012.0);
        assert_eq!(t.as_slice()[1], 1.0);
        assert_eq!(t.as_slice()[3], 10.0);
        assert_eq!(t.get([2, 0, 0, 0]), None);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn index_out_of_range_panics_with_shape() {
        let t = Tensor2::<2, 2>::zeros();
        let _ = t[[0, 2]];
    }

    #[test]
    fn large_tensor_does_not_touch_the_stack() {
        let t = Tensor2::<1024, 1024>::zeros();
        assert_eq!(t.as_slice().len(), 1 << 20);
    }
}
