//! The recurrent layers' cells and their batch-1 sequence kernels, on plain slices.
//!
//! [`rnn`], [`gru`] and [`lstm`] run one sequence through a layer whose parameters are
//! PyTorch's (`weight_ih_l0` `G·H × F`, `weight_hh_l0` `G·H × H`, `bias_ih_l0` and
//! `bias_hh_l0` `G·H`, with `G` the number of gates), the two weights laid out for this target
//! ([`prepare_weight_ih`], [`prepare_weight_hh`]): the heap layers
//! ([`Rnn`](crate::layers::Rnn), [`Gru`](crate::layers::Gru), [`Lstm`](crate::layers::Lstm))
//! prepare them in their workspaces and run them for a batch of one, and a baked network
//! ([`baked`](crate::baked)) runs them over `static` weights that `network!` laid out the same
//! way when it baked them, into its work arena: the same code on the same layout, so the same
//! bits. Nothing here allocates.
//!
//! # Layouts
//! Each weight is laid out where that pays, the same way for the heap layers and the baked
//! networks of one target:
//! - `W_ih` is transposed (`F × G·H`) everywhere but on a Cortex-M FPU
//!   ([`TRANSPOSED_W_IH`]): the input projection is then a plain product. With a depth of a
//!   few dozen inputs, dot products over `W_ih` as stored ran the MNIST LSTM's projection
//!   (`28 × 28 → 512`) 3.3 times slower with AVX2, 4.8 times with the portable kernels.
//! - `W_hh` is packed by rows ([`pack_rows`](super::pack_rows)) on x86-64 ([`PACKED_W_HH`]):
//!   a step's recurrent product ([`gemv_rows_packed`](super::gemv_rows_packed), AVX-512 or
//!   AVX2) then reads it as one sequential stream, 15 % faster than in place, where each row
//!   of `W_hh` is too short a stream for the prefetchers. Elsewhere it stays as stored: the
//!   portable row-packed loop ran three times slower than [`gemm`](super::gemm)'s dot
//!   kernel, and a Cortex-M FPU's loop (`fpu`) reads rows of a weight.
//!
//! `network!` bakes each weight in both layouts, each under its target's `cfg` (`nn-macros`'
//! `kinds/recurrent.rs`), with the functions below.
//!
//! The input part of every step's gates is one product for the whole sequence, `x · W_ihᵀ +
//! bias`; each step then adds its recurrent product `h_{t−1} · W_hhᵀ` ([`add_recurrent_row`])
//! and runs the cell. The cells ([`activate`], [`gru_cell`], [`lstm_cell`]) work on a batch of
//! rows, and the heap layers' batched forwards run them too.
//!
//! Per-step buffers that only the next step reads (an LSTM's cell state, a GRU's recurrent
//! product) may hold every step or fewer: step `t` uses block `t mod blocks`. The heap layers
//! keep every step, for their backward; a baked network keeps two cell states and one
//! recurrent product.

use super::{Vectorize, vectorized};
use crate::math::{sigmoid_fast, tanh_fast};

/// The nonlinearity of an Elman cell ([`rnn`]): PyTorch's `nonlinearity=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    /// `tanh`, the default.
    Tanh,
    /// `max(x, 0)`, with NaN kept.
    Relu,
}

impl Nonlinearity {
    /// The nonlinearity of a pre-activation `x`.
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Nonlinearity::Tanh => tanh_fast(x),
            // Not `x.max(0.0)`, which maps NaN to 0: NaN must reach the loss.
            Nonlinearity::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
        }
    }
}

/// Whether the batch-1 kernels read `W_ih` transposed (see the module docs): everywhere but
/// on a Cortex-M FPU.
pub const TRANSPOSED_W_IH: bool = !cfg!(all(
    target_arch = "arm",
    target_os = "none",
    target_abi = "eabihf"
));

/// Whether the batch-1 kernels read `W_hh` packed by rows (see the module docs): on x86-64.
pub const PACKED_W_HH: bool = cfg!(target_arch = "x86_64");

/// How many values `W_hh` (`width × hidden`) takes as [`prepare_weight_hh`] lays it out on
/// this target: `width · hidden`, or (when [`PACKED_W_HH`]) both rounded up to 16.
pub const fn weight_hh_len(width: usize, hidden: usize) -> usize {
    if PACKED_W_HH {
        super::packed_rows_len(width, hidden)
    } else {
        width * hidden
    }
}

