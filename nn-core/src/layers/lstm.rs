//! `Lstm<T, F, H>`: a long short-term memory layer over batch-first sequences; `lstm(..)` in
//! `network!`.

use crate::init::Rng;
use crate::layers::recurrent::{
    add_bias_grad, add_recurrent_product, add_weight_grad_via_transpose, batch1_params, buffer,
    init_uniform, pack_backward_weight, pack_recurrent_weight, packed_backward_len,
    packed_recurrent_len, project_inputs, recurrent_state_grad, times, to_batch_first,
    to_time_major, transposed_len,
};
use crate::layers::{Composable, Layer};
use crate::linalg::recurrent::{self, LstmBuffers, RecurrentParams};
use crate::linalg::{Vectorize, threads, vectorized};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Aligned, Tensor2, Tensor3, Zeroed};

/// A long short-term memory layer: `T` steps of `F` features in, every step's hidden state of
/// `H` features out. PyTorch's `nn.LSTM(F, H, batch_first=True)` (one layer, one direction),
/// Keras's `LSTM(H, return_sequences=True)`:
///
/// ```text
/// i = σ(x W_iiᵀ + b_ii + h W_hiᵀ + b_hi)      f = σ(x W_ifᵀ + b_if + h W_hfᵀ + b_hf)
/// g = tanh(x W_igᵀ + b_ig + h W_hgᵀ + b_hg)   o = σ(x W_ioᵀ + b_io + h W_hoᵀ + b_ho)
/// c' = f ⊙ c + i ⊙ g                          h' = o ⊙ tanh(c')
/// ```
///
/// from `h = c = 0`. Batch-first `Tensor3<B, T, F>` in, `Tensor3<B, T, H>` (every step's `h`)
/// out; follow it with [`Last`](super::Last) for the final state only.
///
/// Parameters are PyTorch's, in its order, layout and gate order (`i, f, g, o`):
/// `weight_ih_l0` (`4·H × F`, held as a `Tensor3<4, H, F>`: gate, row, column, the same
/// row-major values), `weight_hh_l0` (`4·H × H`), `bias_ih_l0` and `bias_hh_l0` (`4·H`, held
/// as `Tensor2<4, H>`), all initialised `U(−1/√H, 1/√H)` as PyTorch does.
///
/// The work per sequence is one product `(B·T × F) · W_ihᵀ` for the gates' input part at every
/// step (as cuDNN and oneDNN do), then one `(B × H) · W_hhᵀ` per step; backward gathers every
/// step's gate gradients and forms `dW_ih`, `dW_hh` and `dx` with one product each. The scratch
/// ([`LstmScratch`]) and cache ([`LstmCache`]) hold every step's gates and states, made once
/// with the tape, so no step allocates. `backward` overwrites the cached gates with their
/// gradients: run `forward_train` again before another `backward`.
///
/// ```
/// use nn_core::layers::{Layer, Lstm};
/// use nn_core::tensor::{Tensor, Tensor3, Zeroed};
///
/// // One feature, one unit, zero weights: every gate sees only its bias.
/// let mut lstm = Lstm::<2, 1, 1>::new(&mut nn_core::init::seeded(0));
/// lstm.weight_ih_mut().fill(0.0);
/// lstm.weight_hh_mut().fill(0.0);
/// lstm.bias_hh_mut().fill(0.0);
/// // i, f, g, o: open input and output gates, forget half, candidate 1.
/// lstm.bias_ih_mut().as_mut_slice().copy_from_slice(&[20.0, 0.0, 20.0, 20.0]);
///
/// let x = Tensor3::<1, 2, 1>::zeros();
/// let mut y = Tensor3::<1, 2, 1>::zeros();
/// lstm.forward(&x, &mut y, &mut Zeroed::zeroed());
/// // c0 = 1, h0 = tanh(1); c1 = 0.5 · 1 + 1 = 1.5, h1 = tanh(1.5)
/// assert!((y[[0, 0, 0]] - 1f32.tanh()).abs() < 1e-6);
/// assert!((y[[0, 1, 0]] - 1.5f32.tanh()).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Lstm<const T: usize, const F: usize, const H: usize> {
    weight_ih: Tensor3<4, H, F>,
    weight_hh: Tensor3<4, H, H>,
    bias_ih: Tensor2<4, H>,
    bias_hh: Tensor2<4, H>,
    weight_ih_grad: Tensor3<4, H, F>,
    weight_hh_grad: Tensor3<4, H, H>,
    bias_ih_grad: Tensor2<4, H>,
    bias_hh_grad: Tensor2<4, H>,
}

