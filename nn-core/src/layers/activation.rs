//! Per-sample shapes for layers that work elementwise on any shape.

use crate::tensor::{Tensor, Tensor2, Tensor3, Tensor4, Zeroed};

/// A per-sample shape: what one sample of a batch looks like.
///
/// Elementwise layers such as [`Relu`](super::Relu) are generic over it, so one `Relu` type
/// serves dense features now and images or sequences later.
pub trait Shape {
    /// The number of elements in one sample.
    const SIZE: usize;
    /// A batch of `B` samples of this shape.
    type Batch<const B: usize>: Tensor + Zeroed;
}

/// `N` features per sample: batches are `Tensor2<B, N>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features<const N: usize>;

impl<const N: usize> Shape for Features<N> {
    const SIZE: usize = N;
    type Batch<const B: usize> = Tensor2<B, N>;
}

/// A `(T, F)` sample, e.g. a sequence of `T` steps with `F` features: batches are
/// `Tensor3<B, T, F>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape2<const T: usize, const F: usize>;

impl<const T: usize, const F: usize> Shape for Shape2<T, F> {
    const SIZE: usize = T * F;
    type Batch<const B: usize> = Tensor3<B, T, F>;
}

/// A `(C, H, W)` sample, e.g. an image: batches are `Tensor4<B, C, H, W>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape3<const C: usize, const H: usize, const W: usize>;

impl<const C: usize, const H: usize, const W: usize> Shape for Shape3<C, H, W> {
    const SIZE: usize = C * H * W;
    type Batch<const B: usize> = Tensor4<B, C, H, W>;
}

/// The per-sample shape of a batch tensor: `Tensor2<B, N>` holds `B` samples of
/// [`Features<N>`], `Tensor3<B, T, F>` of [`Shape2<T, F>`], `Tensor4<B, C, H, W>` of
/// [`Shape3<C, H, W>`]. It reads a layer's batch types back as shapes, e.g. what a network gives
/// per sample, which `nn::train` checks the targets against.
///
/// ```
/// use nn_core::layers::{SampleShape, Shape2};
/// use nn_core::tensor::Tensor3;
/// fn is<T>(_: core::marker::PhantomData<T>, _: core::marker::PhantomData<T>) {}
/// is(
///     core::marker::PhantomData::<<Tensor3<64, 28, 10> as SampleShape>::Sample>,
///     core::marker::PhantomData::<Shape2<28, 10>>,
/// );
/// ```
pub trait SampleShape {
    /// The shape of one sample.
    type Sample: Shape;
}

impl<const B: usize, const N: usize> SampleShape for Tensor2<B, N> {
    type Sample = Features<N>;
}

impl<const B: usize, const T: usize, const F: usize> SampleShape for Tensor3<B, T, F> {
    type Sample = Shape2<T, F>;
}

impl<const B: usize, const C: usize, const H: usize, const W: usize> SampleShape
    for Tensor4<B, C, H, W>
{
    type Sample = Shape3<C, H, W>;
}

/// Implements [`Layer`](super::Layer), [`HasParams`](crate::param::HasParams),
/// [`Composable`](super::Composable) and, over sequences, [`Decode`](super::Decode) for a parameter-free elementwise activation, from its
/// forward `f(x)` and its derivative written in terms of the input `x` and the output `y`.
///
/// `build` is `Default::default()`; a hyperparameter given in `network!` goes through the
/// type's own constructor instead (`LeakyRelu::new(alpha)`).
macro_rules! elementwise_activation {
    ($ty:ident, |$self_:ident, $x:ident| $forward:expr, |$s2:ident, $x2:ident, $y2:ident| $derivative:expr) => {
        impl<S: $crate::layers::Shape> $crate::param::HasParams for $ty<S> {
            fn visit_params<V: $crate::param::ParamVisitor>(
                &mut self,
                _path: &$crate::param::ParamPath<'_>,
                _visitor: &mut V,
            ) {
            }

            fn visit_params_ref<V: $crate::param::ParamRefVisitor>(
                &self,
                _path: &$crate::param::ParamPath<'_>,
                _visitor: &mut V,
            ) {
            }
        }

        impl<S: $crate::layers::Shape> $crate::layers::Layer for $ty<S> {
            type Input<const B: usize> = S::Batch<B>;
            type Output<const B: usize> = S::Batch<B>;
            type Scratch<const B: usize> = ();
            type Cache<const B: usize> = ();

            fn forward<const B: usize>(
                &self,
                input: &S::Batch<B>,
                output: &mut S::Batch<B>,
                _scratch: &mut (),
            ) {
                use $crate::tensor::Tensor as _;
                let $self_ = self;
                for (out, &$x) in output.as_mut_slice().iter_mut().zip(input.as_slice()) {
                    *out = $forward;
                }
            }

            fn forward_train<const B: usize>(
                &mut self,
                input: &S::Batch<B>,
                output: &mut S::Batch<B>,
                _cache: &mut (),
            ) {
                $crate::layers::Layer::forward(&*self, input, output, &mut ());
            }

            fn backward<const B: usize>(
                &mut self,
                input: &S::Batch<B>,
                output: &S::Batch<B>,
                _cache: &mut (),
                dy: &S::Batch<B>,
                dx: Option<&mut S::Batch<B>>,
            ) {
                use $crate::tensor::Tensor as _;
                let $s2 = &*self;
                if let Some(dx) = dx {
                    let inputs = input.as_slice().iter().zip(output.as_slice());
                    for ((g, &upstream), (&$x2, &$y2)) in
                        dx.as_mut_slice().iter_mut().zip(dy.as_slice()).zip(inputs)
                    {
                        *g = upstream * $derivative;
                    }
                }
            }
        }

        impl<const T: usize, const F: usize> $crate::layers::WithoutMemory
            for $ty<$crate::layers::Shape2<T, F>>
        {
        }

        /// Elementwise, so each step on its own.
        impl<const T: usize, const F: usize> $crate::layers::Decode
            for $ty<$crate::layers::Shape2<T, F>>
        {
            const STEPS: usize = T;
            const STEP_INPUTS: usize = F;
            const STEP_OUTPUTS: usize = F;
            type DecodeState = ();

            fn decode_state(&self) {}

            fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
                assert!(position < T, "position {position} of {T} steps");
                let $self_ = self;
                for (out, &$x) in y.iter_mut().zip(x) {
                    *out = $forward;
                }
            }
        }

        impl<S: $crate::layers::Shape> $crate::layers::Composable for $ty<S>
        where
            Self: Default,
        {
            const PARAM_COUNT: usize = 0;

            fn build(_rng: &mut $crate::init::Rng) -> Self {
                Self::default()
            }
        }
    };
}
pub(crate) use elementwise_activation;
