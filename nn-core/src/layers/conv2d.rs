//! `Conv2d<..>`: a 2-D convolution over NCHW batches, with rectangular windows, strides,
//! paddings and dilations per axis, and channel groups (depthwise among them); `conv2d(..)`
//! and `depthwise(..)` in `network!`. [`SquareConv2d`] names the common square case.

use core::marker::PhantomData;

use crate::init::{Rng, uniform};
use crate::layers::{Composable, Layer};
use crate::linalg::conv::{self, ConvAxis, ConvGrads, ConvShape, conv2d_backward, conv2d_forward};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Aligned, Tensor1, Tensor4, Zeroed};

/// A 2-D convolution from `C_IN` channels of `H × W` to `C_OUT` channels of `OH × OW`:
/// PyTorch's `nn.Conv2d(C_IN, C_OUT, (KH, KW), stride=(SH, SW), padding=.., dilation=(DH, DW),
/// groups=C_IN / GROUP_IN)`.
///
/// | parameter | meaning |
/// |---|---|
/// | `KH`, `KW` | the kernel's height and width |
/// | `SH`, `SW` | the strides down and across |
/// | `PT`, `PB`, `PL`, `PR` | zeros padded on top, bottom, left and right (PyTorch pads both sides alike; TensorFlow's `same` at stride 2 and causal padding do not) |
/// | `DH`, `DW` | the dilations: taps `DH` rows and `DW` columns apart |
/// | `GROUP_IN` | input channels per group: `C_IN` for a plain convolution, 1 for a depthwise one |
///
/// Batches are NCHW: `Tensor4<B, C_IN, H, W>` in, `Tensor4<B, C_OUT, OH, OW>` out. The weight
/// is `C_OUT × GROUP_IN × KH × KW` (PyTorch's `(out, in / groups, kh, kw)`), so weights are
/// exchanged with PyTorch as they are; parameters are visited as `weight`, then `bias`.
/// Output channel `o` reads the input channels of its group, `o / (C_OUT / groups)`.
///
/// `OH` must be `(H + PT + PB − DH·(KH − 1) − 1) / SH + 1` rounded down (PyTorch's rule),
/// likewise `OW`, the groups must divide both channel counts, and every size must be at least
/// 1: an inline const assert checks it when the layer's forward or backward is instantiated
/// (`network!` computes the sizes and reports a mismatch on the layer first). Input rows and
/// columns that no window reaches get zero gradient.
///
/// Initialised as PyTorch does: weight and bias both `U(−1/√fan_in, 1/√fan_in)` with
/// `fan_in = GROUP_IN · KH · KW`.
///
/// The work is im2col and [`gemm`](crate::linalg::gemm) in [`linalg::conv`](crate::linalg::conv),
/// one product per group, on one sample's column matrix at a time; that matrix lives in the
/// scratch ([`ConvWorkspace`]) and cache ([`ConvTrainWorkspace`]), made once with the tape. A
/// depthwise convolution has a direct kernel of its own and needs no column matrix.
///
/// ```
/// use nn_core::layers::{Conv2d, Layer};
/// use nn_core::tensor::{Tensor4, Zeroed};
///
/// // Depthwise: two channels of 3×4, each with its own 1×2 kernel (one group per channel),
/// // stride 1, no padding, no dilation.
/// type Depthwise = Conv2d<2, 2, 3, 4, 3, 3, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1>;
/// let mut conv = Depthwise::new(&mut nn_core::init::seeded(0));
/// conv.weight_mut().as_mut_slice().copy_from_slice(&[1.0, 1.0, 0.0, 2.0]);
/// conv.bias_mut().as_mut_slice().copy_from_slice(&[0.0, 0.5]);
///
/// let x = Tensor4::<1, 2, 3, 4>::from_fn(|[_, c, h, w]| (c * 12 + 4 * h + w) as f32);
/// let mut y = Tensor4::<1, 2, 3, 3>::zeros();
/// conv.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // Channel 0 adds neighbours in a row; channel 1 doubles the right one and adds 0.5.
/// assert_eq!(&y.as_slice()[..3], &[1.0, 3.0, 5.0]);
/// assert_eq!(&y.as_slice()[9..12], &[26.5, 28.5, 30.5]);
/// ```
///
/// Sizes that disagree fail to build:
///
/// ```compile_fail,E0080
/// use nn_core::layers::{Layer, SquareConv2d};
/// use nn_core::tensor::{Tensor4, Zeroed};
/// // A 5×5 kernel on 28×28 gives 24×24, not 26×26.
/// let conv = SquareConv2d::<1, 6, 28, 28, 26, 26, 5, 1, 0>::new(&mut nn_core::init::seeded(0));
/// let x = Tensor4::<1, 1, 28, 28>::zeros();
/// conv.forward(&x, &mut Tensor4::zeros(), &mut Zeroed::zeroed());
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<
    const C_IN: usize,
    const C_OUT: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const DH: usize,
    const DW: usize,
    const GROUP_IN: usize,