/// The working space of [`Lstm`]'s inference forward: the time-major input, and every step's
/// gates, cell state, its `tanh` and hidden state, `B · T · (F + 7·H) + 4·H` values,
/// allocated once by [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct LstmScratch<const B: usize, const T: usize, const F: usize, const H: usize> {
    /// `(T, B, F)`.
    xt: Aligned,
    /// `(T, B, 4·H)`: pre-activations, then (in place) the gates `i, f, g, o`.
    gates: Aligned,
    /// `(T, B, H)`: `c_t`.
    cs: Aligned,
    /// `(T, B, H)`: `tanh(c_t)`.
    tanh_cs: Aligned,
    /// `(T, B, H)`: `h_t`.
    hs: Aligned,
    /// `b_ih + b_hh`.
    bias: Aligned,
    /// `W_ihᵀ` (`F × 4·H`), then the `W_ih` it was made from (see `project_inputs`).
    weight_ih_t: Aligned,
    /// `W_hh` (`4·H × H`), packed for this batch size (see `pack_recurrent_weight`).
    weight_hh_packed: Aligned,
}

/// The cache of [`Lstm`]'s training forward: its [`LstmScratch`] (every step's gates and
/// states), and the working space of `backward`: the time-major input gradient and one step's
/// gradients of `h` and `c`. `backward` turns the cached gates into their gradients in place.
#[derive(Clone, Debug)]
pub struct LstmCache<const B: usize, const T: usize, const F: usize, const H: usize> {
    forward: LstmScratch<B, T, F, H>,
    /// `(T, B, F)`.
    dxt: Aligned,
    /// `(B, H)`: the gradient reaching `h_t` from step `t + 1`.
    dh: Aligned,
    /// `(B, H)`: the gradient reaching `c_t` from step `t + 1`.
    dc: Aligned,
    /// `dW_ihᵀ` and `dW_hhᵀ` of one backward, `(F + H) × 4·H`.
    grad_t: Aligned,
    /// `W_hh`, packed, for batches of 4 and more (see `recurrent_state_grad`).
    weight_hh_packed: Aligned,
}

impl<const B: usize, const T: usize, const F: usize, const H: usize> Zeroed
    for LstmScratch<B, T, F, H>
{
    fn zeroed() -> Self {
        Self {
            xt: buffer(T * B * F),
            gates: buffer(T * B * 4 * H),
            cs: buffer(T * B * H),
            tanh_cs: buffer(T * B * H),
            hs: buffer(T * B * H),
            bias: buffer(4 * H),
            weight_ih_t: buffer(transposed_len(B, F, 4 * H)),
            weight_hh_packed: buffer(packed_recurrent_len(B, 4 * H, H)),
        }
    }
}

impl<const B: usize, const T: usize, const F: usize, const H: usize> Zeroed
    for LstmCache<B, T, F, H>
{
    fn zeroed() -> Self {
        Self {
            forward: Zeroed::zeroed(),
            dxt: buffer(T * B * F),
            dh: buffer(B * H),
            dc: buffer(B * H),
            grad_t: buffer((F + H) * 4 * H),
            weight_hh_packed: buffer(packed_backward_len(B, 4 * H, H)),
        }
    }
}

impl<const T: usize, const F: usize, const H: usize> Lstm<T, F, H> {
    /// The number of scalar parameters: `4·H · F + 4·H · H + 2 · 4·H`.
    pub const PARAM_COUNT: usize = 4 * H * F + 4 * H * H + 8 * H;