/// Lays out `W_ih` (`width × features`, PyTorch's `weight_ih_l0`) in `prepared` (as many
/// values) as the kernels read it on this target: transposed when [`TRANSPOSED_W_IH`], else
/// as is.
///
/// # Panics
/// When a length is not `width · features`.
pub fn prepare_weight_ih(stored: &[f32], prepared: &mut [f32], width: usize, features: usize) {
    if TRANSPOSED_W_IH {
        super::transpose(stored, prepared, width, features);
    } else {
        prepared.copy_from_slice(stored);
    }
}

/// Lays out `W_hh` (`width × hidden`, PyTorch's `weight_hh_l0`) in `prepared` (of
/// [`weight_hh_len`] values) as the kernels read it on this target: packed by rows
/// ([`pack_rows`](super::pack_rows)) when [`PACKED_W_HH`], else as is. A `prepared` that
/// starts on a 64-byte boundary runs faster (a baked weight is
/// [`Aligned`](crate::baked::Aligned)).
///
/// # Panics
/// When `stored` is not `width · hidden` values or `prepared` not [`weight_hh_len`].
pub fn prepare_weight_hh(stored: &[f32], prepared: &mut [f32], width: usize, hidden: usize) {
    if PACKED_W_HH {
        super::pack_rows(super::MatRef::new(stored, width, hidden), prepared);
    } else {
        prepared.copy_from_slice(stored);
    }
}

/// A recurrent layer's parameters, in PyTorch's names, the weights laid out for this target
/// (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct RecurrentParams<'a> {
    /// `weight_ih_l0` (`G·H × F`), as [`prepare_weight_ih`] lays it out.
    pub weight_ih: &'a [f32],
    /// `weight_hh_l0` (`G·H × H`), as [`prepare_weight_hh`] lays it out.
    pub weight_hh: &'a [f32],
    /// `bias_ih_l0`, `G·H`.
    pub bias_ih: &'a [f32],
    /// `bias_hh_l0`, `G·H`.
    pub bias_hh: &'a [f32],
}

impl RecurrentParams<'_> {
    /// `(features, hidden)` of a layer of `gates` gates, checked against every length.
    fn sizes(&self, gates: usize) -> (usize, usize) {
        let width = self.bias_ih.len();
        let hidden = width / gates;
        assert!(
            hidden >= 1 && width == gates * hidden,
            "a recurrent layer of {gates} gates needs a bias of a multiple of {gates} values"
        );
        let features = self.weight_ih.len() / width;
        assert_eq!(
            self.weight_ih.len(),
            width * features,
            "weight_ih is G·H × F"
        );
        assert_eq!(
            self.weight_hh.len(),
            weight_hh_len(width, hidden),
            "weight_hh is G·H × H, laid out by prepare_weight_hh"
        );
        assert_eq!(self.bias_hh.len(), width, "bias_hh has G·H values");
        (features, hidden)
    }

    /// `gates = x · W_ihᵀ + bias` for `steps` rows of `features` inputs: the input part of
    /// every step's gates. Where [`TRANSPOSED_W_IH`], a plain product by `W_ihᵀ` on top of the
    /// bias (as [`affine`](super::affine) adds its product); else [`affine`](super::affine)
    /// itself.
    fn project(&self, bias: &[f32], x: &[f32], gates: &mut [f32], steps: usize, features: usize) {
        if !TRANSPOSED_W_IH {
            return super::affine(self.weight_ih, bias, x, gates, steps, features);
        }
        let width = bias.len();
        for row in gates.chunks_exact_mut(width) {
            row.copy_from_slice(bias);
        }
        super::gemm(
            1.0,
            super::MatRef::new(x, steps, features),
            super::Op::Plain,
            super::MatRef::new(self.weight_ih, features, width),
            super::Op::Plain,
            1.0,
            gates,
            width,
        );
    }
}

/// The number of steps of `x`, a sequence of `features` values per step.
fn steps_of(x: &[f32], features: usize) -> usize {
    let steps = x.len() / features.max(1);
    assert_eq!(
        x.len(),
        steps * features,
        "a sequence of {features} features per step"
    );
    steps
}