> {
    weight: Tensor4<C_OUT, GROUP_IN, KH, KW>,
    bias: Tensor1<C_OUT>,
    weight_grad: Tensor4<C_OUT, GROUP_IN, KH, KW>,
    bias_grad: Tensor1<C_OUT>,
}

/// PyTorch's `nn.Conv2d(C_IN, C_OUT, K, stride=STRIDE, padding=PAD)`: a square `K × K` kernel,
/// one stride and padding on both axes, no dilation, no groups. `OH` and `OW` as in
/// [`Conv2d`].
///
/// ```
/// use nn_core::layers::{Layer, SquareConv2d};
/// use nn_core::tensor::{Tensor4, Zeroed};
///
/// // One channel of 3×3 in, two of 2×2 out: a 2×2 kernel, stride 1, no padding.
/// let mut conv = SquareConv2d::<1, 2, 3, 3, 2, 2, 2, 1, 0>::new(&mut nn_core::init::seeded(0));
/// conv.weight_mut().as_mut_slice().copy_from_slice(&[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
/// conv.bias_mut().as_mut_slice().copy_from_slice(&[0.5, 0.0]);
///
/// let x = Tensor4::<1, 1, 3, 3>::from_fn(|[_, _, h, w]| (3 * h + w + 1) as f32);
/// let mut y = Tensor4::<1, 2, 2, 2>::zeros();
/// conv.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // Channel 0 sums each window (plus 0.5); channel 1 picks its bottom-right value.
/// assert_eq!(y.as_slice(), &[12.5, 16.5, 24.5, 28.5, 5.0, 6.0, 8.0, 9.0]);
/// ```
pub type SquareConv2d<
    const C_IN: usize,
    const C_OUT: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const STRIDE: usize,
    const PAD: usize,
> = Conv2d<C_IN, C_OUT, H, W, OH, OW, K, K, STRIDE, STRIDE, PAD, PAD, PAD, PAD, 1, 1, C_IN>;

/// A convolution layer's sizes, as the kernels take them: what its workspaces are sized by.
pub trait ConvLayer {
    /// The sizes.
    const SHAPE: ConvShape;
}

/// The working space of a convolution's inference forward ([`Conv2d`], [`Conv1d`]): the column
/// matrices (`C_IN · KH · KW × OH · OW` each) of the samples one product takes
/// ([`ConvShape::samples_per_product`]), for each group of samples that may run on its own
/// thread ([`conv::groups`]); none for a pointwise kernel, a padded plane for a depthwise
/// one. Allocated by [`Zeroed::zeroed`] (once, with the tape); the forward itself allocates
/// nothing.
///
/// [`Conv1d`]: crate::layers::Conv1d
pub struct ConvWorkspace<const B: usize, L> {
    buffer: Aligned,
    layer: PhantomData<fn() -> L>,
}

/// The cache of a convolution's training forward ([`Conv2d`], [`Conv1d`]), which `backward`
/// uses as working space: for each group of samples ([`conv::groups`], at most 8) a column
/// matrix and its gradient, and the group's sums of the parameter gradients. The column
/// matrix is rebuilt per sample in `backward` rather than kept for the whole batch, so the
/// cache stays the size of a few samples'.
///
/// [`Conv1d`]: crate::layers::Conv1d
pub struct ConvTrainWorkspace<const B: usize, L> {
    buffer: Aligned,
    layer: PhantomData<fn() -> L>,
}

