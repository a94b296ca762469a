//! `Rnn<T, F, H, A>`: an Elman recurrent layer over batch-first sequences; `rnn(..)` in
//! `network!`.

use core::fmt::Debug;
use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::recurrent::{
    add_bias_grad, add_recurrent_product, add_weight_grad, batch1_params, buffer, init_uniform,
    pack_recurrent_weight, packed_recurrent_len, project_inputs, times, to_batch_first,
    to_time_major, transposed_len,
};
use crate::layers::{Composable, Layer};
use crate::linalg::recurrent::{self, Nonlinearity, RecurrentParams};
use crate::linalg::{Vectorize, vectorized};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Aligned, Tensor1, Tensor2, Tensor3, Zeroed};

/// The nonlinearity of an [`Rnn`]: [`RnnTanh`] (the default, as in PyTorch and Keras) or
/// [`RnnRelu`] (PyTorch's `nonlinearity='relu'`).
pub trait RnnActivation: Clone + Copy + Debug + Default + Send + Sync + 'static {
    /// PyTorch's name for it (`nonlinearity=`).
    const NAME: &'static str;
    /// The same function as the shared kernels name it.
    const KIND: Nonlinearity;
    /// The activation of a pre-activation `x`.
    fn apply(x: f32) -> f32;
    /// Its derivative, written in terms of the output `y = apply(x)`.
    fn derivative(y: f32) -> f32;
}

/// `tanh`: the default [`RnnActivation`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RnnTanh;

/// `max(x, 0)`: the [`RnnActivation`] of PyTorch's `nn.RNN(nonlinearity='relu')`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RnnRelu;

impl RnnActivation for RnnTanh {
    const NAME: &'static str = "tanh";
    const KIND: Nonlinearity = Nonlinearity::Tanh;
    #[inline(always)]
    fn apply(x: f32) -> f32 {
        Self::KIND.apply(x)
    }
    #[inline(always)]
    fn derivative(y: f32) -> f32 {
        1.0 - y * y
    }
}

impl RnnActivation for RnnRelu {
    const NAME: &'static str = "relu";
    const KIND: Nonlinearity = Nonlinearity::Relu;
    #[inline(always)]
    fn apply(x: f32) -> f32 {
        Self::KIND.apply(x)
    }
    #[inline(always)]
    fn derivative(y: f32) -> f32 {
        if y > 0.0 { 1.0 } else { 0.0 }
    }
}

/// An Elman recurrent layer: `T` steps of `F` features in, every step's hidden state of `H`
/// features out, `h_t = act(x_t · W_ihᵀ + b_ih + h_{t−1} · W_hhᵀ + b_hh)` from `h_{−1} = 0`.
///
/// PyTorch's `nn.RNN(F, H, batch_first=True)` (one layer, one direction), or Keras's
/// `SimpleRNN(H, return_sequences=True)`: batch-first `Tensor3<B, T, F>` in,
/// `Tensor3<B, T, H>` out. Follow it with [`Last`](super::Last) for the final state only.
/// `A` is the nonlinearity, [`RnnTanh`] unless given.
///
/// Parameters are PyTorch's, in its order and layout: `weight_ih_l0` (`H × F`),
/// `weight_hh_l0` (`H × H`), `bias_ih_l0`, `bias_hh_l0`, all initialised `U(−1/√H, 1/√H)` as
/// PyTorch does.
///
/// The work per sequence is one product `(B·T × F) · W_ihᵀ` for the inputs of every step,
/// then one `(B × H) · W_hhᵀ` per step; backward sums the weight gradients over all steps in
/// one product each. The scratch ([`RnnScratch`]) and cache ([`RnnCache`]) hold every step's
/// state, made once with the tape, so no step allocates.
///
/// ```
/// use nn_core::layers::{Layer, Rnn, RnnRelu};
/// use nn_core::tensor::{Tensor3, Zeroed};
///
/// let mut rnn = Rnn::<2, 1, 1, RnnRelu>::new(&mut nn_core::init::seeded(0));
/// rnn.weight_ih_mut().as_mut_slice().copy_from_slice(&[0.5]);
/// rnn.weight_hh_mut().as_mut_slice().copy_from_slice(&[2.0]);
/// rnn.bias_ih_mut().as_mut_slice().copy_from_slice(&[0.25]);
/// rnn.bias_hh_mut().as_mut_slice().copy_from_slice(&[0.0]);
///
/// let x = Tensor3::<1, 2, 1>::from_slice(&[1.0, -1.0])?;
/// let mut y = Tensor3::<1, 2, 1>::zeros();
/// rnn.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // h0 = relu(0.5 + 0.25) = 0.75; h1 = relu(-0.5 + 0.25 + 2 · 0.75) = 1.25
/// assert_eq!(y.as_slice(), &[0.75, 1.25]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Rnn<const T: usize, const F: usize, const H: usize, A: RnnActivation = RnnTanh> {
    weight_ih: Tensor2<H, F>,
    weight_hh: Tensor2<H, H>,
    bias_ih: Tensor1<H>,
    bias_hh: Tensor1<H>,
    weight_ih_grad: Tensor2<H, F>,
    weight_hh_grad: Tensor2<H, H>,
    bias_ih_grad: Tensor1<H>,
    bias_hh_grad: Tensor1<H>,
    activation: PhantomData<A>,
}

