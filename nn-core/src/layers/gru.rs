//! `Gru<T, F, H>`: a gated recurrent unit layer over batch-first sequences; `gru(..)` in
//! `network!`.

use crate::init::Rng;
use crate::layers::recurrent::{
    add_bias_grad, add_recurrent_product, add_weight_grad, batch1_params, buffer, init_uniform,
    pack_recurrent_weight, packed_recurrent_len, project_inputs, times, to_batch_first,
    to_time_major, transposed_len,
};
use crate::layers::{Composable, Layer};
use crate::linalg::recurrent::{self, RecurrentParams};
use crate::linalg::{Vectorize, vectorized};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Aligned, Tensor2, Tensor3, Zeroed};

/// A gated recurrent unit layer: `T` steps of `F` features in, every step's hidden state of
/// `H` features out. PyTorch's `nn.GRU(F, H, batch_first=True)` (one layer, one direction),
/// in PyTorch's formulation and gate order (`r, z, n`):
///
/// ```text
/// r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)      z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
/// n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
/// h' = (1 − z) ⊙ n + z ⊙ h
/// ```
///
/// from `h = 0`. (Keras's `GRU(reset_after=True)`, its default, is the same formula.)
/// Batch-first `Tensor3<B, T, F>` in, `Tensor3<B, T, H>` (every step's `h`) out; follow it with
/// [`Last`](super::Last) for the final state only.
///
/// Parameters are PyTorch's, in its order and layout: `weight_ih_l0` (`3·H × F`, held as a
/// `Tensor3<3, H, F>`: gate, row, column, the same row-major values), `weight_hh_l0`
/// (`3·H × H`), `bias_ih_l0` and `bias_hh_l0` (`3·H`, held as `Tensor2<3, H>`), all
/// initialised `U(−1/√H, 1/√H)` as PyTorch does.
///
/// The work per sequence is one product `(B·T × F) · W_ihᵀ` for every step's input part, then
/// one `(B × H) · W_hhᵀ` per step; backward gathers every step's gate gradients and forms
/// `dW_ih`, `dW_hh` and `dx` with one product each. The scratch ([`GruScratch`]) and cache
/// ([`GruCache`]) hold every step's gates and states, made once with the tape, so no step
/// allocates. `backward` overwrites the cached gates with their gradients: run
/// `forward_train` again before another `backward`.
///
/// ```
/// use nn_core::layers::{Gru, Layer};
/// use nn_core::tensor::{Tensor, Tensor3, Zeroed};
///
/// // One feature, one unit, zero weights: the gates see only their biases.
/// let mut gru = Gru::<2, 1, 1>::new(&mut nn_core::init::seeded(0));
/// gru.weight_ih_mut().fill(0.0);
/// gru.weight_hh_mut().fill(0.0);
/// gru.bias_hh_mut().fill(0.0);
/// // r, z, n: z = σ(0) = ½ keeps half of the old state, n = tanh(1).
/// gru.bias_ih_mut().as_mut_slice().copy_from_slice(&[0.0, 0.0, 1.0]);
///
/// let x = Tensor3::<1, 2, 1>::zeros();
/// let mut y = Tensor3::<1, 2, 1>::zeros();
/// gru.forward(&x, &mut y, &mut Zeroed::zeroed());
/// let n = 1f32.tanh();
/// assert!((y[[0, 0, 0]] - n / 2.0).abs() < 1e-6); // ½ · n + ½ · 0
/// assert!((y[[0, 1, 0]] - 0.75 * n).abs() < 1e-6); // ½ · n + ½ · n/2
/// ```
#[derive(Clone, Debug)]
pub struct Gru<const T: usize, const F: usize, const H: usize> {
    weight_ih: Tensor3<3, H, F>,
    weight_hh: Tensor3<3, H, H>,
    bias_ih: Tensor2<3, H>,
    bias_hh: Tensor2<3, H>,
    weight_ih_grad: Tensor3<3, H, F>,
    weight_hh_grad: Tensor3<3, H, H>,
    bias_ih_grad: Tensor2<3, H>,
    bias_hh_grad: Tensor2<3, H>,
}