/// Step `t`'s block of `len` values in `buffer`, which holds one or more blocks; with
/// `previous`, also step `t − 1`'s (another block: `buffer` holds two or more).
fn blocks(
    buffer: &mut [f32],
    len: usize,
    t: usize,
    previous: bool,
) -> (Option<&[f32]>, &mut [f32]) {
    let count = buffer.len() / len.max(1);
    assert!(count >= 1, "a per-step buffer holds at least one step");
    let current = t % count;
    if !previous {
        return (None, &mut buffer[current * len..][..len]);
    }
    assert!(count >= 2, "a buffer read by the next step holds two steps");
    let before = (t + count - 1) % count;
    let (low, high) = (current.min(before), current.max(before));
    let (head, tail) = buffer.split_at_mut(high * len);
    let (low, high) = (&mut head[low * len..][..len], &mut tail[..len]);
    if current < before {
        (Some(high), low)
    } else {
        (Some(low), high)
    }
}

/// `bias = b_ih + b_hh`: the bias of the input projection when both biases enter the gates
/// unchanged (the Elman cell and the LSTM).
pub fn sum_biases(bias_ih: &[f32], bias_hh: &[f32], bias: &mut [f32]) {
    for (sum, (&a, &b)) in bias.iter_mut().zip(bias_ih.iter().zip(bias_hh)) {
        *sum = a + b;
    }
}

/// `c += h · W_hhᵀ` for one state `h` (`hidden` values), with `weight_hh` (`c.len() ×
/// hidden`) as [`prepare_weight_hh`] laid it out: a batch-1 step's recurrent product. Packed
/// by rows, [`gemv_rows_packed`](super::gemv_rows_packed); as stored, on a Cortex-M FPU the
/// register-blocked loop of `fpu` (as [`affine`](super::affine) runs there), elsewhere
/// [`gemm`](super::gemm).
pub fn add_recurrent_row(h: &[f32], weight_hh: &[f32], c: &mut [f32]) {
    let (width, hidden) = (c.len(), h.len());
    if PACKED_W_HH {
        return super::gemv_rows_packed(h, weight_hh, c);
    }
    if cfg!(all(
        target_arch = "arm",
        target_os = "none",
        target_abi = "eabihf"
    )) {
        assert_eq!(weight_hh.len(), width * hidden, "a {width}x{hidden} weight");
        return super::fpu::add_gemv(weight_hh, h, c);
    }
    super::gemm(
        1.0,
        super::MatRef::new(h, 1, hidden),
        super::Op::Plain,
        super::MatRef::new(weight_hh, width, hidden),
        super::Op::Transposed,
        1.0,
        c,
        width,
    );
}

/// An Elman layer on one sequence `x` (`T × F`): every step's state into `hs` (`T × H`),
/// `h_t = act(x_t · W_ihᵀ + b_ih + b_hh + h_{t−1} · W_hhᵀ)` from `h_{−1} = 0`. `bias` (`H`
/// values) receives `b_ih + b_hh`.
///
/// # Panics
/// When the lengths do not line up.
pub fn rnn(
    params: &RecurrentParams<'_>,
    nonlinearity: Nonlinearity,
    x: &[f32],
    hs: &mut [f32],
    bias: &mut [f32],
) {
    let (features, hidden) = params.sizes(1);
    let steps = steps_of(x, features);
    assert_eq!(hs.len(), steps * hidden, "every step's state, T × H");
    sum_biases(params.bias_ih, params.bias_hh, bias);
    params.project(bias, x, hs, steps, features);
    for t in 0..steps {
        let (earlier, rest) = hs.split_at_mut(t * hidden);
        let current = &mut rest[..hidden];
        if t > 0 {
            add_recurrent_row(&earlier[(t - 1) * hidden..], params.weight_hh, current);
        }
        activate(current, nonlinearity);
    }
}

/// `v = act(v)` over a slice: the Elman cell, on any number of rows.
pub fn activate(values: &mut [f32], nonlinearity: Nonlinearity) {
    struct Activate<'a>(&'a mut [f32], Nonlinearity);
    impl Vectorize for Activate<'_> {
        type Output = ();
        #[inline(always)]
        fn run(self) {
            match self.1 {
                Nonlinearity::Tanh => {
                    self.0
                        .iter_mut()
                        .for_each(|v| *v = Nonlinearity::Tanh.apply(*v));
                }
                Nonlinearity::Relu => {
                    self.0
                        .iter_mut()
                        .for_each(|v| *v = Nonlinearity::Relu.apply(*v));
                }
            }
        }
    }
    vectorized(Activate(values, nonlinearity));
}