    /// A layer with PyTorch's initialisation: every parameter `U(−1/√H, 1/√H)`.
    pub fn new(rng: &mut Rng) -> Self {
        let mut layer = Self {
            weight_ih: Tensor3::zeros(),
            weight_hh: Tensor3::zeros(),
            bias_ih: Tensor2::zeros(),
            bias_hh: Tensor2::zeros(),
            weight_ih_grad: Tensor3::zeros(),
            weight_hh_grad: Tensor3::zeros(),
            bias_ih_grad: Tensor2::zeros(),
            bias_hh_grad: Tensor2::zeros(),
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

    /// `W_ih`: PyTorch's `weight_ih_l0` (`4·H × F`), as gate × row × column (`i, f, g, o`).
    pub fn weight_ih(&self) -> &Tensor3<4, H, F> {
        &self.weight_ih
    }
    /// `W_ih`, mutably.
    pub fn weight_ih_mut(&mut self) -> &mut Tensor3<4, H, F> {
        &mut self.weight_ih
    }
    /// `W_hh`: PyTorch's `weight_hh_l0` (`4·H × H`), as gate × row × column.
    pub fn weight_hh(&self) -> &Tensor3<4, H, H> {
        &self.weight_hh
    }
    /// `W_hh`, mutably.
    pub fn weight_hh_mut(&mut self) -> &mut Tensor3<4, H, H> {
        &mut self.weight_hh
    }
    /// `b_ih`: PyTorch's `bias_ih_l0` (`4·H`), one row per gate.
    pub fn bias_ih(&self) -> &Tensor2<4, H> {
        &self.bias_ih
    }
    /// `b_ih`, mutably.
    pub fn bias_ih_mut(&mut self) -> &mut Tensor2<4, H> {
        &mut self.bias_ih
    }
    /// `b_hh`: PyTorch's `bias_hh_l0` (`4·H`), one row per gate.
    pub fn bias_hh(&self) -> &Tensor2<4, H> {
        &self.bias_hh
    }
    /// `b_hh`, mutably.
    pub fn bias_hh_mut(&mut self) -> &mut Tensor2<4, H> {
        &mut self.bias_hh
    }
    /// The accumulated gradient of `W_ih`.
    pub fn weight_ih_grad(&self) -> &Tensor3<4, H, F> {
        &self.weight_ih_grad
    }
    /// The accumulated gradient of `W_hh`.
    pub fn weight_hh_grad(&self) -> &Tensor3<4, H, H> {
        &self.weight_hh_grad
    }
    /// The accumulated gradient of `b_ih`.
    pub fn bias_ih_grad(&self) -> &Tensor2<4, H> {
        &self.bias_ih_grad
    }
    /// The accumulated gradient of `b_hh`.
    pub fn bias_hh_grad(&self) -> &Tensor2<4, H> {
        &self.bias_hh_grad
    }

    /// Both forwards: every step's gates and states into `s` (time-major), `h` into `y`
    /// (batch-first).
    fn run<const B: usize>(&self, x: &[f32], y: &mut [f32], s: &mut LstmScratch<B, T, F, H>) {
        to_time_major(x, &mut s.xt, B, T, F);
        if B == 1 {
            // The kernel a baked network runs, on the weights laid out as a baked network's.
            let buffers = LstmBuffers {
                gates: &mut s.gates,
                cs: &mut s.cs,
                tanh_cs: &mut s.tanh_cs,
                bias: &mut s.bias,
            };
            let params = batch1_params(
                self.params(),
                &mut s.weight_ih_t,
                &mut s.weight_hh_packed,
                H,
            );
            recurrent::lstm(&params, x, &mut s.hs, buffers);
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
            &mut s.gates,
            T * B,
            F,
        );
        let w_hh = self.weight_hh.as_slice();
        pack_recurrent_weight(w_hh, &mut s.weight_hh_packed, B, 4 * H, H);
        let step = B * H;
        // Each step's batch rows are independent: bands of them run on the pool's threads,
        // product and cell together, to the same bits (see `threads`).
        let rows = band_rows::<B>();
        let packed = &s.weight_hh_packed;
        for t in 0..T {
            let gates = &mut s.gates[t * 4 * step..][..4 * step];
            let (earlier_h, rest_h) = s.hs.split_at_mut(t * step);
            let (earlier_c, rest_c) = s.cs.split_at_mut(t * step);
            let (hs, cs) = (&mut rest_h[..step], &mut rest_c[..step]);
            let tanh_cs = &mut s.tanh_cs[t * step..][..step];
            let previous = (t > 0).then(|| {
                (
                    &earlier_h[(t - 1) * step..][..step],
                    &earlier_c[(t - 1) * step..][..step],
                )
            });
            let bands = gates
                .chunks_mut((rows * 4 * H).max(1))
                .zip(hs.chunks_mut((rows * H).max(1)))
                .zip(cs.chunks_mut((rows * H).max(1)))
                .zip(tanh_cs.chunks_mut((rows * H).max(1)));
            threads::for_each(bands, |band, (((gates, hs), cs), tanh_cs)| {
                let (first, count) = (band * rows, gates.len() / (4 * H).max(1));
                let previous_c = previous.map(|(previous_h, previous_c)| {
                    let previous_h = &previous_h[first * H..][..count * H];
                    add_recurrent_product(previous_h, w_hh, packed, gates, (count, B), H, 4 * H);
                    &previous_c[first * H..][..count * H]
                });
                recurrent::lstm_cell(gates, previous_c, cs, tanh_cs, hs, H);
            });
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

/// The batch rows of one band of a step run across threads.
fn band_rows<const B: usize>() -> usize {
    threads::band_rows(
        B,
        threads::parts(),
        1,
        crate::layers::recurrent::MIN_BAND_ROWS,
    )
}

/// One step of backpropagation through the cell, for every sample: the gates of step `t` in
/// `dgates` (`batch × 4·hidden`) become their pre-activation gradients, given `tanh c_t`,
/// `c_{t−1}` (`None` at the first step), the output gradient `dy` (batch-first, `(dy, t,
/// steps)`) and `dh`, `dc`, the gradients reaching `h_t` and `c_t` from step `t + 1`; `dc`
/// becomes the gradient reaching `c_{t−1}`.
struct CellBackward<'a> {
    dgates: &'a mut [f32],
    tanh_c: &'a [f32],
    previous_c: Option<&'a [f32]>,
    dy: (&'a [f32], usize, usize),
    dh: &'a [f32],
    dc: &'a mut [f32],
    hidden: usize,
}

impl Vectorize for CellBackward<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            dgates,
            tanh_c,
            previous_c,
            dy,
            dh,
            dc,
            hidden,
        } = self;
        cell_backward(dgates, tanh_c, previous_c, dy, dh, dc, hidden);
    }
}

#[inline(always)]
fn cell_backward(
    dgates: &mut [f32],
    tanh_c: &[f32],
    previous_c: Option<&[f32]>,
    (dy, t, steps): (&[f32], usize, usize),
    dh: &[f32],
    dc: &mut [f32],
    hidden: usize,
) {
    let h_len = hidden;
    for (b, row) in dgates.chunks_exact_mut(4 * h_len).enumerate() {
        let (i, rest) = row.split_at_mut(h_len);
        let (f, rest) = rest.split_at_mut(h_len);
        let (g, o) = rest.split_at_mut(h_len);
        let o = &mut o[..h_len];
        let dy = &dy[(b * steps + t) * h_len..][..h_len];
        let tc = &tanh_c[b * h_len..][..h_len];
        let dh = &dh[b * h_len..][..h_len];
        let dc = &mut dc[b * h_len..][..h_len];
        for j in 0..h_len {
            let (ij, fj, gj, oj, tcj) = (i[j], f[j], g[j], o[j], tc[j]);
            let dh_j = dy[j] + dh[j];
            let dc_j = dc[j] + dh_j * oj * (1.0 - tcj * tcj);
            i[j] = dc_j * gj * ij * (1.0 - ij);
            g[j] = dc_j * ij * (1.0 - gj * gj);
            o[j] = dh_j * tcj * oj * (1.0 - oj);
            dc[j] = dc_j * fj;
            f[j] = dc_j * fj * (1.0 - fj);
        }
        // d(pre-f) = dc · c_{t−1} · f (1 − f); `f` holds all but the `c_{t−1}`.
        match previous_c {
            Some(c_prev) => {
                let c_prev = &c_prev[b * h_len..][..h_len];
                for j in 0..h_len {
                    f[j] *= c_prev[j];
                }
            }
            None => f.fill(0.0),
        }
    }
}

impl<const T: usize, const F: usize, const H: usize> HasParams for Lstm<T, F, H> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        // PyTorch's shapes: the gates stacked along the rows.
        let params: [crate::param::NamedParam<'_>; 4] = [
            (
                "weight_ih_l0",
                &[4 * H, F],
                self.weight_ih.as_mut_slice(),
                self.weight_ih_grad.as_mut_slice(),
            ),
            (
                "weight_hh_l0",
                &[4 * H, H],
                self.weight_hh.as_mut_slice(),
                self.weight_hh_grad.as_mut_slice(),
            ),
            (
                "bias_ih_l0",
                &[4 * H],
                self.bias_ih.as_mut_slice(),
                self.bias_ih_grad.as_mut_slice(),
            ),
            (
                "bias_hh_l0",
                &[4 * H],
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
        // PyTorch's shapes: the gates stacked along the rows.
        let params: [(&str, &[usize], &[f32]); 4] = [
            ("weight_ih_l0", &[4 * H, F], self.weight_ih.as_slice()),
            ("weight_hh_l0", &[4 * H, H], self.weight_hh.as_slice()),
            ("bias_ih_l0", &[4 * H], self.bias_ih.as_slice()),
            ("bias_hh_l0", &[4 * H], self.bias_hh.as_slice()),
        ];
        for (name, shape, value) in params {
            visitor.visit(&path.child(name), crate::param::ParamRef { value, shape });
        }
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const T: usize, const F: usize, const H: usize> Layer for Lstm<T, F, H> {
    type Input<const B: usize> = Tensor3<B, T, F>;
    type Output<const B: usize> = Tensor3<B, T, H>;
    type Scratch<const B: usize> = LstmScratch<B, T, F, H>;
    type Cache<const B: usize> = LstmCache<B, T, F, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor3<B, T, H>,
        scratch: &mut LstmScratch<B, T, F, H>,
    ) {
        self.run(x.as_slice(), y.as_mut_slice(), scratch);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor3<B, T, H>,
        cache: &mut LstmCache<B, T, F, H>,
    ) {
        self.run(x.as_slice(), y.as_mut_slice(), &mut cache.forward);
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, F>,
        _y: &Tensor3<B, T, H>,
        cache: &mut LstmCache<B, T, F, H>,
        dy: &Tensor3<B, T, H>,
        dx: Option<&mut Tensor3<B, T, F>>,
    ) {
        let LstmCache {
            forward,
            dxt,
            dh,
            dc,
            grad_t,
            weight_hh_packed,
        } = cache;
        let LstmScratch {
            xt,
            gates,
            cs,
            tanh_cs,
            hs,
            ..
        } = forward;
        let dy = dy.as_slice();
        let step = B * H;
        dh.fill(0.0);
        dc.fill(0.0);
        let w_hh = self.weight_hh.as_slice();
        pack_backward_weight(w_hh, weight_hh_packed, B, 4 * H, H);
        let rows = band_rows::<B>();
        let packed = &*weight_hh_packed;
        for t in (0..T).rev() {
            // The gates of step t become their pre-activation gradients; bands of the batch's
            // rows run on the pool's threads, as in the forward.
            let dgates = &mut gates[t * 4 * step..][..4 * step];
            let tanh_c = &tanh_cs[t * step..][..step];
            let previous_c = (t > 0).then(|| &cs[(t - 1) * step..][..step]);
            let bands = dgates
                .chunks_mut((rows * 4 * H).max(1))
                .zip(dh.chunks_mut((rows * H).max(1)))
                .zip(dc.chunks_mut((rows * H).max(1)));
            threads::for_each(bands, |band, ((dgates, dh), dc)| {
                let (first, count) = (band * rows, dh.len() / H.max(1));
                vectorized(CellBackward {
                    dgates,
                    tanh_c: &tanh_c[first * H..][..count * H],
                    previous_c: previous_c.map(|c| &c[first * H..][..count * H]),
                    dy: (&dy[first * T * H..], t, T),
                    dh,
                    dc,
                    hidden: H,
                });
                if t > 0 {
                    recurrent_state_grad(dgates, w_hh, packed, dh, (count, B), 4 * H, H);
                }
            });
        }
        let dgates = &gates[..];
        let later = T.saturating_sub(1) * B;
        let (grad_ih_t, grad_hh_t) = grad_t.split_at_mut(F * 4 * H);
        add_weight_grad_via_transpose(
            self.weight_hh_grad.as_mut_slice(),
            grad_hh_t,
            &dgates[(4 * step).min(dgates.len())..],
            &hs[..later * H],
            later,
            4 * H,
            H,
        );
        add_weight_grad_via_transpose(
            self.weight_ih_grad.as_mut_slice(),
            grad_ih_t,
            dgates,
            xt,
            T * B,
            4 * H,
            F,
        );
        add_bias_grad(self.bias_ih_grad.as_mut_slice(), dgates);
        add_bias_grad(self.bias_hh_grad.as_mut_slice(), dgates);
        if let Some(dx) = dx {
            times(dgates, self.weight_ih.as_slice(), 0.0, dxt, T * B, 4 * H, F);
            to_batch_first(dxt, dx.as_mut_slice(), B, T, F);
        }
    }
}

impl<const T: usize, const F: usize, const H: usize> Composable for Lstm<T, F, H> {
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
    use crate::math::sigmoid;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn single_step_by_hand() {
        let mut lstm = Lstm::<1, 2, 1>::new(&mut crate::init::seeded(0));
        // Gate rows i, f, g, o of W_ih; W_hh does not matter at the first step.
        lstm.weight_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, 0.0, 0.0, 1.0, 0.5, 0.5, -1.0, 2.0]);
        lstm.bias_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.0, 0.0, 0.25, 0.0]);
        lstm.bias_hh_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.5, 0.0, 0.0, -0.5]);
        let x = Tensor3::<1, 1, 2>::from_slice(&[1.0, 0.5]).unwrap();
        let mut y = Tensor3::<1, 1, 1>::zeros();
        lstm.forward(&x, &mut y, &mut Zeroed::zeroed());
        // i = σ(1 + 0.5), g = tanh(0.75 + 0.25), o = σ(-1 + 1 - 0.5); c = i·g; h = o·tanh(c)
        let c = sigmoid(1.5) * 1f32.tanh();
        let want = sigmoid(-0.5) * c.tanh();
        assert!(
            (y.as_slice()[0] - want).abs() < 1e-6,
            "{} vs {want}",
            y.as_slice()[0]
        );
        // σ(-0.5) · tanh(σ(1.5) · tanh(1)) = 0.377541 · tanh(0.817574 · 0.761594)
        assert!((want - 0.208_771_43).abs() < 1e-6, "{want}");
    }

    #[test]
    fn gradients_through_time_match_central_differences() {
        let mut rng = crate::init::seeded(21);
        let mut lstm = Lstm::<6, 3, 4>::new(&mut rng);
        noisy_biases(&mut lstm, &mut rng);
        let x = random_tensor::<Tensor3<2, 6, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut lstm, &x, 22).unwrap();
    }

    #[test]
    fn both_forwards_agree() {
        let mut rng = crate::init::seeded(23);
        let mut lstm = Lstm::<5, 3, 4>::new(&mut rng);
        let x = random_tensor::<Tensor3<3, 5, 3>>(&mut rng);
        let (mut a, mut b) = (Tensor3::<3, 5, 4>::zeros(), Tensor3::<3, 5, 4>::zeros());
        lstm.forward(&x, &mut a, &mut Zeroed::zeroed());
        lstm.forward_train(&x, &mut b, &mut Zeroed::zeroed());
        assert_eq!(a, b);
        assert!(a.as_slice().iter().all(|v| v.abs() < 1.0));
    }

    /// Batches of 4 and more take the other recurrent product (see `PLAIN_FROM_ROWS`).
    #[test]
    fn wide_batches_agree_and_match_central_differences() {
        let mut rng = crate::init::seeded(25);
        let mut lstm = Lstm::<5, 3, 4>::new(&mut rng);
        noisy_biases(&mut lstm, &mut rng);
        check_batch_paths_agree(&lstm);
        let x = random_tensor::<Tensor3<4, 5, 3>>(&mut rng);
        check_gradients::<_, 4>(&mut lstm, &x, 26).unwrap();
    }

    #[test]
    fn later_inputs_do_not_change_earlier_outputs() {
        check_causal(&Lstm::<6, 3, 4>::new(&mut crate::init::seeded(24)));
    }

    /// The `mnist_lstm` example's training step at batch 64 (`lstm(28 -> 128)` over 28 steps,
    /// `last`, `dense(128 -> 10)`, softmax cross-entropy, backward, Adam) and a batch-1
    /// inference over 28 steps, on random data, medians printed:
    /// `cargo test --release -p nn-core -- --ignored --nocapture lstm_step_time`.
    #[test]
    #[ignore = "a measurement; run in release mode"]
    fn lstm_step_time() {
        extern crate std;
        use crate::layers::{Dense, Last};
        use crate::optim::{Adam, Optimizer};
        use crate::tensor::Tensor2;
        use std::time::{Duration, Instant};
        const B: usize = 64;
        let mut rng = crate::init::seeded(1);
        let mut lstm = Lstm::<28, 28, 128>::new(&mut rng);
        let mut last = Last::<28, 128>;
        let mut fc = Dense::<128, 10>::new(&mut rng);
        let mut optimizers: [Adam; 2] = core::array::from_fn(|_| Adam::new(1e-3));
        let x = random_tensor::<Tensor3<B, 28, 28>>(&mut rng);
        let labels: [usize; B] = core::array::from_fn(|i| i % 10);
        let (mut a1, mut a2) = (Tensor3::<B, 28, 128>::zeros(), Tensor2::<B, 128>::zeros());
        let (mut logits, mut dlogits) = (Tensor2::<B, 10>::zeros(), Tensor2::<B, 10>::zeros());
        let (mut d1, mut d2) = (Tensor3::<B, 28, 128>::zeros(), Tensor2::<B, 128>::zeros());
        let mut cache = LstmCache::<B, 28, 28, 128>::zeroed();
        let (mut forward_time, mut backward_time) = (Duration::ZERO, Duration::ZERO);

        let mut step = || {
            let start = Instant::now();
            lstm.forward_train(&x, &mut a1, &mut cache);
            forward_time = start.elapsed();
            last.forward_train(&a1, &mut a2, &mut ());
            fc.forward_train(&a2, &mut logits, &mut ());
            crate::loss::softmax_cross_entropy(&logits, &labels, &mut dlogits).unwrap();
            fc.backward(&a2, &logits, &mut (), &dlogits, Some(&mut d2));
            last.backward(&a1, &a2, &mut (), &d2, Some(&mut d1));
            let start = Instant::now();
            lstm.backward(&x, &a1, &mut cache, &d1, None);
            backward_time = start.elapsed();
            optimizers[0].step(&mut lstm).unwrap();
            optimizers[1].step(&mut fc).unwrap();
            lstm.zero_grad();
            fc.zero_grad();
            (forward_time, backward_time)
        };
        let median = |mut v: std::vec::Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        for _ in 0..5 {
            step();
        }
        // Other processes share these cores: also report this thread's CPU time per step
        // (user + system, from /proc, in 10 ms ticks), which their load inflates less.
        let cpu_seconds = || {
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
            let fields: std::vec::Vec<&str> = stat
                .rsplit_once(')')
                .map_or("", |(_, rest)| rest)
                .split_whitespace()
                .collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (ticks(11) + ticks(12)) / 100.0
        };
        let (mut total, mut fwd, mut bwd) = (std::vec![], std::vec![], std::vec![]);
        let cpu_start = cpu_seconds();
        const STEPS: usize = 100;
        for _ in 0..STEPS {
            let start = Instant::now();
            let (f, b) = step();
            total.push(start.elapsed().as_secs_f64());
            fwd.push(f.as_secs_f64());
            bwd.push(b.as_secs_f64());
        }
        let cpu = (cpu_seconds() - cpu_start) / STEPS as f64;
        let total = median(total);
        std::println!(
            "lstm(28 -> 128) x 28 steps, batch {B}: step {:.2} ms (lstm forward {:.2} ms, \
             lstm backward {:.2} ms); epoch of 937 steps {:.2} s; CPU time {:.2} ms a step, \
             {:.2} s an epoch",
            total * 1e3,
            median(fwd) * 1e3,
            median(bwd) * 1e3,
            total * 937.0,
            cpu * 1e3,
            cpu * 937.0
        );

        let one = random_tensor::<Tensor3<1, 28, 28>>(&mut rng);
        let mut scratch = LstmScratch::<1, 28, 28, 128>::zeroed();
        let (mut h1, mut h2, mut out) = (
            Tensor3::<1, 28, 128>::zeros(),
            Tensor2::<1, 128>::zeros(),
            Tensor2::<1, 10>::zeros(),
        );
        let mut infer = || {
            lstm.forward(&one, &mut h1, &mut scratch);
            last.forward(&h1, &mut h2, &mut ());
            fc.forward(&h2, &mut out, &mut ());
        };
        for _ in 0..50 {
            infer();
        }
        let mut times = std::vec![];
        for _ in 0..500 {
            let start = Instant::now();
            infer();
            times.push(start.elapsed().as_secs_f64());
        }
        std::println!(
            "batch-1 inference over 28 steps: {:.1} us",
            median(times) * 1e6
        );
    }
}