/// The working space of [`Gru`]'s inference forward: the time-major input, and every step's
/// gates, recurrent products and hidden state, `B · T · (F + 7·H)` values, allocated once by
/// [`Zeroed::zeroed`].
#[derive(Clone, Debug)]
pub struct GruScratch<const B: usize, const T: usize, const F: usize, const H: usize> {
    /// `(T, B, F)`.
    xt: Aligned,
    /// `(T, B, 3·H)`: `x W_ihᵀ + b_ih`, then (in place) the gates `r, z, n`.
    gates: Aligned,
    /// `(T, B, 3·H)`: `h_{t−1} W_hhᵀ + b_hh`.
    hh: Aligned,
    /// `(T, B, H)`: `h_t`.
    hs: Aligned,
    /// `W_ihᵀ` (`F × 3·H`), then the `W_ih` it was made from (see `project_inputs`).
    weight_ih_t: Aligned,
    /// `W_hh` (`3·H × H`), packed for this batch size (see `pack_recurrent_weight`).
    weight_hh_packed: Aligned,
}

/// The cache of [`Gru`]'s training forward: its [`GruScratch`] (every step's gates and
/// states), and the working space of `backward`: the time-major input gradient and two steps'
/// gradients of `h`. `backward` turns the cached gates and recurrent products into their
/// gradients in place.
#[derive(Clone, Debug)]
pub struct GruCache<const B: usize, const T: usize, const F: usize, const H: usize> {
    forward: GruScratch<B, T, F, H>,
    /// `(T, B, F)`.
    dxt: Aligned,
    /// `(B, H)`: the gradient reaching `h_t` from step `t + 1`.
    dh: Aligned,
    /// `(B, H)`: the gradient reaching `h_{t−1}` from step `t`, being summed.
    dh_previous: Aligned,
}

impl<const B: usize, const T: usize, const F: usize, const H: usize> Zeroed
    for GruScratch<B, T, F, H>
{
    fn zeroed() -> Self {
        Self {
            xt: buffer(T * B * F),
            gates: buffer(T * B * 3 * H),
            hh: buffer(T * B * 3 * H),
            hs: buffer(T * B * H),
            weight_ih_t: buffer(transposed_len(B, F, 3 * H)),
            weight_hh_packed: buffer(packed_recurrent_len(B, 3 * H, H)),
        }
    }
}

impl<const B: usize, const T: usize, const F: usize, const H: usize> Zeroed
    for GruCache<B, T, F, H>
{
    fn zeroed() -> Self {
        Self {
            forward: Zeroed::zeroed(),
            dxt: buffer(T * B * F),
            dh: buffer(B * H),
            dh_previous: buffer(B * H),
        }
    }
}

impl<const T: usize, const F: usize, const H: usize> Gru<T, F, H> {
    /// The number of scalar parameters: `3·H · F + 3·H · H + 2 · 3·H`.
    pub const PARAM_COUNT: usize = 3 * H * F + 3 * H * H + 6 * H;

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

    /// `W_ih`: PyTorch's `weight_ih_l0` (`3·H × F`), as gate × row × column (`r, z, n`).
    pub fn weight_ih(&self) -> &Tensor3<3, H, F> {
        &self.weight_ih
    }
    /// `W_ih`, mutably.
    pub fn weight_ih_mut(&mut self) -> &mut Tensor3<3, H, F> {
        &mut self.weight_ih
    }
    /// `W_hh`: PyTorch's `weight_hh_l0` (`3·H × H`), as gate × row × column.
    pub fn weight_hh(&self) -> &Tensor3<3, H, H> {
        &self.weight_hh
    }
    /// `W_hh`, mutably.
    pub fn weight_hh_mut(&mut self) -> &mut Tensor3<3, H, H> {
        &mut self.weight_hh
    }
    /// `b_ih`: PyTorch's `bias_ih_l0` (`3·H`), one row per gate.
    pub fn bias_ih(&self) -> &Tensor2<3, H> {
        &self.bias_ih
    }
    /// `b_ih`, mutably.
    pub fn bias_ih_mut(&mut self) -> &mut Tensor2<3, H> {
        &mut self.bias_ih
    }
    /// `b_hh`: PyTorch's `bias_hh_l0` (`3·H`), one row per gate.
    pub fn bias_hh(&self) -> &Tensor2<3, H> {
        &self.bias_hh
    }
    /// `b_hh`, mutably.
    pub fn bias_hh_mut(&mut self) -> &mut Tensor2<3, H> {
        &mut self.bias_hh
    }
    /// The accumulated gradient of `W_ih`.
    pub fn weight_ih_grad(&self) -> &Tensor3<3, H, F> {
        &self.weight_ih_grad
    }
    /// The accumulated gradient of `W_hh`.
    pub fn weight_hh_grad(&self) -> &Tensor3<3, H, H> {
        &self.weight_hh_grad
    }
    /// The accumulated gradient of `b_ih`.
    pub fn bias_ih_grad(&self) -> &Tensor2<3, H> {
        &self.bias_ih_grad
    }
    /// The accumulated gradient of `b_hh`.
    pub fn bias_hh_grad(&self) -> &Tensor2<3, H> {
        &self.bias_hh_grad
    }