impl<const B: usize, L: ConvLayer> Zeroed for ConvWorkspace<B, L> {
    fn zeroed() -> Self {
        Self {
            buffer: Aligned::filled(conv::groups(B) * L::SHAPE.forward_workspace_len(), 0.0),
            layer: PhantomData,
        }
    }
}

impl<const B: usize, L: ConvLayer> Zeroed for ConvTrainWorkspace<B, L> {
    fn zeroed() -> Self {
        let shape = L::SHAPE;
        // The backward's workspace, whose first column matrices the training forward uses.
        let len = shape
            .backward_workspace_len(B)
            .max(conv::groups(B) * shape.forward_workspace_len());
        Self {
            buffer: Aligned::filled(len, 0.0),
            layer: PhantomData,
        }
    }
}

macro_rules! workspace_traits {
    ($($name:ident),*) => {$(
        impl<const B: usize, L> Clone for $name<B, L> {
            fn clone(&self) -> Self {
                Self { buffer: self.buffer.clone(), layer: PhantomData }
            }
        }
        impl<const B: usize, L> core::fmt::Debug for $name<B, L> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($name)).field("len", &self.buffer.len()).finish()
            }
        }
    )*};
}
workspace_traits!(ConvWorkspace, ConvTrainWorkspace);

/// The forward of a convolution layer of shape `L::SHAPE` at inference.
pub(crate) fn layer_forward<const B: usize, L: ConvLayer>(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    scratch: &mut ConvWorkspace<B, L>,
) {
    conv2d_forward(&L::SHAPE, x, weight, bias, y, &mut scratch.buffer[..]);
}

/// The training forward: its column matrices are the cache's first.
pub(crate) fn layer_forward_train<const B: usize, L: ConvLayer>(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    y: &mut [f32],
    cache: &mut ConvTrainWorkspace<B, L>,
) {
    let len = conv::groups(B) * L::SHAPE.forward_workspace_len();
    conv2d_forward(&L::SHAPE, x, weight, bias, y, &mut cache.buffer[..len]);
}

/// The backward pass.
pub(crate) fn layer_backward<const B: usize, L: ConvLayer>(
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    grads: ConvGrads<'_>,
    dx: Option<&mut [f32]>,
    cache: &mut ConvTrainWorkspace<B, L>,
) {
    let workspace = &mut cache.buffer[..L::SHAPE.backward_workspace_len(B)];
    conv2d_backward(&L::SHAPE, x, weight, dy, grads, dx, workspace);
}

/// The message of a convolution's const check.
const INVALID: &str = "conv: needs every size >= 1, groups dividing both channel counts, and \
    each output size == (input + padding - dilation * (kernel - 1) - 1) / stride + 1";

/// PyTorch's default initialisation: `U(−l, l)` with `l = 1/√fan_in`.
pub(crate) fn init(rng: &mut Rng, fan_in: usize, weight: &mut [f32], bias: &mut [f32]) {
    let limit = 1.0 / crate::math::sqrt(fan_in.max(1) as f32);
    for w in weight.iter_mut().chain(bias.iter_mut()) {
        *w = uniform(rng, -limit, limit);
    }
}

macro_rules! conv2d_impl {
    ($($body:tt)*) => {
        impl<
            const C_IN: usize,
            const C_OUT: usize,
            const H: usize,
            const W: usize,
            const OH: usize,
            const OW: usize,
            const KH: usize,
            const KW: usize,
            const SH: usize,
            const SW: usize,
            const PT: usize,
            const PB: usize,
            const PL: usize,
            const PR: usize,
            const DH: usize,
            const DW: usize,
            const GROUP_IN: usize,
        > $($body)*
    };
}

conv2d_impl! {
ConvLayer for Conv2d<C_IN, C_OUT, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, GROUP_IN>
{
    const SHAPE: ConvShape = ConvShape {
        c_in: C_IN,
        c_out: C_OUT,
        groups: match C_IN.checked_div(GROUP_IN) {
            Some(groups) => groups,
            None => 0,
        },
        height: ConvAxis { size: H, out: OH, kernel: KH, stride: SH, dilation: DH, pad_before: PT, pad_after: PB },
        width: ConvAxis { size: W, out: OW, kernel: KW, stride: SW, dilation: DW, pad_before: PL, pad_after: PR },
    };
}
}