/// The working space of [`Rnn`]'s inference forward: the time-major input and every step's
/// hidden state, `B · T · (F + H) + H` values, allocated once by [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct RnnScratch<const B: usize, const T: usize, const F: usize, const H: usize> {
    /// `(T, B, F)`.
    xt: Aligned,
    /// `(T, B, H)`: pre-activations, then (in place) the states.
    hs: Aligned,
    /// `b_ih + b_hh`.
    bias: Aligned,
    /// `W_ihᵀ` (`F × H`), then the `W_ih` it was made from (see `project_inputs`).
    weight_ih_t: Aligned,
    /// `W_hh` (`H × H`), packed for this batch size (see `pack_recurrent_weight`).
    weight_hh_packed: Aligned,
}

/// The cache of [`Rnn`]'s training forward: its [`RnnScratch`] (every step's state), and the
/// working space of `backward`: every step's pre-activation gradient, the time-major input
/// gradient and one step's state gradient.
#[derive(Clone, Debug)]
pub struct RnnCache<const B: usize, const T: usize, const F: usize, const H: usize> {
    forward: RnnScratch<B, T, F, H>,
    /// `(T, B, H)`.
    dgates: Aligned,
    /// `(T, B, F)`.
    dxt: Aligned,
    /// `(B, H)`: the gradient reaching `h_t` from step `t + 1`.
    dh: Aligned,
}

impl<const B: usize, const T: usize, const F: usize, const H: usize> Zeroed
    for RnnScratch<B, T, F, H>
{
    fn zeroed() -> Self {
        Self {
            xt: buffer(T * B * F),
            hs: buffer(T * B * H),
            bias: buffer(H),
            weight_ih_t: buffer(transposed_len(B, F, H)),
            weight_hh_packed: buffer(packed_recurrent_len(B, H, H)),
        }
    }
}

impl<const B: usize, const T: usize, const F: usize, const H: usize> Zeroed
    for RnnCache<B, T, F, H>
{
    fn zeroed() -> Self {
        Self {
            forward: Zeroed::zeroed(),
            dgates: buffer(T * B * H),
            dxt: buffer(T * B * F),
            dh: buffer(B * H),
        }
    }
}

impl<const T: usize, const F: usize, const H: usize, A: RnnActivation> Rnn<T, F, H, A> {
    /// The number of scalar parameters: `H · F + H · H + 2 · H`.
    pub const PARAM_COUNT: usize = H * F + H * H + 2 * H;

    /// A layer with PyTorch's initialisation: every parameter `U(−1/√H, 1/√H)`.
    pub fn new(rng: &mut Rng) -> Self {
        let mut layer = Self {
            weight_ih: Tensor2::zeros(),
            weight_hh: Tensor2::zeros(),
            bias_ih: Tensor1::zeros(),
            bias_hh: Tensor1::zeros(),
            weight_ih_grad: Tensor2::zeros(),
            weight_hh_grad: Tensor2::zeros(),
            bias_ih_grad: Tensor1::zeros(),
            bias_hh_grad: Tensor1::zeros(),
            activation: PhantomData,
        };
        let params = [
            layer.weight_ih.as_mut_slice(),
            layer.weight_hh.as_mut_slice(),
            layer.bias_ih.as_mut_slice(),
            layer.bias_hh.as_mut_slice(),
        ];
        init_uniform(params, H, rng);
        layer
    }