    /// Both forwards: every step's gates, products and states into `s` (time-major), `h`
    /// into `y` (batch-first).
    fn run<const B: usize>(&self, x: &[f32], y: &mut [f32], s: &mut GruScratch<B, T, F, H>) {
        to_time_major(x, &mut s.xt, B, T, F);
        if B == 1 {
            // The kernel a baked network runs, on the weights laid out as a baked network's.
            let params = batch1_params(
                self.params(),
                &mut s.weight_ih_t,
                &mut s.weight_hh_packed,
                H,
            );
            recurrent::gru(&params, x, &mut s.hs, &mut s.gates, &mut s.hh);
            y.copy_from_slice(&s.hs);
            return;
        }
        let (w_ih, b_ih) = (self.weight_ih.as_slice(), self.bias_ih.as_slice());
        project_inputs(
            &s.xt,
            w_ih,
            &mut s.weight_ih_t,
            b_ih,
            &mut s.gates,
            T * B,
            F,
        );
        let w_hh = self.weight_hh.as_slice();
        pack_recurrent_weight(w_hh, &mut s.weight_hh_packed, B, 3 * H, H);
        let step = B * H;
        for t in 0..T {
            let gates = &mut s.gates[t * 3 * step..][..3 * step];
            let hh = &mut s.hh[t * 3 * step..][..3 * step];
            let (earlier, rest) = s.hs.split_at_mut(t * step);
            let hs = &mut rest[..step];
            for row in hh.chunks_exact_mut(3 * H) {
                row.copy_from_slice(self.bias_hh.as_slice());
            }
            let previous = if t > 0 {
                let previous = &earlier[(t - 1) * step..][..step];
                add_recurrent_product(previous, w_hh, &s.weight_hh_packed, hh, (B, B), H, 3 * H);
                Some(previous)
            } else {
                None
            };
            recurrent::gru_cell(gates, hh, hs, previous, H);
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

/// One step of backpropagation through the cell, for every sample: `dgates` (the gates of
/// step `t`) become the gradients of their input parts and `dhh` (the recurrent products)
/// those of `h W_hhᵀ + b_hh`, given `h_{t−1}` (`None` at the first step), the output gradient
/// (batch-first, `(dy, t, steps)`) and `dh`, the gradient reaching `h_t` from step `t + 1`;
/// `dh_previous` receives the part of the gradient of `h_{t−1}` that skips `W_hh`.
struct GruCellBackward<'a> {
    dgates: &'a mut [f32],
    dhh: &'a mut [f32],
    previous: Option<&'a [f32]>,
    dy: (&'a [f32], usize, usize),
    dh: &'a [f32],
    dh_previous: &'a mut [f32],
    hidden: usize,
}

impl Vectorize for GruCellBackward<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            dgates,
            dhh,
            previous,
            dy: (dy, t, steps),
            dh,
            dh_previous,
            hidden,
        } = self;
        let h_len = hidden;
        for (b, row) in dgates.chunks_exact_mut(3 * h_len).enumerate() {
            let (r, rest) = row.split_at_mut(h_len);
            let (z, n) = rest.split_at_mut(h_len);
            let h_row = &mut dhh[b * 3 * h_len..][..3 * h_len];
            let dy = &dy[(b * steps + t) * h_len..][..h_len];
            for j in 0..h_len {
                let k = b * h_len + j;
                let (rj, zj, nj) = (r[j], z[j], n[j]);
                let hn = h_row[2 * h_len + j];
                let h_prev = previous.map_or(0.0, |h| h[k]);
                let dh_j = dy[j] + dh[k];
                let dn = dh_j * (1.0 - zj) * (1.0 - nj * nj);
                let dr = dn * hn * rj * (1.0 - rj);
                let dz = dh_j * (h_prev - nj) * zj * (1.0 - zj);
                (r[j], z[j], n[j]) = (dr, dz, dn);
                (h_row[j], h_row[h_len + j], h_row[2 * h_len + j]) = (dr, dz, dn * rj);
                dh_previous[k] = dh_j * zj;
            }
        }
    }
}