/// A GRU on one sequence `x` (`T × F`), PyTorch's formulation and gate order (`r, z, n`):
/// every step's state into `hs` (`T × H`). `gates` (`T × 3·H`) receives the gates of every
/// step; `hh` (a multiple of `3·H`, one step or more) each step's `h_{t−1} · W_hhᵀ + b_hh`.
///
/// # Panics
/// When the lengths do not line up.
pub fn gru(
    params: &RecurrentParams<'_>,
    x: &[f32],
    hs: &mut [f32],
    gates: &mut [f32],
    hh: &mut [f32],
) {
    let (features, hidden) = params.sizes(3);
    let steps = steps_of(x, features);
    let width = 3 * hidden;
    assert_eq!(hs.len(), steps * hidden, "every step's state, T × H");
    assert_eq!(gates.len(), steps * width, "every step's gates, T × 3·H");
    params.project(params.bias_ih, x, gates, steps, features);
    for t in 0..steps {
        let step_gates = &mut gates[t * width..][..width];
        let (_, step_hh) = blocks(hh, width, t, false);
        step_hh.copy_from_slice(params.bias_hh);
        let (earlier, rest) = hs.split_at_mut(t * hidden);
        let h = &mut rest[..hidden];
        let previous = if t > 0 {
            let previous = &earlier[(t - 1) * hidden..];
            add_recurrent_row(previous, params.weight_hh, step_hh);
            Some(previous)
        } else {
            None
        };
        gru_cell(step_gates, step_hh, h, previous, hidden);
    }
}

/// One GRU step for every row of a batch: `gates` (`rows × 3·hidden`, the input parts) become
/// `r, z, n`, given `hh` (the recurrent products with `b_hh`), and `hs` (`rows × hidden`)
/// receives `h_t`. `previous` is `h_{t−1}`, `None` at the first step.
pub fn gru_cell(
    gates: &mut [f32],
    hh: &[f32],
    hs: &mut [f32],
    previous: Option<&[f32]>,
    hidden: usize,
) {
    vectorized(GruCell {
        gates,
        hh,
        hs,
        previous,
        hidden,
    });
}

struct GruCell<'a> {
    gates: &'a mut [f32],
    hh: &'a [f32],
    hs: &'a mut [f32],
    previous: Option<&'a [f32]>,
    hidden: usize,
}

impl Vectorize for GruCell<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            gates,
            hh,
            hs,
            previous,
            hidden,
        } = self;
        let h_len = hidden;
        for (b, row) in gates.chunks_exact_mut((3 * h_len).max(1)).enumerate() {
            let h_row = &hh[b * 3 * h_len..][..3 * h_len];
            // r and z together, over contiguous slices, so the loops vectorize.
            let (rz, n) = row.split_at_mut(2 * h_len);
            for (v, &h) in rz.iter_mut().zip(&h_row[..2 * h_len]) {
                *v = sigmoid_fast(*v + h);
            }
            let (r, z) = rz.split_at(h_len);
            let (n, hn) = (&mut n[..h_len], &h_row[2 * h_len..]);
            for j in 0..h_len {
                n[j] = tanh_fast(n[j] + r[j] * hn[j]);
            }
            let h = &mut hs[b * h_len..][..h_len];
            match previous {
                Some(previous) => {
                    let previous = &previous[b * h_len..][..h_len];
                    for j in 0..h_len {
                        h[j] = (1.0 - z[j]) * n[j] + z[j] * previous[j];
                    }
                }
                None => {
                    for j in 0..h_len {
                        h[j] = (1.0 - z[j]) * n[j];
                    }
                }
            }
        }
    }
}

/// The buffers of [`lstm`] besides its output.
#[derive(Debug)]
pub struct LstmBuffers<'a> {
    /// `T × 4·H`: every step's gates `i, f, g, o`.
    pub gates: &'a mut [f32],
    /// A multiple of `H`, two steps or more: `c_t`.
    pub cs: &'a mut [f32],
    /// A multiple of `H`, one step or more: `tanh c_t`.
    pub tanh_cs: &'a mut [f32],
    /// `4·H`: `b_ih + b_hh`.
    pub bias: &'a mut [f32],
}

