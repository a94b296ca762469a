//! `Conv1d<..>`: a 1-D convolution over `(B, C, L)` batches, with stride, dilation, padding on
//! either side (causal padding among them) and channel groups; `conv1d(..)` in `network!`.

use crate::init::Rng;
use crate::layers::conv2d::{
    ConvLayer, ConvTrainWorkspace, ConvWorkspace, init, layer_backward, layer_forward,
    layer_forward_train,
};
use crate::layers::{Composable, Layer};
use crate::linalg::conv::{ConvAxis, ConvGrads, ConvShape};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Tensor1, Tensor3};

/// A 1-D convolution from `C_IN` channels of length `L` to `C_OUT` channels of length `OL`:
/// PyTorch's `nn.Conv1d(C_IN, C_OUT, K, stride=S, dilation=D, groups=C_IN / GROUP_IN)`, over
/// the input padded with `PL` zeros in front and `PR` behind (PyTorch's `padding=P` is
/// `PL = PR = P`; causal padding, for streaming and temporal conv nets, is
/// `PL = D·(K − 1)`, `PR = 0`, so that output `t` sees inputs `..= t` only).
///
/// Batches are `(B, C, L)` as in PyTorch: `Tensor3<B, C_IN, L>` in, `Tensor3<B, C_OUT, OL>`
/// out. The weight is `C_OUT × GROUP_IN × K` (PyTorch's `(out, in / groups, k)`); parameters
/// are visited as `weight`, then `bias`.
///
/// `OL` must be `(L + PL + PR − D·(K − 1) − 1) / S + 1` rounded down, and the groups must
/// divide both channel counts: an inline const assert checks it when the layer's forward or
/// backward is instantiated (`network!` reports a mismatch on the layer first).
///
/// It runs on the 2-D kernels ([`linalg::conv`](crate::linalg::conv)) as a convolution of
/// height 1, depthwise ones (`GROUP_IN == 1`) on their direct kernel.
///
/// ```
/// use nn_core::layers::{Conv1d, Layer};
/// use nn_core::tensor::{Tensor3, Zeroed};
///
/// // Causal: one channel, a kernel of 2 taps 2 apart, padded with 2 zeros in front only.
/// let mut conv = Conv1d::<1, 1, 5, 5, 2, 1, 2, 0, 2, 1>::new(&mut nn_core::init::seeded(0));
/// conv.weight_mut().as_mut_slice().copy_from_slice(&[1.0, 10.0]);
/// conv.bias_mut().as_mut_slice().copy_from_slice(&[0.0]);
///
/// let x = Tensor3::<1, 1, 5>::from_fn(|[_, _, t]| (t + 1) as f32);
/// let mut y = Tensor3::<1, 1, 5>::zeros();
/// conv.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // y[t] = x[t − 2] + 10·x[t]: nothing from the future.
/// assert_eq!(y.as_slice(), &[10.0, 20.0, 31.0, 42.0, 53.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv1d<
    const C_IN: usize,
    const C_OUT: usize,
    const L: usize,
    const OL: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const GROUP_IN: usize,
> {
    weight: Tensor3<C_OUT, GROUP_IN, K>,
    bias: Tensor1<C_OUT>,
    weight_grad: Tensor3<C_OUT, GROUP_IN, K>,
    bias_grad: Tensor1<C_OUT>,
}

macro_rules! conv1d_impl {
    ($($body:tt)*) => {
        impl<
            const C_IN: usize,
            const C_OUT: usize,
            const L: usize,
            const OL: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const D: usize,
            const GROUP_IN: usize,
        > $($body)*
    };
}

conv1d_impl! {
ConvLayer for Conv1d<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN> {
    const SHAPE: ConvShape = ConvShape {
        c_in: C_IN,
        c_out: C_OUT,
        groups: match C_IN.checked_div(GROUP_IN) {
            Some(groups) => groups,
            None => 0,
        },
        height: ConvAxis::unit(),
        width: ConvAxis { size: L, out: OL, kernel: K, stride: S, dilation: D, pad_before: PL, pad_after: PR },
    };
}
}