impl<const T: usize, const F: usize, const H: usize> HasParams for Gru<T, F, H> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        // PyTorch's shapes: the gates stacked along the rows.
        let params: [crate::param::NamedParam<'_>; 4] = [
            (
                "weight_ih_l0",
                &[3 * H, F],
                self.weight_ih.as_mut_slice(),
                self.weight_ih_grad.as_mut_slice(),
            ),
            (
                "weight_hh_l0",
                &[3 * H, H],
                self.weight_hh.as_mut_slice(),
                self.weight_hh_grad.as_mut_slice(),
            ),
            (
                "bias_ih_l0",
                &[3 * H],
                self.bias_ih.as_mut_slice(),
                self.bias_ih_grad.as_mut_slice(),
            ),
            (
                "bias_hh_l0",
                &[3 * H],
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
            ("weight_ih_l0", &[3 * H, F], self.weight_ih.as_slice()),
            ("weight_hh_l0", &[3 * H, H], self.weight_hh.as_slice()),
            ("bias_ih_l0", &[3 * H], self.bias_ih.as_slice()),
            ("bias_hh_l0", &[3 * H], self.bias_hh.as_slice()),
        ];
        for (name, shape, value) in params {
            visitor.visit(&path.child(name), crate::param::ParamRef { value, shape });
        }
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const T: usize, const F: usize, const H: usize> Layer for Gru<T, F, H> {
    type Input<const B: usize> = Tensor3<B, T, F>;
    type Output<const B: usize> = Tensor3<B, T, H>;
    type Scratch<const B: usize> = GruScratch<B, T, F, H>;
    type Cache<const B: usize> = GruCache<B, T, F, H>;

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor3<B, T, H>,
        scratch: &mut GruScratch<B, T, F, H>,
    ) {
        self.run(x.as_slice(), y.as_mut_slice(), scratch);
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, F>,
        y: &mut Tensor3<B, T, H>,
        cache: &mut GruCache<B, T, F, H>,
    ) {
        self.run(x.as_slice(), y.as_mut_slice(), &mut cache.forward);
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, F>,
        _y: &Tensor3<B, T, H>,
        cache: &mut GruCache<B, T, F, H>,
        dy: &Tensor3<B, T, H>,
        dx: Option<&mut Tensor3<B, T, F>>,
    ) {
        let GruCache {
            forward,
            dxt,
            dh,
            dh_previous,
        } = cache;
        let GruScratch {
            xt, gates, hh, hs, ..
        } = forward;
        let dy = dy.as_slice();
        let step = B * H;
        dh.fill(0.0);
        for t in (0..T).rev() {
            // The gates of step t become the gradients of their input parts (`x W_ihᵀ + b_ih`),
            // the recurrent products those of `h W_hhᵀ + b_hh`.
            let dgates = &mut gates[t * 3 * step..][..3 * step];
            let dhh = &mut hh[t * 3 * step..][..3 * step];
            let previous = (t > 0).then(|| &hs[(t - 1) * step..][..step]);
            vectorized(GruCellBackward {
                dgates,
                dhh,
                previous,
                dy: (dy, t, T),
                dh,
                dh_previous,
                hidden: H,
            });
            if t > 0 {
                times(
                    dhh,
                    self.weight_hh.as_slice(),
                    1.0,
                    dh_previous,
                    B,
                    3 * H,
                    H,
                );
            }
            core::mem::swap(dh, dh_previous);
        }
        let later = T.saturating_sub(1) * B;
        add_weight_grad(
            self.weight_hh_grad.as_mut_slice(),
            &hh[(3 * step).min(hh.len())..],
            &hs[..later * H],
            later,
            3 * H,
            H,
        );
        add_bias_grad(self.bias_hh_grad.as_mut_slice(), hh);
        add_weight_grad(
            self.weight_ih_grad.as_mut_slice(),
            gates,
            xt,
            T * B,
            3 * H,
            F,
        );
        add_bias_grad(self.bias_ih_grad.as_mut_slice(), gates);
        if let Some(dx) = dx {
            times(gates, self.weight_ih.as_slice(), 0.0, dxt, T * B, 3 * H, F);
            to_batch_first(dxt, dx.as_mut_slice(), B, T, F);
        }
    }
}