/// An LSTM on one sequence `x` (`T × F`), PyTorch's gate order (`i, f, g, o`): every step's
/// `h` into `hs` (`T × H`), from `h = c = 0`.
///
/// # Panics
/// When the lengths do not line up.
pub fn lstm(params: &RecurrentParams<'_>, x: &[f32], hs: &mut [f32], buffers: LstmBuffers<'_>) {
    let LstmBuffers {
        gates,
        cs,
        tanh_cs,
        bias,
    } = buffers;
    let (features, hidden) = params.sizes(4);
    let steps = steps_of(x, features);
    let width = 4 * hidden;
    assert_eq!(hs.len(), steps * hidden, "every step's state, T × H");
    assert_eq!(gates.len(), steps * width, "every step's gates, T × 4·H");
    sum_biases(params.bias_ih, params.bias_hh, bias);
    params.project(bias, x, gates, steps, features);
    for t in 0..steps {
        let step_gates = &mut gates[t * width..][..width];
        let (earlier, rest) = hs.split_at_mut(t * hidden);
        if t > 0 {
            add_recurrent_row(&earlier[(t - 1) * hidden..], params.weight_hh, step_gates);
        }
        let (previous_c, c) = blocks(cs, hidden, t, t > 0);
        let (_, tanh_c) = blocks(tanh_cs, hidden, t, false);
        lstm_cell(
            step_gates,
            previous_c,
            c,
            tanh_c,
            &mut rest[..hidden],
            hidden,
        );
    }
}

/// One LSTM step for every row of a batch: `gates` (`rows × 4·hidden`, the pre-activations
/// with the recurrent product added) become the gates `i, f, g, o`, and `cs`, `tanh_cs`, `hs`
/// (`rows × hidden`) receive `c_t`, `tanh c_t` and `h_t`. `previous_c` is `c_{t−1}`, `None` at
/// the first step.
pub fn lstm_cell(
    gates: &mut [f32],
    previous_c: Option<&[f32]>,
    cs: &mut [f32],
    tanh_cs: &mut [f32],
    hs: &mut [f32],
    hidden: usize,
) {
    vectorized(LstmCell {
        gates,
        previous_c,
        cs,
        tanh_cs,
        hs,
        hidden,
    });
}

struct LstmCell<'a> {
    gates: &'a mut [f32],
    previous_c: Option<&'a [f32]>,
    cs: &'a mut [f32],
    tanh_cs: &'a mut [f32],
    hs: &'a mut [f32],
    hidden: usize,
}