conv2d_impl! {
Conv2d<C_IN, C_OUT, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, GROUP_IN>
{
    /// The number of scalar parameters: `C_OUT · GROUP_IN · KH · KW + C_OUT`.
    pub const PARAM_COUNT: usize = C_OUT * GROUP_IN * KH * KW + C_OUT;

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        <Self as ConvLayer>::SHAPE.is_valid() && GROUP_IN * <Self as ConvLayer>::SHAPE.groups == C_IN,
        "{}",
        INVALID
    );

    /// A layer with PyTorch's default initialisation: weight and bias `U(−l, l)` with
    /// `l = 1/√(GROUP_IN · KH · KW)`.
    pub fn new(rng: &mut Rng) -> Self {
        let mut layer = Self {
            weight: Tensor4::zeros(),
            bias: Tensor1::zeros(),
            weight_grad: Tensor4::zeros(),
            bias_grad: Tensor1::zeros(),
        };
        let fan_in = GROUP_IN * KH * KW;
        init(rng, fan_in, layer.weight.as_mut_slice(), layer.bias.as_mut_slice());
        layer
    }

    /// The weight, `C_OUT × GROUP_IN × KH × KW`.
    pub fn weight(&self) -> &Tensor4<C_OUT, GROUP_IN, KH, KW> {
        &self.weight
    }
    /// The weight, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor4<C_OUT, GROUP_IN, KH, KW> {
        &mut self.weight
    }
    /// The bias, one per output channel.
    pub fn bias(&self) -> &Tensor1<C_OUT> {
        &self.bias
    }
    /// The bias, mutably.
    pub fn bias_mut(&mut self) -> &mut Tensor1<C_OUT> {
        &mut self.bias
    }
    /// The accumulated weight gradient.
    pub fn weight_grad(&self) -> &Tensor4<C_OUT, GROUP_IN, KH, KW> {
        &self.weight_grad
    }
    /// The accumulated bias gradient.
    pub fn bias_grad(&self) -> &Tensor1<C_OUT> {
        &self.bias_grad
    }
}
}

