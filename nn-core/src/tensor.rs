//! Const-generic tensors of rank 1 to 4.
//!
//! Every tensor owns a flat, row-major `Box<[f32]>` of exactly the product of its dims, and is
//! created zeroed on the heap. The dims live only in the type, so `Tensor2<64, 784>` and
//! `Tensor2<64, 100>` are different types and a mix-up fails under `cargo check`:
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

fn zeroed_storage(len: usize) -> Box<[f32]> {
    vec![0.0f32; len].into_boxed_slice()
}

macro_rules! define_tensor {
    (
        $(#[$doc:meta])*
        $name:ident, rank $rank:literal, [$($dim:ident),+], [$($idx:ident),+]
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq)]
        pub struct $name<$(const $dim: usize),+> {
            data: Box<[f32]>,
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
                Self { data: vec![value; Self::LEN].into_boxed_slice() }
            }

            /// Builds a tensor from a slice of exactly `LEN` elements, in row-major order.
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when the slice has another length.
            pub fn from_slice(values: &[f32]) -> Result<Self, Error> {
                <Self as Tensor>::try_from_slice(values)
            }

            /// Takes ownership of a `Vec` of exactly `LEN` elements without copying.
            ///
            /// # Errors
            /// [`Error::LengthMismatch`] when the `Vec` has another length.
            pub fn from_vec(values: Vec<f32>) -> Result<Self, Error> {
                check_len(Self::LEN, values.len())?;
                Ok(Self { data: values.into_boxed_slice() })
            }

            /// Builds a tensor by calling `f` with each index, in row-major order.
            pub fn from_fn(mut f: impl FnMut([usize; $rank]) -> f32) -> Self {
                let mut t = Self::zeros();
                for (flat, value) in t.data.iter_mut().enumerate() {
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
                &self.data
            }

            /// The elements in row-major order, mutably.
            pub fn as_mut_slice(&mut self) -> &mut [f32] {
                &mut self.data
            }

            /// Iterates over the elements in row-major order.
            pub fn iter(&self) -> core::slice::Iter<'_, f32> {
                self.data.iter()
            }

            /// Iterates mutably over the elements in row-major order.
            pub fn iter_mut(&mut self) -> core::slice::IterMut<'_, f32> {
                self.data.iter_mut()
            }

            /// The storage, consumed into a `Vec` without copying.
            pub fn into_vec(self) -> Vec<f32> {
                self.data.into_vec()
            }

            /// The element at `index`, or `None` when any coordinate is out of range.
            pub fn get(&self, index: [usize; $rank]) -> Option<f32> {
                Self::ravel(index).map(|flat| self.data[flat])
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
                &self.data
            }
            fn as_mut_slice(&mut self) -> &mut [f32] {
                &mut self.data
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
                    Some(flat) => &self.data[flat],
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
                    Some(flat) => &mut self.data[flat],
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
                self.data.iter()
            }
        }

        impl<$(const $dim: usize),+> fmt::Debug for $name<$($dim),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                const PREVIEW: usize = 8;
                write!(f, "{}{:?} [", stringify!($name), Self::DIMS)?;
                for (i, v) in self.data.iter().take(PREVIEW).enumerate() {
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
        &self.data[r * C..(r + 1) * C]
    }

    /// Row `r` as a mutable slice of `C` elements.
    ///
    /// # Panics
    /// When `r >= R`.
    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * C..(r + 1) * C]
    }

    /// Iterates over the rows.
    pub fn rows(&self) -> core::slice::ChunksExact<'_, f32> {
        self.data.chunks_exact(C.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