conv1d_impl! {
Conv1d<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN> {
    /// The number of scalar parameters: `C_OUT · GROUP_IN · K + C_OUT`.
    pub const PARAM_COUNT: usize = C_OUT * GROUP_IN * K + C_OUT;

    /// Evaluated where forward and backward are instantiated: the sizes agree.
    const CHECK: () = assert!(
        <Self as ConvLayer>::SHAPE.is_valid() && GROUP_IN * <Self as ConvLayer>::SHAPE.groups == C_IN,
        "conv1d: needs every size >= 1, groups dividing both channel counts, and \
         OL == (L + PL + PR - D * (K - 1) - 1) / S + 1"
    );

    /// A layer with PyTorch's default initialisation: weight and bias `U(−l, l)` with
    /// `l = 1/√(GROUP_IN · K)`.
    pub fn new(rng: &mut Rng) -> Self {
        let mut layer = Self {
            weight: Tensor3::zeros(),
            bias: Tensor1::zeros(),
            weight_grad: Tensor3::zeros(),
            bias_grad: Tensor1::zeros(),
        };
        init(rng, GROUP_IN * K, layer.weight.as_mut_slice(), layer.bias.as_mut_slice());
        layer
    }

    /// The weight, `C_OUT × GROUP_IN × K`.
    pub fn weight(&self) -> &Tensor3<C_OUT, GROUP_IN, K> {
        &self.weight
    }
    /// The weight, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor3<C_OUT, GROUP_IN, K> {
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
    pub fn weight_grad(&self) -> &Tensor3<C_OUT, GROUP_IN, K> {
        &self.weight_grad
    }
    /// The accumulated bias gradient.
    pub fn bias_grad(&self) -> &Tensor1<C_OUT> {
        &self.bias_grad
    }
}
}