    /// `W_ih`, `H × F` (PyTorch's `weight_ih_l0`).
    pub fn weight_ih(&self) -> &Tensor2<H, F> {
        &self.weight_ih
    }
    /// `W_ih`, mutably.
    pub fn weight_ih_mut(&mut self) -> &mut Tensor2<H, F> {
        &mut self.weight_ih
    }
    /// `W_hh`, `H × H` (PyTorch's `weight_hh_l0`).
    pub fn weight_hh(&self) -> &Tensor2<H, H> {
        &self.weight_hh
    }
    /// `W_hh`, mutably.
    pub fn weight_hh_mut(&mut self) -> &mut Tensor2<H, H> {
        &mut self.weight_hh
    }
    /// `b_ih` (PyTorch's `bias_ih_l0`).
    pub fn bias_ih(&self) -> &Tensor1<H> {
        &self.bias_ih
    }
    /// `b_ih`, mutably.
    pub fn bias_ih_mut(&mut self) -> &mut Tensor1<H> {
        &mut self.bias_ih
    }
    /// `b_hh` (PyTorch's `bias_hh_l0`).
    pub fn bias_hh(&self) -> &Tensor1<H> {
        &self.bias_hh
    }
    /// `b_hh`, mutably.
    pub fn bias_hh_mut(&mut self) -> &mut Tensor1<H> {
        &mut self.bias_hh
    }
    /// The accumulated gradient of `W_ih`.
    pub fn weight_ih_grad(&self) -> &Tensor2<H, F> {
        &self.weight_ih_grad
    }
    /// The accumulated gradient of `W_hh`.
    pub fn weight_hh_grad(&self) -> &Tensor2<H, H> {
        &self.weight_hh_grad
    }
    /// The accumulated gradient of `b_ih`.
    pub fn bias_ih_grad(&self) -> &Tensor1<H> {
        &self.bias_ih_grad
    }
    /// The accumulated gradient of `b_hh`.
    pub fn bias_hh_grad(&self) -> &Tensor1<H> {
        &self.bias_hh_grad
    }

    /// Both forwards: every step's state into `s.hs` (time-major) and `y` (batch-first).
    fn run<const B: usize>(&self, x: &[f32], y: &mut [f32], s: &mut RnnScratch<B, T, F, H>) {
        to_time_major(x, &mut s.xt, B, T, F);
        if B == 1 {
            // The kernel a baked network runs, on the weights laid out as a baked network's.
            let params = batch1_params(
                self.params(),
                &mut s.weight_ih_t,
                &mut s.weight_hh_packed,
                H,
            );
            recurrent::rnn(&params, A::KIND, x, &mut s.hs, &mut s.bias);
            y.copy_from_slice(&s.hs);
            return;
        }
        let bias = self.bias_ih.iter().zip(self.bias_hh.iter());
        for (sum, (&a, &b)) in s.bias.iter_mut().zip(bias) {
            *sum = a + b;
        }
        let w_ih = self.weight_ih.as_slice();
        project_inputs(
            &s.xt,
            w_ih,
            &mut s.weight_ih_t,
            &s.bias,
            &mut s.hs,
            T * B,
            F,
        );
        let w_hh = self.weight_hh.as_slice();
        pack_recurrent_weight(w_hh, &mut s.weight_hh_packed, B, H, H);
        let step = B * H;
        for t in 0..T {
            let (earlier, rest) = s.hs.split_at_mut(t * step);
            let current = &mut rest[..step];
            if t > 0 {
                let previous = &earlier[(t - 1) * step..][..step];
                add_recurrent_product(previous, w_hh, &s.weight_hh_packed, current, (B, B), H, H);
            }
            recurrent::activate(current, A::KIND);
        }
        to_batch_first(&s.hs, y, B, T, H);
    }

    /// The parameters as the shared kernels take them.
    fn params(&self) -> RecurrentParams<'_> {
        RecurrentParams {
            weight_ih: self.weight_ih.as_slice(),
            weight_hh: self.weight_hh.as_slice(),
            bias_ih: self.bias_ih.as_slice(),
            bias_hh: self.bias_hh.as_slice(),
        }
    }
}