impl<const T: usize, const F: usize, const H: usize> Composable for Gru<T, F, H> {
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
    fn two_steps_by_hand() {
        let mut gru = Gru::<2, 1, 1>::new(&mut crate::init::seeded(0));
        // Rows r, z, n.
        gru.weight_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, -1.0, 0.5]);
        gru.weight_hh_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.5, 1.0, 2.0]);
        gru.bias_ih_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.0, 0.0, 0.0]);
        gru.bias_hh_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.0, 0.0, 0.25]);
        let x = Tensor3::<1, 2, 1>::from_slice(&[1.0, 2.0]).unwrap();
        let mut y = Tensor3::<1, 2, 1>::zeros();
        gru.forward(&x, &mut y, &mut Zeroed::zeroed());
        // Step 0 (h = 0): r = σ(1), z = σ(-1), n = tanh(0.5 + r · 0.25), h0 = (1 - z) · n.
        let (r, z) = (sigmoid(1.0), sigmoid(-1.0));
        let h0 = (1.0 - z) * (0.5 + r * 0.25).tanh();
        // Step 1: r = σ(2 + 0.5 h0), z = σ(-2 + h0), n = tanh(1 + r · (2 h0 + 0.25)).
        let (r, z) = (sigmoid(2.0 + 0.5 * h0), sigmoid(-2.0 + h0));
        let h1 = (1.0 - z) * (1.0 + r * (2.0 * h0 + 0.25)).tanh() + z * h0;
        assert!((y.as_slice()[0] - h0).abs() < 1e-6);
        assert!((y.as_slice()[1] - h1).abs() < 1e-6);
        // h0 = (1 - σ(-1)) · tanh(0.5 + σ(1)/4) = 0.731059 · tanh(0.682765)
        assert!((h0 - 0.433_747_1).abs() < 1e-6, "{h0}");
    }

    #[test]
    fn gradients_through_time_match_central_differences() {
        let mut rng = crate::init::seeded(31);
        let mut gru = Gru::<6, 3, 4>::new(&mut rng);
        noisy_biases(&mut gru, &mut rng);
        let x = random_tensor::<Tensor3<2, 6, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut gru, &x, 32).unwrap();
    }

    #[test]
    fn both_forwards_agree() {
        let mut rng = crate::init::seeded(33);
        let mut gru = Gru::<5, 3, 4>::new(&mut rng);
        let x = random_tensor::<Tensor3<3, 5, 3>>(&mut rng);
        let (mut a, mut b) = (Tensor3::<3, 5, 4>::zeros(), Tensor3::<3, 5, 4>::zeros());
        gru.forward(&x, &mut a, &mut Zeroed::zeroed());
        gru.forward_train(&x, &mut b, &mut Zeroed::zeroed());
        assert_eq!(a, b);
    }

    /// Batches of 4 and more take the other recurrent product (see `PLAIN_FROM_ROWS`).
    #[test]
    fn wide_batches_agree_and_match_central_differences() {
        let mut rng = crate::init::seeded(35);
        let mut gru = Gru::<5, 3, 4>::new(&mut rng);
        noisy_biases(&mut gru, &mut rng);
        check_batch_paths_agree(&gru);
        let x = random_tensor::<Tensor3<4, 5, 3>>(&mut rng);
        check_gradients::<_, 4>(&mut gru, &x, 36).unwrap();
    }

    #[test]
    fn later_inputs_do_not_change_earlier_outputs() {
        check_causal(&Gru::<6, 3, 4>::new(&mut crate::init::seeded(34)));
    }
}