conv1d_impl! {
HasParams for Conv1d<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[C_OUT, GROUP_IN, K],
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
            shape: &[C_OUT, GROUP_IN, K],
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

conv1d_impl! {
Layer for Conv1d<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN> {
    type Input<const B: usize> = Tensor3<B, C_IN, L>;
    type Output<const B: usize> = Tensor3<B, C_OUT, OL>;
    type Scratch<const B: usize> = ConvWorkspace<B, Self>;
    type Cache<const B: usize> = ConvTrainWorkspace<B, Self>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, C_IN, L>,
        y: &mut Tensor3<B, C_OUT, OL>,
        scratch: &mut ConvWorkspace<B, Self>,
    ) {
        const { Self::CHECK };
        let (weight, bias) = (self.weight.as_slice(), self.bias.as_slice());
        layer_forward(x.as_slice(), weight, bias, y.as_mut_slice(), scratch);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, C_IN, L>,
        y: &mut Tensor3<B, C_OUT, OL>,
        cache: &mut ConvTrainWorkspace<B, Self>,
    ) {
        const { Self::CHECK };
        let (weight, bias) = (self.weight.as_slice(), self.bias.as_slice());
        layer_forward_train(x.as_slice(), weight, bias, y.as_mut_slice(), cache);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor3<B, C_IN, L>,
        _y: &Tensor3<B, C_OUT, OL>,
        cache: &mut ConvTrainWorkspace<B, Self>,
        dy: &Tensor3<B, C_OUT, OL>,
        dx: Option<&mut Tensor3<B, C_IN, L>>,
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

conv1d_impl! {
Composable for Conv1d<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Zeroed;
    use crate::testing::{check_gradients, random_tensor};

    /// The layer on a random batch against plain loops over the same weights.
    fn matches_loops<
        const C_IN: usize,
        const C_OUT: usize,
        const L: usize,
        const OL: usize,
        const K: usize,
        const S: usize,
        const PL: usize,
        const PR: usize,
        const D: usize,
        const GROUP_IN: usize,
        const B: usize,
    >(
        seed: u64,
    ) {
        let mut rng = crate::init::seeded(seed);
        let conv = Conv1d::<C_IN, C_OUT, L, OL, K, S, PL, PR, D, GROUP_IN>::new(&mut rng);
        let x = random_tensor::<Tensor3<B, C_IN, L>>(&mut rng);
        let mut y = Tensor3::<B, C_OUT, OL>::full(f32::NAN);
        conv.forward(&x, &mut y, &mut Zeroed::zeroed());
        let group_out = C_OUT / (C_IN / GROUP_IN);
        let want = Tensor3::<B, C_OUT, OL>::from_fn(|[b, o, t]| {
            let mut sum = conv.bias()[[o]];
            for g in 0..GROUP_IN {
                let c = o / group_out * GROUP_IN + g;
                for k in 0..K {
                    let i = (t * S + k * D) as isize - PL as isize;
                    if (0..L as isize).contains(&i) {
                        sum += conv.weight()[[o, g, k]] * x[[b, c, i as usize]];
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
        matches_loops::<3, 4, 20, 18, 3, 1, 0, 0, 1, 3, 2>(1);
        matches_loops::<2, 3, 20, 20, 3, 1, 4, 0, 2, 2, 2>(2); // causal, dilation 2
        matches_loops::<4, 6, 17, 9, 3, 2, 1, 1, 1, 2, 3>(3); // stride 2, 2 groups
        matches_loops::<4, 8, 12, 12, 5, 1, 2, 2, 1, 1, 2>(4); // depthwise, multiplier 2
        matches_loops::<4, 4, 30, 30, 3, 1, 8, 0, 4, 1, 1>(5); // depthwise causal, dilation 4
        matches_loops::<2, 2, 9, 3, 2, 3, 0, 0, 1, 2, 1>(6); // stride 3, floor rule
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(7);
        let mut causal = Conv1d::<2, 3, 9, 9, 3, 1, 4, 0, 2, 2>::new(&mut rng);
        let x = random_tensor::<Tensor3<2, 2, 9>>(&mut rng);
        check_gradients::<_, 2>(&mut causal, &x, 8).unwrap();

        let mut grouped = Conv1d::<4, 6, 11, 5, 3, 2, 1, 0, 1, 2>::new(&mut rng);
        let x = random_tensor::<Tensor3<2, 4, 11>>(&mut rng);
        check_gradients::<_, 2>(&mut grouped, &x, 9).unwrap();

        let mut depthwise = Conv1d::<3, 6, 10, 8, 3, 1, 2, 0, 2, 1>::new(&mut rng);
        let x = random_tensor::<Tensor3<2, 3, 10>>(&mut rng);
        check_gradients::<_, 2>(&mut depthwise, &x, 10).unwrap();
    }

    /// Causal padding: changing a later input never changes an earlier output.
    #[test]
    fn causal_outputs_do_not_see_the_future() {
        let mut rng = crate::init::seeded(11);
        let conv = Conv1d::<2, 3, 16, 16, 3, 1, 8, 0, 4, 2>::new(&mut rng);
        let x = random_tensor::<Tensor3<1, 2, 16>>(&mut rng);
        let mut later = x.clone();
        later[[0, 0, 10]] += 1.0;
        later[[0, 1, 12]] -= 1.0;
        let (mut y, mut y_later) = (Tensor3::<1, 3, 16>::zeros(), Tensor3::zeros());
        conv.forward(&x, &mut y, &mut Zeroed::zeroed());
        conv.forward(&later, &mut y_later, &mut Zeroed::zeroed());
        for o in 0..3 {
            for t in 0..10 {
                assert_eq!(y[[0, o, t]], y_later[[0, o, t]], "output {o} at step {t}");
            }
            // Step 10 reads inputs 2, 6 and 10; step 14 reads 6, 10 and 14.
            assert_ne!(y[[0, o, 10]], y_later[[0, o, 10]], "output {o} at step 10");
            assert_ne!(y[[0, o, 14]], y_later[[0, o, 14]], "output {o} at step 14");
        }
    }
}
