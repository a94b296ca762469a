//! Axes as parameters: the marker [`Axis<K>`] picks the axis, and a trait per kind of op says
//! which tensor types have that axis and what the tensor looks like with its size changed.
//!
//! Each trait is implemented once per tensor rank and axis, so the ops themselves are one
//! function each, whatever the rank. The implementations exist only for the axes an op may
//! touch: axis 0 of a `Tensor1` (a single vector), and every axis but the batch (axis 0) of a
//! `Tensor2`, `Tensor3` or `Tensor4`, so the batch stays a type equality in every op. An axis a
//! tensor does not have is a trait error (`E0277`) under `cargo check`.

use crate::tensor::{Tensor, Tensor1, Tensor2, Tensor3, Tensor4};

/// Axis `K` of a tensor, counted from 0, the outermost (for a batch, the batch itself).
///
/// A value of it names the axis an op works along: `ops::concat(Axis::<1>, &a, &c, &mut out)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Axis<const K: usize>;

/// Index `S` along an axis, where [`slice`](crate::ops::slice) starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Start<const S: usize>;

/// A tensor type with an axis `K` that ops may join, split or slice along.
///
/// ```
/// use nn_core::ops::HasAxis;
/// use nn_core::tensor::Tensor4;
/// type Images = Tensor4<8, 3, 4, 5>;
/// // Along the channels (axis 1): 8 blocks of 3 channels of 4 × 5 values.
/// assert_eq!(<Images as HasAxis<1>>::OUTER, 8);
/// assert_eq!(<Images as HasAxis<1>>::SIZE, 3);
/// assert_eq!(<Images as HasAxis<1>>::INNER, 20);
/// let more: <Images as HasAxis<1>>::Resized<7> = Tensor4::<8, 7, 4, 5>::zeros();
/// # let _ = more;
/// ```
pub trait HasAxis<const K: usize>: Tensor {
    /// This tensor type with size `M` along axis `K` and every other dim unchanged.
    type Resized<const M: usize>: Tensor;
    /// The product of the dims before axis `K` (the batch included).
    const OUTER: usize;
    /// The size of axis `K`.
    const SIZE: usize;
    /// The product of the dims after axis `K`.
    const INNER: usize;
}

/// A tensor type that [`stack`](crate::ops::stack) can stack along a new axis at position `K`.
///
/// ```
/// use nn_core::ops::InsertAxis;
/// use nn_core::tensor::{Tensor2, Tensor3};
/// // Three batches of (4) stacked at axis 1 give (3, 4) samples.
/// let out: <Tensor2<2, 4> as InsertAxis<1>>::Stacked<3> = Tensor3::<2, 3, 4>::zeros();
/// # let _ = out;
/// ```
pub trait InsertAxis<const K: usize>: Tensor {
    /// `P` tensors of this type stacked along a new axis `K`: this type's dims with `P`
    /// inserted at position `K`.
    type Stacked<const P: usize>: Tensor;
    /// The product of the dims before the new axis (the batch included).
    const OUTER: usize;
}

/// A batch tensor, axis 0 being the batch: what [`flatten`](crate::ops::flatten) turns into
/// one feature vector per sample.
pub trait Batched: Tensor {
    /// The same batch with each sample as `F` features: a `Tensor2<B, F>`.
    type Flat<const F: usize>: Tensor;
    /// The number of values in one sample (the product of every dim but the batch).
    const SAMPLE: usize;
}

/// Implements [`HasAxis`] for axis `$k` of `$tensor`, from the names of the dims before the
/// axis, the axis' own dim, and the dims after it.
macro_rules! has_axis {
    ($k:literal: $tensor:ident<[$($before:ident),*], $axis:ident, [$($after:ident),*]>) => {
        impl<$(const $before: usize,)* const $axis: usize $(, const $after: usize)*> HasAxis<$k>
            for $tensor<$($before,)* $axis $(, $after)*>
        {
            type Resized<const M: usize> = $tensor<$($before,)* M $(, $after)*>;
            const OUTER: usize = 1 $(* $before)*;
            const SIZE: usize = $axis;
            const INNER: usize = 1 $(* $after)*;
        }
    };
}