/// One step's pre-activation gradients, for every sample: `dg = (dy + dh) · A'(h)`, with `dy`
/// batch-first (`(dy, t, steps)`) and `dg`, `h`, `dh` rows of `hidden` values.
struct ActivationGrad<'a, A> {
    dg: &'a mut [f32],
    h: &'a [f32],
    dy: (&'a [f32], usize, usize),
    dh: &'a [f32],
    hidden: usize,
    activation: PhantomData<A>,
}

impl<A: RnnActivation> Vectorize for ActivationGrad<'_, A> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let ((dy, t, steps), hidden) = (self.dy, self.hidden);
        for (b, dg) in self.dg.chunks_exact_mut(hidden.max(1)).enumerate() {
            let dy = &dy[(b * steps + t) * hidden..][..hidden];
            let rows = dg.iter_mut().zip(&self.h[b * hidden..][..hidden]);
            for ((g, &h), (&dy, &dh)) in rows.zip(dy.iter().zip(&self.dh[b * hidden..][..hidden])) {
                *g = (dy + dh) * A::derivative(h);
            }
        }
    }
}

impl<const T: usize, const F: usize, const H: usize, A: RnnActivation> HasParams
    for Rnn<T, F, H, A>
{
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let params: [crate::param::NamedParam<'_>; 4] = [
            (
                "weight_ih_l0",
                &[H, F],
                self.weight_ih.as_mut_slice(),
                self.weight_ih_grad.as_mut_slice(),
            ),
            (
                "weight_hh_l0",
                &[H, H],
                self.weight_hh.as_mut_slice(),
                self.weight_hh_grad.as_mut_slice(),
            ),
            (
                "bias_ih_l0",
                &[H],
                self.bias_ih.as_mut_slice(),
                self.bias_ih_grad.as_mut_slice(),
            ),
            (
                "bias_hh_l0",
                &[H],
                self.bias_hh.as_mut_slice(),
                self.bias_hh_grad.as_mut_slice(),
            ),
        ];
        for (name, shape, value, grad) in params {
            visitor.visit(&path.child(name), Param { value, grad, shape });
        }
    }

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        path: &ParamPath<'_>,
        visitor: &mut V,
    ) {
        let params: [(&str, &[usize], &[f32]); 4] = [
            ("weight_ih_l0", &[H, F], self.weight_ih.as_slice()),
            ("weight_hh_l0", &[H, H], self.weight_hh.as_slice()),
            ("bias_ih_l0", &[H], self.bias_ih.as_slice()),
            ("bias_hh_l0", &[H], self.bias_hh.as_slice()),
        ];
        for (name, shape, value) in params {
            visitor.visit(&path.child(name), crate::param::ParamRef { value, shape });
        }
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const T: usize, const F: usize, const H: usize, A: RnnActivation> Layer for Rnn<T, F, H, A> {
    type Input<const B: usize> = Tensor3<B, T, F>;
    type Output<const B: usize> = Tensor3<B, T, H>;
    type Scratch<const B: usize> = RnnScratch<B, T, F, H>;
    type Cache<const B: usize> = RnnCache<B, T, F, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor3<B, T, H>,
        scratch: &mut RnnScratch<B, T, F, H>,
    ) {
        self.run(x.as_slice(), y.as_mut_slice(), scratch);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor3<B, T, H>,
        cache: &mut RnnCache<B, T, F, H>,
    ) {
        self.run(x.as_slice(), y.as_mut_slice(), &mut cache.forward);
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, F>,
        _y: &Tensor3<B, T, H>,
        cache: &mut RnnCache<B, T, F, H>,
        dy: &Tensor3<B, T, H>,
        dx: Option<&mut Tensor3<B, T, F>>,
    ) {
        let RnnCache {
            forward,
            dgates,
            dxt,
            dh,
        } = cache;
        let (hs, dy) = (&forward.hs, dy.as_slice());
        let step = B * H;
        dh.fill(0.0);
        for t in (0..T).rev() {
            let dg = &mut dgates[t * step..][..step];
            let h = &hs[t * step..][..step];
            vectorized(ActivationGrad::<A> {
                dg,
                h,
                dy: (dy, t, T),
                dh,
                hidden: H,
                activation: PhantomData,
            });
            if t > 0 {
                times(dg, self.weight_hh.as_slice(), 0.0, dh, B, H, H);
            }
        }
        let later = T.saturating_sub(1) * B;
        add_weight_grad(
            self.weight_hh_grad.as_mut_slice(),
            &dgates[step.min(dgates.len())..],
            &hs[..later * H],
            later,
            H,
            H,
        );
        add_weight_grad(
            self.weight_ih_grad.as_mut_slice(),
            dgates,
            &forward.xt,
            T * B,
            H,
            F,
        );
        add_bias_grad(self.bias_ih_grad.as_mut_slice(), dgates);
        add_bias_grad(self.bias_hh_grad.as_mut_slice(), dgates);
        if let Some(dx) = dx {
            times(dgates, self.weight_ih.as_slice(), 0.0, dxt, T * B, H, F);
            to_batch_first(dxt, dx.as_mut_slice(), B, T, F);
        }
    }
}