conv2d_impl! {
HasParams for Conv2d<C_IN, C_OUT, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, GROUP_IN>
{
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[C_OUT, GROUP_IN, KH, KW],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = Param {
            value: self.bias.as_mut_slice(),
            grad: self.bias_grad.as_mut_slice(),
            shape: &[C_OUT],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        let weight = crate::param::ParamRef {
            value: self.weight.as_slice(),
            shape: &[C_OUT, GROUP_IN, KH, KW],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = crate::param::ParamRef {
            value: self.bias.as_slice(),
            shape: &[C_OUT],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}
}

conv2d_impl! {
Layer for Conv2d<C_IN, C_OUT, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, GROUP_IN>
{
    type Input<const B: usize> = Tensor4<B, C_IN, H, W>;
    type Output<const B: usize> = Tensor4<B, C_OUT, OH, OW>;
    type Scratch<const B: usize> = ConvWorkspace<B, Self>;
    type Cache<const B: usize> = ConvTrainWorkspace<B, Self>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor4<B, C_IN, H, W>,
        y: &mut Tensor4<B, C_OUT, OH, OW>,
        scratch: &mut ConvWorkspace<B, Self>,
    ) {
        const { Self::CHECK };
        let (weight, bias) = (self.weight.as_slice(), self.bias.as_slice());
        layer_forward(x.as_slice(), weight, bias, y.as_mut_slice(), scratch);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor4<B, C_IN, H, W>,
        y: &mut Tensor4<B, C_OUT, OH, OW>,
        cache: &mut ConvTrainWorkspace<B, Self>,
    ) {
        const { Self::CHECK };
        let (weight, bias) = (self.weight.as_slice(), self.bias.as_slice());
        layer_forward_train(x.as_slice(), weight, bias, y.as_mut_slice(), cache);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor4<B, C_IN, H, W>,
        _y: &Tensor4<B, C_OUT, OH, OW>,
        cache: &mut ConvTrainWorkspace<B, Self>,
        dy: &Tensor4<B, C_OUT, OH, OW>,
        dx: Option<&mut Tensor4<B, C_IN, H, W>>,
    ) {
        const { Self::CHECK };
        let grads = ConvGrads {
            weight: self.weight_grad.as_mut_slice(),
            bias: self.bias_grad.as_mut_slice(),
        };
        let (x, weight, dy) = (x.as_slice(), self.weight.as_slice(), dy.as_slice());
        layer_backward(x, weight, dy, grads, dx.map(|dx| dx.as_mut_slice()), cache);
    }
}
}

conv2d_impl! {
Composable for Conv2d<C_IN, C_OUT, H, W, OH, OW, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW, GROUP_IN>
{
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradients, random_tensor};

    /// The layer on a random batch against plain loops over the same weights.
    fn matches_loops<
        const C_IN: usize,
        const C_OUT: usize,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
        const K: usize,
        const STRIDE: usize,
        const PAD: usize,
        const B: usize,
    >(
        seed: u64,
    ) {
        let mut rng = crate::init::seeded(seed);
        let conv = SquareConv2d::<C_IN, C_OUT, H, W, OH, OW, K, STRIDE, PAD>::new(&mut rng);
        let x = random_tensor::<Tensor4<B, C_IN, H, W>>(&mut rng);
        let mut y = Tensor4::<B, C_OUT, OH, OW>::full(f32::NAN);
        conv.forward(&x, &mut y, &mut Zeroed::zeroed());
        let want = Tensor4::<B, C_OUT, OH, OW>::from_fn(|[b, co, oh, ow]| {
            let mut sum = conv.bias()[[co]];
            for c in 0..C_IN {
                for kh in 0..K {
                    for kw in 0..K {
                        let ih = (oh * STRIDE + kh) as isize - PAD as isize;
                        let iw = (ow * STRIDE + kw) as isize - PAD as isize;
                        if (0..H as isize).contains(&ih) && (0..W as isize).contains(&iw) {
                            sum += conv.weight()[[co, c, kh, kw]]
                                * x[[b, c, ih as usize, iw as usize]];
                        }
                    }
                }
            }
            sum
        });
        for (i, (g, w)) in y.iter().zip(want.iter()).enumerate() {
            assert!((g - w).abs() < 1e-5, "y[{i}] = {g}, want {w}");
        }
    }

    #[test]
    fn forward_matches_loops() {
        matches_loops::<1, 6, 28, 28, 24, 24, 5, 1, 0, 2>(1);
        matches_loops::<6, 16, 12, 12, 8, 8, 5, 1, 0, 1>(2);
        matches_loops::<3, 3, 3, 3, 3, 3, 3, 1, 1, 2>(3); // C == H == W
        matches_loops::<2, 4, 7, 5, 4, 3, 3, 2, 1, 3>(4); // stride 2, padding, H ≠ W
        matches_loops::<4, 2, 5, 6, 5, 6, 1, 1, 0, 2>(5); // 1×1
        matches_loops::<2, 3, 8, 9, 2, 3, 3, 3, 0, 1>(6); // stride 3, floor rule
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(7);
        let mut conv = SquareConv2d::<2, 3, 5, 4, 3, 2, 3, 2, 1>::new(&mut rng);
        let x = random_tensor::<Tensor4<2, 2, 5, 4>>(&mut rng);
        let checked = check_gradients::<_, 2>(&mut conv, &x, 8).unwrap();
        assert_eq!(checked, 80 + 3 * 2 * 9 + 3);

        let mut square = SquareConv2d::<3, 3, 3, 3, 3, 3, 3, 1, 1>::new(&mut rng);
        let x = random_tensor::<Tensor4<1, 3, 3, 3>>(&mut rng);
        check_gradients::<_, 1>(&mut square, &x, 9).unwrap();

        let mut pointwise = SquareConv2d::<3, 2, 2, 3, 2, 3, 1, 1, 0>::new(&mut rng);
        let x = random_tensor::<Tensor4<2, 3, 2, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut pointwise, &x, 10).unwrap();

        // Floor rule: the last input row and column are read by no window.
        let mut floor = SquareConv2d::<1, 2, 6, 6, 2, 2, 2, 3, 0>::new(&mut rng);
        let x = random_tensor::<Tensor4<1, 1, 6, 6>>(&mut rng);
        check_gradients::<_, 1>(&mut floor, &x, 11).unwrap();
    }

    /// Groups, depthwise kernels with a multiplier, dilations, rectangular windows, and
    /// TensorFlow's `same` padding at stride 2 (the extra row and column at the bottom and
    /// right).
    #[test]
    fn general_windows_match_central_differences() {
        let mut rng = crate::init::seeded(17);
        // Two groups of 2 → 3, 3×2 kernel, dilation (2, 1).
        let mut grouped =
            Conv2d::<4, 6, 7, 5, 3, 4, 3, 2, 1, 1, 0, 0, 0, 0, 2, 1, 2>::new(&mut rng);
        let x = random_tensor::<Tensor4<2, 4, 7, 5>>(&mut rng);
        check_gradients::<_, 2>(&mut grouped, &x, 18).unwrap();
        // Depthwise, multiplier 2, 3×3, padding 1.
        let mut depthwise =
            Conv2d::<3, 6, 5, 4, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1>::new(&mut rng);
        let x = random_tensor::<Tensor4<2, 3, 5, 4>>(&mut rng);
        check_gradients::<_, 2>(&mut depthwise, &x, 19).unwrap();
        // TF `same` at stride 2 on 6×5: padding 0 on top and 1 below, 1 left and 1 right.
        let mut same = Conv2d::<2, 3, 6, 5, 3, 3, 3, 3, 2, 2, 0, 1, 1, 1, 1, 1, 2>::new(&mut rng);
        let x = random_tensor::<Tensor4<1, 2, 6, 5>>(&mut rng);
        check_gradients::<_, 1>(&mut same, &x, 20).unwrap();
        // Depthwise with stride 2 and dilation 2.
        let mut strided =
            Conv2d::<2, 2, 9, 9, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 1>::new(&mut rng);
        let x = random_tensor::<Tensor4<2, 2, 9, 9>>(&mut rng);
        check_gradients::<_, 2>(&mut strided, &x, 21).unwrap();
    }

    #[test]
    fn unreached_inputs_get_zero_gradient() {
        let mut rng = crate::init::seeded(12);
        let mut conv = SquareConv2d::<1, 1, 5, 5, 2, 2, 2, 2, 0>::new(&mut rng);
        let x = random_tensor::<Tensor4<1, 1, 5, 5>>(&mut rng);
        let mut y = Tensor4::<1, 1, 2, 2>::zeros();
        let mut cache = Zeroed::zeroed();
        conv.forward_train(&x, &mut y, &mut cache);
        let mut dx = Tensor4::<1, 1, 5, 5>::full(f32::NAN);
        conv.backward(&x, &y, &mut cache, &Tensor4::full(1.0), Some(&mut dx));
        for i in 0..5 {
            assert_eq!(dx[[0, 0, 4, i]], 0.0);
            assert_eq!(dx[[0, 0, i, 4]], 0.0);
        }
        assert_eq!(dx[[0, 0, 0, 0]], conv.weight()[[0, 0, 0, 0]]);
    }

    #[test]
    fn init_is_pytorchs_default() {
        let mut rng = crate::init::seeded(13);
        let conv = SquareConv2d::<6, 16, 12, 12, 8, 8, 5, 1, 0>::new(&mut rng);
        let limit = 1.0 / 150f32.sqrt();
        let all = || conv.weight().iter().chain(conv.bias().iter());
        assert!(all().all(|v| v.abs() <= limit));
        assert!(conv.weight().iter().any(|&v| v > 0.9 * limit));
        assert!(conv.bias().iter().any(|&v| v != 0.0));
        assert_eq!(
            SquareConv2d::<6, 16, 12, 12, 8, 8, 5, 1, 0>::PARAM_COUNT,
            2416
        );
    }

    #[test]
    fn backward_accumulates_and_visits_weight_then_bias() {
        let mut rng = crate::init::seeded(14);
        let mut conv = SquareConv2d::<1, 2, 3, 3, 2, 2, 2, 1, 0>::new(&mut rng);
        let x = Tensor4::<1, 1, 3, 3>::full(1.0);
        let y = Tensor4::<1, 2, 2, 2>::zeros();
        let dy = Tensor4::<1, 2, 2, 2>::full(1.0);
        let mut cache = Zeroed::zeroed();
        conv.backward(&x, &y, &mut cache, &dy, None);
        conv.backward(&x, &y, &mut cache, &dy, None);
        assert_eq!(conv.bias_grad().as_slice(), &[8.0, 8.0]);
        assert!(conv.weight_grad().iter().all(|&g| g == 8.0));
        let mut names = alloc::vec::Vec::new();
        conv.visit_params(
            &ParamPath::root(),
            &mut |p: &ParamPath<'_>, v: Param<'_>| {
                names.push((alloc::format!("{p}"), v.value.len()))
            },
        );
        assert_eq!(names, [("weight".into(), 8), ("bias".into(), 2)]);
        conv.zero_grad();
        assert!(conv.weight_grad().iter().all(|&g| g == 0.0));
    }

    /// One LeNet-5 training step at batch 64 (forward, softmax cross-entropy, backward, Adam)
    /// and a batch-1 inference, on random data, medians printed:
    /// `cargo test --release -p nn-core -- --ignored --nocapture lenet_step_time`.
    #[test]
    #[ignore = "a measurement; run in release mode"]
    fn lenet_step_time() {
        extern crate std;
        use crate::layers::{Dense, Features, Relu, Reshape, Shape3, SquareMaxPool2d};
        use crate::optim::{Adam, Optimizer};
        use crate::tensor::Tensor2;
        use std::time::Instant;
        const B: usize = 64;
        let mut rng = crate::init::seeded(1);
        let mut conv1 = SquareConv2d::<1, 6, 28, 28, 24, 24, 5, 1, 0>::new(&mut rng);
        let mut relu1 = Relu::<Shape3<6, 24, 24>>::default();
        let mut pool1 = SquareMaxPool2d::<6, 24, 24, 12, 12, 2, 2>::default();
        let mut conv2 = SquareConv2d::<6, 16, 12, 12, 8, 8, 5, 1, 0>::new(&mut rng);
        let mut relu2 = Relu::<Shape3<16, 8, 8>>::default();
        let mut pool2 = SquareMaxPool2d::<16, 8, 8, 4, 4, 2, 2>::default();
        let mut flat = Reshape::<Shape3<16, 4, 4>, Features<256>>::default();
        let mut fc1 = Dense::<256, 120>::new(&mut rng);
        let mut relu3 = Relu::<Features<120>>::default();
        let mut fc2 = Dense::<120, 84>::new(&mut rng);
        let mut relu4 = Relu::<Features<84>>::default();
        let mut fc3 = Dense::<84, 10>::new(&mut rng);
        let mut optimizers: [Adam; 5] = core::array::from_fn(|_| Adam::new(1e-3));

        let x = random_tensor::<Tensor4<B, 1, 28, 28>>(&mut rng);
        let labels: [usize; B] = core::array::from_fn(|i| i % 10);
        let (mut a1, mut a2, mut a3) = (Tensor4::zeros(), Tensor4::zeros(), Tensor4::zeros());
        let (mut a4, mut a5, mut a6) = (Tensor4::zeros(), Tensor4::zeros(), Tensor4::zeros());
        let (mut a7, mut a8, mut a9) = (Tensor2::zeros(), Tensor2::zeros(), Tensor2::zeros());
        let (mut a10, mut a11, mut logits) = (
            Tensor2::zeros(),
            Tensor2::zeros(),
            Tensor2::<B, 10>::zeros(),
        );
        let (mut d1, mut d2, mut d3) = (Tensor4::zeros(), Tensor4::zeros(), Tensor4::zeros());
        let (mut d4, mut d5, mut d6) = (Tensor4::zeros(), Tensor4::zeros(), Tensor4::zeros());
        let (mut d7, mut d8, mut d9) = (Tensor2::zeros(), Tensor2::zeros(), Tensor2::zeros());
        let (mut d10, mut d11, mut dlogits) = (
            Tensor2::zeros(),
            Tensor2::zeros(),
            Tensor2::<B, 10>::zeros(),
        );
        let (mut c1, mut c2) = (Zeroed::zeroed(), Zeroed::zeroed());

        let mut step = || {
            conv1.forward_train(&x, &mut a1, &mut c1);
            relu1.forward_train(&a1, &mut a2, &mut ());
            pool1.forward_train(&a2, &mut a3, &mut ());
            conv2.forward_train(&a3, &mut a4, &mut c2);
            relu2.forward_train(&a4, &mut a5, &mut ());
            pool2.forward_train(&a5, &mut a6, &mut ());
            flat.forward_train(&a6, &mut a7, &mut ());
            fc1.forward_train(&a7, &mut a8, &mut ());
            relu3.forward_train(&a8, &mut a9, &mut ());
            fc2.forward_train(&a9, &mut a10, &mut ());
            relu4.forward_train(&a10, &mut a11, &mut ());
            fc3.forward_train(&a11, &mut logits, &mut ());
            crate::loss::softmax_cross_entropy(&logits, &labels, &mut dlogits).unwrap();
            fc3.backward(&a11, &logits, &mut (), &dlogits, Some(&mut d11));
            relu4.backward(&a10, &a11, &mut (), &d11, Some(&mut d10));
            fc2.backward(&a9, &a10, &mut (), &d10, Some(&mut d9));
            relu3.backward(&a8, &a9, &mut (), &d9, Some(&mut d8));
            fc1.backward(&a7, &a8, &mut (), &d8, Some(&mut d7));
            flat.backward(&a6, &a7, &mut (), &d7, Some(&mut d6));
            pool2.backward(&a5, &a6, &mut (), &d6, Some(&mut d5));
            relu2.backward(&a4, &a5, &mut (), &d5, Some(&mut d4));
            conv2.backward(&a3, &a4, &mut c2, &d4, Some(&mut d3));
            pool1.backward(&a2, &a3, &mut (), &d3, Some(&mut d2));
            relu1.backward(&a1, &a2, &mut (), &d2, Some(&mut d1));
            conv1.backward(&x, &a1, &mut c1, &d1, None);
            optimizers[0].step(&mut conv1).unwrap();
            optimizers[1].step(&mut conv2).unwrap();
            optimizers[2].step(&mut fc1).unwrap();
            optimizers[3].step(&mut fc2).unwrap();
            optimizers[4].step(&mut fc3).unwrap();
            conv1.zero_grad();
            conv2.zero_grad();
            fc1.zero_grad();
            fc2.zero_grad();
            fc3.zero_grad();
        };
        let median = |times: &mut [f64]| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        };
        step();
        let mut times: alloc::vec::Vec<f64> = (0..301)
            .map(|_| {
                let t = Instant::now();
                step();
                t.elapsed().as_secs_f64()
            })
            .collect();
        let per_step = median(&mut times);
        std::println!(
            "LeNet-5 train step at batch 64: {:.0} µs median ({:.2} s per 938-step epoch)",
            per_step * 1e6,
            per_step * 938.0
        );

        // Batch-1 inference with the trained layers.
        let x1 = random_tensor::<Tensor4<1, 1, 28, 28>>(&mut rng);
        let (mut b1, mut b2, mut b3) = (Tensor4::zeros(), Tensor4::zeros(), Tensor4::zeros());
        let (mut b4, mut b5, mut b6) = (Tensor4::zeros(), Tensor4::zeros(), Tensor4::zeros());
        let (mut b7, mut b8, mut b9) = (Tensor2::zeros(), Tensor2::zeros(), Tensor2::zeros());
        let (mut b10, mut b11, mut out) = (
            Tensor2::zeros(),
            Tensor2::zeros(),
            Tensor2::<1, 10>::zeros(),
        );
        let (mut s1, mut s2) = (Zeroed::zeroed(), Zeroed::zeroed());
        let mut infer = || {
            conv1.forward(&x1, &mut b1, &mut s1);
            relu1.forward(&b1, &mut b2, &mut ());
            pool1.forward(&b2, &mut b3, &mut ());
            conv2.forward(&b3, &mut b4, &mut s2);
            relu2.forward(&b4, &mut b5, &mut ());
            pool2.forward(&b5, &mut b6, &mut ());
            flat.forward(&b6, &mut b7, &mut ());
            fc1.forward(&b7, &mut b8, &mut ());
            relu3.forward(&b8, &mut b9, &mut ());
            fc2.forward(&b9, &mut b10, &mut ());
            relu4.forward(&b10, &mut b11, &mut ());
            fc3.forward(&b11, &mut out, &mut ());
        };
        infer();
        let mut times: alloc::vec::Vec<f64> = (0..31)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..100 {
                    infer();
                }
                t.elapsed().as_secs_f64() / 100.0
            })
            .collect();
        std::println!(
            "LeNet-5 inference at batch 1: {:.1} µs median",
            median(&mut times) * 1e6
        );
    }
}