impl Vectorize for LstmCell<'_> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let Self {
            gates,
            previous_c,
            cs,
            tanh_cs,
            hs,
            hidden,
        } = self;
        let h_len = hidden;
        for (b, row) in gates.chunks_exact_mut((4 * h_len).max(1)).enumerate() {
            // Gate by gate over contiguous slices, so each loop vectorizes.
            let (ifg, o) = row.split_at_mut(3 * h_len);
            let (i_f, g) = ifg.split_at_mut(2 * h_len);
            i_f.iter_mut().for_each(|v| *v = sigmoid_fast(*v));
            g.iter_mut().for_each(|v| *v = tanh_fast(*v));
            o.iter_mut().for_each(|v| *v = sigmoid_fast(*v));
            let (i, f) = i_f.split_at(h_len);
            let (g, o) = (&g[..h_len], &o[..h_len]);
            let c = &mut cs[b * h_len..][..h_len];
            let tc = &mut tanh_cs[b * h_len..][..h_len];
            let h = &mut hs[b * h_len..][..h_len];
            match previous_c {
                Some(previous) => {
                    let previous = &previous[b * h_len..][..h_len];
                    for j in 0..h_len {
                        c[j] = f[j] * previous[j] + i[j] * g[j];
                    }
                }
                None => {
                    for j in 0..h_len {
                        c[j] = i[j] * g[j];
                    }
                }
            }
            for j in 0..h_len {
                tc[j] = tanh_fast(c[j]);
                h[j] = o[j] * tc[j];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    }

    /// `W · v` for `W` of `rows × v.len()`, in f64.
    fn times(w: &[f32], v: &[f64], rows: usize) -> Vec<f64> {
        (0..rows)
            .map(|r| {
                let row = &w[r * v.len()..][..v.len()];
                row.iter().zip(v).map(|(&w, &v)| f64::from(w) * v).sum()
            })
            .collect()
    }

    /// The three kernels over weights laid out by `prepare_weight_ih` and `prepare_weight_hh`
    /// against the cells in f64 over the stored weights: sizes that fill no 16-row block, and
    /// ones that straddle two, so the packing's padding is read.
    #[test]
    fn kernels_on_prepared_weights_match_the_cells_in_f64() {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        for (steps, features, hidden) in [(4, 3, 5), (3, 28, 20), (2, 17, 33)] {
            for gates in [1, 3, 4] {
                let width = gates * hidden;
                let (w_ih, w_hh) = (values(width * features, 1), values(width * hidden, 2));
                let (b_ih, b_hh) = (values(width, 3), values(width, 4));
                let x = values(steps * features, 5);
                let mut prepared_ih = vec![f32::NAN; width * features];
                prepare_weight_ih(&w_ih, &mut prepared_ih, width, features);
                let mut prepared_hh = vec![f32::NAN; weight_hh_len(width, hidden)];
                prepare_weight_hh(&w_hh, &mut prepared_hh, width, hidden);
                let params = RecurrentParams {
                    weight_ih: &prepared_ih,
                    weight_hh: &prepared_hh,
                    bias_ih: &b_ih,
                    bias_hh: &b_hh,
                };
                let mut hs = vec![f32::NAN; steps * hidden];
                match gates {
                    1 => rnn(
                        &params,
                        Nonlinearity::Tanh,
                        &x,
                        &mut hs,
                        &mut vec![0.0; hidden],
                    ),
                    3 => gru(
                        &params,
                        &x,
                        &mut hs,
                        &mut vec![0.0; steps * width],
                        &mut vec![0.0; width],
                    ),
                    _ => {
                        let buffers = LstmBuffers {
                            gates: &mut vec![0.0; steps * width],
                            cs: &mut vec![0.0; 2 * hidden],
                            tanh_cs: &mut vec![0.0; hidden],
                            bias: &mut vec![0.0; width],
                        };
                        lstm(&params, &x, &mut hs, buffers);
                    }
                }
                let (mut h, mut c) = (vec![0.0f64; hidden], vec![0.0f64; hidden]);
                for t in 0..steps {
                    let xt: Vec<f64> = x[t * features..][..features]
                        .iter()
                        .map(|&v| f64::from(v))
                        .collect();
                    let (ih, hh) = (times(&w_ih, &xt, width), times(&w_hh, &h, width));
                    let pre = |g: usize, j: usize| {
                        let o = g * hidden + j;
                        (ih[o] + f64::from(b_ih[o]), hh[o] + f64::from(b_hh[o]))
                    };
                    h = (0..hidden)
                        .map(|j| match gates {
                            1 => {
                                let (a, b) = pre(0, j);
                                (a + b).tanh()
                            }
                            3 => {
                                let r = sigmoid(pre(0, j).0 + pre(0, j).1);
                                let z = sigmoid(pre(1, j).0 + pre(1, j).1);
                                let n = (pre(2, j).0 + r * pre(2, j).1).tanh();
                                (1.0 - z) * n + z * h[j]
                            }
                            _ => {
                                let gate = |g| pre(g, j).0 + pre(g, j).1;
                                let (i, f) = (sigmoid(gate(0)), sigmoid(gate(1)));
                                let (g, o) = (gate(2).tanh(), sigmoid(gate(3)));
                                c[j] = f * c[j] + i * g;
                                o * c[j].tanh()
                            }
                        })
                        .collect();
                    for (j, (&got, &want)) in hs[t * hidden..][..hidden].iter().zip(&h).enumerate()
                    {
                        assert!(
                            (f64::from(got) - want).abs() < 1e-4,
                            "{gates} gates, {steps}x{features}->{hidden}, step {t}[{j}]: \
                             {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn blocks_alternate_and_keep_the_previous_step() {
        let mut buffer = [0.0, 0.0, 1.0, 1.0];
        let (previous, current) = blocks(&mut buffer, 2, 3, true);
        assert_eq!(previous, Some(&[0.0, 0.0][..]));
        current.fill(2.0);
        assert_eq!(buffer, [0.0, 0.0, 2.0, 2.0]);
        let (previous, current) = blocks(&mut buffer, 2, 4, true);
        assert_eq!(previous, Some(&[2.0, 2.0][..]));
        current.fill(3.0);
        assert_eq!(buffer, [3.0, 3.0, 2.0, 2.0]);
    }
}