impl<const T: usize, const F: usize, const H: usize, A: RnnActivation> Composable
    for Rnn<T, F, H, A>
{
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::recurrent::tests_support::{
        check_batch_paths_agree, check_causal, noisy_biases,
    };
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn single_step_by_hand() {
        let mut rnn = Rnn::<1, 2, 2>::new(&mut crate::init::seeded(0));
        rnn.weight_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.5, -1.0, 0.25, 0.0]);
        rnn.bias_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.1, 0.2]);
        rnn.bias_hh_mut()
            .as_mut_slice()
            .copy_from_slice(&[-0.3, 0.0]);
        let x = Tensor3::<1, 1, 2>::from_slice(&[1.0, 0.5]).unwrap();
        let mut y = Tensor3::<1, 1, 2>::zeros();
        rnn.forward(&x, &mut y, &mut Zeroed::zeroed());
        // h = tanh([0.5 - 0.5 + 0.1 - 0.3, 0.25 + 0.2]) = tanh([-0.2, 0.45])
        let want = [-0.197_375_32, 0.421_899_7];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn two_steps_by_hand_with_relu() {
        let mut rnn = Rnn::<2, 1, 2, RnnRelu>::new(&mut crate::init::seeded(0));
        rnn.weight_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, -1.0]);
        rnn.weight_hh_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.5, 0.0, 1.0, 2.0]);
        rnn.bias_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.0, 0.5]);
        rnn.bias_hh_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.0, 0.0]);
        let x = Tensor3::<1, 2, 1>::from_slice(&[2.0, 1.0]).unwrap();
        let mut y = Tensor3::<1, 2, 2>::zeros();
        rnn.forward_train(&x, &mut y, &mut Zeroed::zeroed());
        // h0 = relu([2, -1.5]) = [2, 0]; h1 = relu([1 + 1, -1 + 0.5 + 2]) = [2, 1.5]
        assert_eq!(y.as_slice(), &[2.0, 0.0, 2.0, 1.5]);
    }

    #[test]
    fn gradients_through_time_match_central_differences() {
        let mut rng = crate::init::seeded(11);
        let mut rnn = Rnn::<6, 3, 4>::new(&mut rng);
        noisy_biases(&mut rnn, &mut rng);
        let x = random_tensor::<Tensor3<2, 6, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut rnn, &x, 12).unwrap();
    }

    #[test]
    fn relu_gradients_through_time_match_central_differences() {
        let mut rng = crate::init::seeded(13);
        let mut rnn = Rnn::<5, 3, 4, RnnRelu>::new(&mut rng);
        noisy_biases(&mut rnn, &mut rng);
        let x = random_tensor::<Tensor3<3, 5, 3>>(&mut rng);
        check_gradients::<_, 3>(&mut rnn, &x, 14).unwrap();
    }

    /// Batches of 4 and more take the other recurrent product (see `PLAIN_FROM_ROWS`).
    #[test]
    fn wide_batches_agree_and_match_central_differences() {
        let mut rng = crate::init::seeded(17);
        let mut rnn = Rnn::<5, 3, 4>::new(&mut rng);
        noisy_biases(&mut rnn, &mut rng);
        check_batch_paths_agree(&rnn);
        check_batch_paths_agree(&Rnn::<5, 3, 4, RnnRelu>::new(&mut rng));
        let x = random_tensor::<Tensor3<4, 5, 3>>(&mut rng);
        check_gradients::<_, 4>(&mut rnn, &x, 18).unwrap();
    }

    #[test]
    fn later_inputs_do_not_change_earlier_outputs() {
        check_causal(&Rnn::<6, 3, 4>::new(&mut crate::init::seeded(15)));
        check_causal(&Rnn::<6, 3, 4, RnnRelu>::new(&mut crate::init::seeded(16)));
    }
}