has_axis!(0: Tensor1<[], N, []>);
has_axis!(1: Tensor2<[D0], D1, []>);
has_axis!(1: Tensor3<[D0], D1, [D2]>);
has_axis!(2: Tensor3<[D0, D1], D2, []>);
has_axis!(1: Tensor4<[D0], D1, [D2, D3]>);
has_axis!(2: Tensor4<[D0, D1], D2, [D3]>);
has_axis!(3: Tensor4<[D0, D1, D2], D3, []>);

/// Implements [`InsertAxis`] for a new axis `$k` of `$tensor`, giving `$stacked`, from the
/// names of the dims before the new axis and after it.
macro_rules! insert_axis {
    ($k:literal: $tensor:ident<[$($before:ident),*], [$($after:ident),*]> => $stacked:ident) => {
        impl<$(const $before: usize,)* $(const $after: usize),*> InsertAxis<$k>
            for $tensor<$($before,)* $($after),*>
        {
            type Stacked<const P: usize> = $stacked<$($before,)* P $(, $after)*>;
            const OUTER: usize = 1 $(* $before)*;
        }
    };
}

insert_axis!(0: Tensor1<[], [N]> => Tensor2);
insert_axis!(1: Tensor1<[N], []> => Tensor2);
insert_axis!(1: Tensor2<[D0], [D1]> => Tensor3);
insert_axis!(2: Tensor2<[D0, D1], []> => Tensor3);
insert_axis!(1: Tensor3<[D0], [D1, D2]> => Tensor4);
insert_axis!(2: Tensor3<[D0, D1], [D2]> => Tensor4);
insert_axis!(3: Tensor3<[D0, D1, D2], []> => Tensor4);

impl<const B: usize, const N: usize> Batched for Tensor2<B, N> {
    type Flat<const F: usize> = Tensor2<B, F>;
    const SAMPLE: usize = N;
}

impl<const B: usize, const T: usize, const N: usize> Batched for Tensor3<B, T, N> {
    type Flat<const F: usize> = Tensor2<B, F>;
    const SAMPLE: usize = T * N;
}

impl<const B: usize, const C: usize, const H: usize, const W: usize> Batched
    for Tensor4<B, C, H, W>
{
    type Flat<const F: usize> = Tensor2<B, F>;
    const SAMPLE: usize = C * H * W;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(OUTER, SIZE, INNER)` of axis `K` of `T`.
    fn split_of<const K: usize, T: HasAxis<K>>() -> (usize, usize, usize) {
        (T::OUTER, T::SIZE, T::INNER)
    }

    #[test]
    fn every_axis_splits_the_dims_into_before_it_and_after_it() {
        assert_eq!(split_of::<0, Tensor1<5>>(), (1, 5, 1));
        assert_eq!(split_of::<1, Tensor2<2, 5>>(), (2, 5, 1));
        assert_eq!(split_of::<1, Tensor3<2, 3, 4>>(), (2, 3, 4));
        assert_eq!(split_of::<2, Tensor3<2, 3, 4>>(), (6, 4, 1));
        assert_eq!(split_of::<1, Tensor4<2, 3, 4, 5>>(), (2, 3, 20));
        assert_eq!(split_of::<2, Tensor4<2, 3, 4, 5>>(), (6, 4, 5));
        assert_eq!(split_of::<3, Tensor4<2, 3, 4, 5>>(), (24, 5, 1));
        // OUTER · SIZE · INNER is the whole tensor.
        assert_eq!(2 * 3 * 20, <Tensor4<2, 3, 4, 5> as Tensor>::LEN);
    }

    #[test]
    fn stacked_types_insert_the_count_at_the_axis() {
        fn shape<T: Tensor>() -> &'static [usize] {
            T::SHAPE
        }
        assert_eq!(shape::<<Tensor1<4> as InsertAxis<0>>::Stacked<3>>(), [3, 4]);
        assert_eq!(shape::<<Tensor1<4> as InsertAxis<1>>::Stacked<3>>(), [4, 3]);
        assert_eq!(
            shape::<<Tensor2<2, 4> as InsertAxis<2>>::Stacked<3>>(),
            [2, 4, 3]
        );
        assert_eq!(
            shape::<<Tensor3<2, 4, 5> as InsertAxis<2>>::Stacked<3>>(),
            [2, 4, 3, 5]
        );
        assert_eq!(<Tensor3<2, 4, 5> as InsertAxis<3>>::OUTER, 40);
        assert_eq!(<Tensor4<2, 3, 4, 5> as Batched>::SAMPLE, 60);
    }
}
