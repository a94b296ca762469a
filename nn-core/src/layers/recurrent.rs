//! What the recurrent layers ([`Rnn`](super::Rnn), [`Gru`](super::Gru), [`Lstm`](super::Lstm))
//! share: layout moves between batch-first and time-major, the all-steps input projection, the
//! gradient products done once per sequence, and PyTorch's initialisation.
//!
//! Batches arrive batch-first, `(B, T, F)`, where the `B` rows of one step are `T · F` apart.
//! Every product of one step wants them next to each other, so inside a layer everything is
//! time-major, `(T, B, ·)`: the input is copied once per sequence (`B · T · F` values) and step
//! `t`'s gates, states and gate gradients are each one contiguous `B × ·` block.

use crate::init::{Rng, uniform};
use crate::linalg::recurrent::{self, RecurrentParams};
use crate::linalg::{MatRef, Op, gemm, gemm_packed, pack, packed_len, threads, transpose};
use crate::tensor::Aligned;

/// A zeroed buffer of `len` values on a 64-byte boundary: workspaces call it once, in
/// `Zeroed::zeroed`.
pub(crate) fn buffer(len: usize) -> Aligned {
    Aligned::filled(len, 0.0)
}

/// Copies batch-first `x` `(batch, steps, width)` into time-major `out` `(steps, batch, width)`.
pub(crate) fn to_time_major(x: &[f32], out: &mut [f32], batch: usize, steps: usize, width: usize) {
    for b in 0..batch {
        for t in 0..steps {
            let src = &x[(b * steps + t) * width..][..width];
            out[(t * batch + b) * width..][..width].copy_from_slice(src);
        }
    }
}

/// Copies time-major `x` `(steps, batch, width)` into batch-first `out` `(batch, steps, width)`.
pub(crate) fn to_batch_first(x: &[f32], out: &mut [f32], batch: usize, steps: usize, width: usize) {
    for t in 0..steps {
        for b in 0..batch {
            let src = &x[(t * batch + b) * width..][..width];
            out[(b * steps + t) * width..][..width].copy_from_slice(src);
        }
    }
}

/// `gates = xt · W_ihᵀ + bias` for every step at once: `xt` is `rows × inputs` (time-major),
/// `weight_ih` is `width × inputs`, `bias` has `width` values and `gates` is `rows × width`.
///
/// `weight_ih_t` (`2 · inputs × width`) holds `W_ihᵀ` (`inputs × width`), so the product is a
/// plain one: with a depth of a few dozen inputs, reading `W_ih` as stored (`x · W_ihᵀ`, dot
/// products of `inputs` terms) ran at a fifth of the speed. Its second half keeps the `W_ih`
/// the transpose was made from: while the weights are unchanged (inference), comparing them
/// (bit for bit) replaces transposing again, which cost a batch-1 forward about 2%.
pub(crate) fn project_inputs(
    xt: &[f32],
    weight_ih: &[f32],
    weight_ih_t: &mut [f32],
    bias: &[f32],
    gates: &mut [f32],
    rows: usize,
    inputs: usize,
) {
    let width = bias.len();
    let (weight_ih_t, seen) = weight_ih_t.split_at_mut(inputs * width);
    // Without an early exit, so the comparison vectorizes.
    let unchanged = weight_ih
        .iter()
        .zip(seen.iter())
        .fold(true, |same, (w, s)| same & (w.to_bits() == s.to_bits()));
    // Both halves start zeroed, and a zero matrix is its own transpose.
    if !unchanged {
        transpose(weight_ih, weight_ih_t, width, inputs);
        seen.copy_from_slice(weight_ih);
    }
    for row in gates.chunks_exact_mut(width.max(1)) {
        row.copy_from_slice(bias);
    }
    times(xt, weight_ih_t, 1.0, gates, rows, inputs, width);
}

/// Below this many rows, a step's recurrent product is a dot product per output (`h · W_hhᵀ`)
/// over `W_hh` as stored; from it up, it reads `W_hhᵀ` packed once per sequence (the broadcast
/// kernel). A batch of one runs the shared kernels of [`linalg::recurrent`] over the weights
/// laid out as a baked network's are ([`batch1_params`]).
///
/// [`linalg::recurrent`]: crate::linalg::recurrent
pub(crate) const PLAIN_FROM_ROWS: usize = 4;

/// The fewest batch rows in a band of a recurrent step run across threads.
pub(crate) const MIN_BAND_ROWS: usize = 8;

/// The length of the packed `W_hh` that a batch of `rows` reads (see
/// [`pack_recurrent_weight`], and [`batch1_params`] at one row): none at two or three rows.
pub(crate) fn packed_recurrent_len(rows: usize, width: usize, hidden: usize) -> usize {
    if rows >= PLAIN_FROM_ROWS {
        packed_len(hidden, width)
    } else if rows == 1 && recurrent::PACKED_W_HH {
        // And up to a cache line more, to start the packed rows on one.
        recurrent::weight_hh_len(width, hidden) + LINE - 1
    } else {
        0
    }
}

/// `f32`s in a 64-byte cache line.
const LINE: usize = 16;

/// The length of the `W_ihᵀ` buffer of [`project_inputs`] and [`batch1_params`] for a batch
/// of `rows` (`inputs × width` and the `W_ih` it was made from): none for a batch of one on a
/// target whose batch-1 kernels read `W_ih` as stored.
pub(crate) fn transposed_len(rows: usize, inputs: usize, width: usize) -> usize {
    if rows == 1 && !recurrent::TRANSPOSED_W_IH {
        0
    } else {
        2 * inputs * width
    }
}

/// The parameters of a layer (`stored`, PyTorch's layouts) as the batch-1 kernels of
/// [`linalg::recurrent`] read them on this target: `W_ih` laid out in `weight_ih_t` (of
/// [`transposed_len`]) and `W_hh` in `weight_hh_packed` (of [`packed_recurrent_len`] at one
/// row; from its first cache line) where they take a layout of their own there, else as
/// stored.
///
/// `W_ih` is laid out again only when it changed since the last call (the second half of
/// `weight_ih_t` keeps the one it was made from, as in [`project_inputs`]); `W_hh` at every
/// call, which costs about 8 % of the MNIST LSTM's batch-1 forward (comparing it with the last
/// one would save only a third of that: it reads as much).
///
/// [`linalg::recurrent`]: crate::linalg::recurrent
pub(crate) fn batch1_params<'a>(
    stored: RecurrentParams<'a>,
    weight_ih_t: &'a mut [f32],
    weight_hh_packed: &'a mut [f32],
    hidden: usize,
) -> RecurrentParams<'a> {
    let width = stored.bias_ih.len();
    let mut params = stored;
    if recurrent::TRANSPOSED_W_IH {
        let inputs = stored.weight_ih.len() / width.max(1);
        let (prepared, seen) = weight_ih_t.split_at_mut(inputs * width);
        // Without an early exit, so the comparison vectorizes.
        let unchanged = stored
            .weight_ih
            .iter()
            .zip(seen.iter())
            .fold(true, |same, (w, s)| same & (w.to_bits() == s.to_bits()));
        // Both halves start zeroed, and a zero matrix is its own transpose.
        if !unchanged {
            recurrent::prepare_weight_ih(stored.weight_ih, prepared, width, inputs);
            seen.copy_from_slice(stored.weight_ih);
        }
        params.weight_ih = prepared;
    }
    if recurrent::PACKED_W_HH {
        let len = recurrent::weight_hh_len(width, hidden);
        let start = weight_hh_packed.as_ptr().align_offset(64).min(LINE - 1);
        let prepared = &mut weight_hh_packed[start..][..len];
        recurrent::prepare_weight_hh(stored.weight_hh, prepared, width, hidden);
        params.weight_hh = prepared;
    }
    params
}

/// One step's recurrent product, `c += h · W_hhᵀ`: `h` is `rows × hidden`, `w` is
/// `W_hh` (`width × hidden`), `w_packed` is `W_hhᵀ` as [`pack_recurrent_weight`] left it (only
/// read from [`PLAIN_FROM_ROWS`] rows up), `c` is `rows × width`.
pub(crate) fn add_recurrent_product(
    h: &[f32],
    w: &[f32],
    w_packed: &[f32],
    c: &mut [f32],
    (rows, whole_rows): (usize, usize),
    hidden: usize,
    width: usize,
) {
    // `whole_rows`: the batch this is a band of decides, so that every band gets its bits.
    if whole_rows < PLAIN_FROM_ROWS {
        times_transposed(h, w, 1.0, c, rows, hidden, width);
    } else {
        gemm_packed(1.0, MatRef::new(h, rows, hidden), w_packed, 1.0, c, width);
    }
}

/// Packs `W_hh` (`width × hidden`) into `w_packed` for the batch of `rows` that will read it:
/// `W_hhᵀ` in panels from [`PLAIN_FROM_ROWS`] rows up. Read in place by every step, the rows
/// of `W_hhᵀ` are `width` floats apart and the panel a step walks fell into a few L1 sets,
/// coming from L2 for every block of 8 rows.
pub(crate) fn pack_recurrent_weight(
    w: &[f32],
    w_packed: &mut [f32],
    rows: usize,
    width: usize,
    hidden: usize,
) {
    if rows >= PLAIN_FROM_ROWS {
        pack(MatRef::new(w, width, hidden), Op::Transposed, w_packed);
    }
}

/// The length of the packed `W_hh` (`width × hidden`) that a batch of `rows` reads backward:
/// none below [`PLAIN_FROM_ROWS`].
pub(crate) fn packed_backward_len(rows: usize, width: usize, hidden: usize) -> usize {
    if rows >= PLAIN_FROM_ROWS {
        packed_len(width, hidden)
    } else {
        0
    }
}

/// Packs `W_hh` (`width × hidden`) into `w_packed` for [`recurrent_state_grad`], when a batch
/// of `rows` will read it: as in [`pack_recurrent_weight`], its rows read in place evicted each
/// other from L1.
pub(crate) fn pack_backward_weight(
    w: &[f32],
    w_packed: &mut [f32],
    rows: usize,
    width: usize,
    hidden: usize,
) {
    if rows >= PLAIN_FROM_ROWS {
        pack(MatRef::new(w, width, hidden), Op::Plain, w_packed);
    }
}

/// One step back through the recurrent product, `dh = dgates · W_hh`: `dgates` is `rows ×
/// width`, `w` is `W_hh` (`width × hidden`), `w_packed` it as [`pack_backward_weight`] left
/// it (read from [`PLAIN_FROM_ROWS`] rows up), `dh` is `rows × hidden`, overwritten.
pub(crate) fn recurrent_state_grad(
    dgates: &[f32],
    w: &[f32],
    w_packed: &[f32],
    dh: &mut [f32],
    (rows, whole_rows): (usize, usize),
    width: usize,
    hidden: usize,
) {
    if whole_rows < PLAIN_FROM_ROWS {
        times(dgates, w, 0.0, dh, rows, width, hidden);
    } else {
        gemm_packed(
            1.0,
            MatRef::new(dgates, rows, width),
            w_packed,
            0.0,
            dh,
            hidden,
        );
    }
}

/// `c = a · wᵀ + beta · c`: `a` is `rows × depth`, `w` is `width × depth` (PyTorch's layout of
/// `weight_hh`), `c` is `rows × width`. One step's recurrent product.
pub(crate) fn times_transposed(
    a: &[f32],
    w: &[f32],
    beta: f32,
    c: &mut [f32],
    rows: usize,
    depth: usize,
    width: usize,
) {
    gemm(
        1.0,
        MatRef::new(a, rows, depth),
        Op::Plain,
        MatRef::new(w, width, depth),
        Op::Transposed,
        beta,
        c,
        width,
    );
}

/// `c = a · w + beta · c`: `a` is `rows × width` (gate gradients), `w` is `width × depth`,
/// `c` is `rows × depth`. The gradient of a product by `wᵀ` with respect to its left factor.
pub(crate) fn times(
    a: &[f32],
    w: &[f32],
    beta: f32,
    c: &mut [f32],
    rows: usize,
    width: usize,
    depth: usize,
) {
    gemm(
        1.0,
        MatRef::new(a, rows, width),
        Op::Plain,
        MatRef::new(w, width, depth),
        Op::Plain,
        beta,
        c,
        depth,
    );
}

/// `grad += dgatesᵀ · inputs`: `dgates` is `rows × width`, `inputs` is `rows × depth`, `grad`
/// is `width × depth`. A weight gradient summed over every step and sample in one product.
pub(crate) fn add_weight_grad(
    grad: &mut [f32],
    dgates: &[f32],
    inputs: &[f32],
    rows: usize,
    width: usize,
    depth: usize,
) {
    if rows == 0 {
        return;
    }
    gemm(
        1.0,
        MatRef::new(dgates, rows, width),
        Op::Transposed,
        MatRef::new(inputs, rows, depth),
        Op::Plain,
        1.0,
        grad,
        depth,
    );
}

/// [`add_weight_grad`] by way of the transpose: `grad_t = inputsᵀ · dgates` (`depth ×
/// width`, overwritten), then `grad += grad_tᵀ`. The product's output rows are then the wide
/// gate axis; with `B · T` rows of depth, this ran about 25% faster than `dgatesᵀ · inputs`
/// (the LSTM of `mnist_lstm`: 1728 deep, 512 × 128).
pub(crate) fn add_weight_grad_via_transpose(
    grad: &mut [f32],
    grad_t: &mut [f32],
    dgates: &[f32],
    inputs: &[f32],
    rows: usize,
    width: usize,
    depth: usize,
) {
    if rows == 0 {
        return;
    }
    gemm(
        1.0,
        MatRef::new(inputs, rows, depth),
        Op::Transposed,
        MatRef::new(dgates, rows, width),
        Op::Plain,
        0.0,
        grad_t,
        width,
    );
    // Rows of `grad` in bands across threads; each value is one addition, so any cut gives
    // the same bits.
    let per = threads::lanes_per_band(width, width * depth, 16);
    let bands = grad
        .chunks_mut((per * depth).max(1))
        .take(width.div_ceil(per));
    threads::for_each(bands, |band, rows| {
        for (r, row) in rows.chunks_exact_mut(depth.max(1)).enumerate() {
            let i = band * per + r;
            for (d, g) in row.iter_mut().enumerate() {
                *g += grad_t[d * width + i];
            }
        }
    });
}

/// `grad += column sums of dgates` (`rows × grad.len()`): a bias gradient.
///
/// Bands of columns run across threads; each column is summed in row order either way.
pub(crate) fn add_bias_grad(grad: &mut [f32], dgates: &[f32]) {
    let width = grad.len();
    let per = threads::lanes_per_band(width, dgates.len(), 16);
    threads::for_each(grad.chunks_mut(per), |band, grad| {
        let first = band * per;
        for row in dgates.chunks_exact(width.max(1)) {
            for (g, &d) in grad.iter_mut().zip(&row[first..]) {
                *g += d;
            }
        }
    });
}

/// Fills every slice with draws from `U(−1/√hidden, 1/√hidden)`: PyTorch's default for every
/// parameter of `nn.RNN`, `nn.GRU` and `nn.LSTM`.
pub(crate) fn init_uniform(params: [&mut [f32]; 4], hidden: usize, rng: &mut Rng) {
    let limit = 1.0 / crate::math::sqrt(hidden.max(1) as f32);
    for param in params {
        for w in param.iter_mut() {
            *w = uniform(rng, -limit, limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn layout_moves_are_inverse() {
        let x: alloc::vec::Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let mut tm = vec![0.0; 24];
        to_time_major(&x, &mut tm, 2, 3, 4);
        // Step 1 of sample 0 is batch-first row 1, time-major row 2.
        assert_eq!(&tm[8..12], &x[4..8]);
        let mut back = vec![0.0; 24];
        to_batch_first(&tm, &mut back, 2, 3, 4);
        assert_eq!(back, x);
    }
}

/// What the recurrent layers' tests share.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::init::{Rng, seeded, uniform};
    use crate::layers::Layer;
    use crate::param::{HasParams, Param, ParamPath};
    use crate::tensor::{Tensor, Zeroed};
    use crate::testing::random_tensor;

    /// Sets every bias to `U(−0.5, 0.5)`, so a gradient check sees biases well away from 0.
    pub(crate) fn noisy_biases<L: HasParams>(layer: &mut L, rng: &mut Rng) {
        layer.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, p: Param<'_>| {
                if path.last().starts_with("bias") {
                    p.value
                        .iter_mut()
                        .for_each(|b| *b = uniform(rng, -0.5, 0.5));
                }
            },
        );
    }

    /// Checks that a batch of 5 (whose recurrent products read the transposed `W_hh`, see
    /// `PLAIN_FROM_ROWS`) gives each sample what a batch of 1 (the kernels of
    /// `linalg::recurrent`, over the weights laid out by `batch1_params`) does, through both
    /// forwards, within `1e-5`.
    #[track_caller]
    pub(crate) fn check_batch_paths_agree<L: Layer + Clone>(layer: &L) {
        let mut rng = seeded(98);
        let x: L::Input<5> = random_tensor(&mut rng);
        let mut y = L::Output::<5>::zeroed();
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut y_train = L::Output::<5>::zeroed();
        layer
            .clone()
            .forward_train(&x, &mut y_train, &mut Zeroed::zeroed());
        let (n_in, n_out) = (<L::Input<1> as Tensor>::LEN, <L::Output<1> as Tensor>::LEN);
        for b in 0..5 {
            let one = L::Input::<1>::try_from_slice(&x.as_slice()[b * n_in..][..n_in]).unwrap();
            let mut y1 = L::Output::<1>::zeroed();
            layer.forward(&one, &mut y1, &mut Zeroed::zeroed());
            for (i, &want) in y1.as_slice().iter().enumerate() {
                for got in [
                    y.as_slice()[b * n_out + i],
                    y_train.as_slice()[b * n_out + i],
                ] {
                    assert!(
                        (got - want).abs() < 1e-5,
                        "sample {b}[{i}]: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// Checks, for every step `t0`, that changing the inputs after `t0` leaves the outputs up
    /// to `t0` bit-identical, through both forwards. Inputs are `(2, T, F)`, outputs
    /// `(2, T, H)`.
    #[track_caller]
    pub(crate) fn check_causal<L: Layer + Clone>(layer: &L) {
        let [_, steps, features] = <L::Input<2> as Tensor>::SHAPE else {
            panic!("not a batch of sequences")
        };
        let [_, _, hidden] = <L::Output<2> as Tensor>::SHAPE else {
            panic!("not a batch of sequences")
        };
        let (steps, features, hidden) = (*steps, *features, *hidden);
        let mut rng = seeded(99);
        let x: L::Input<2> = random_tensor(&mut rng);
        let mut y = L::Output::<2>::zeroed();
        layer.forward(&x, &mut y, &mut Zeroed::zeroed());
        let mut trained = layer.clone();
        for t0 in 0..steps {
            let mut changed: L::Input<2> = Tensor::zeros();
            changed.copy_from(&x);
            for b in 0..2 {
                for t in t0 + 1..steps {
                    for f in 0..features {
                        changed.as_mut_slice()[(b * steps + t) * features + f] += 0.5;
                    }
                }
            }
            let mut eval = L::Output::<2>::zeroed();
            layer.forward(&changed, &mut eval, &mut Zeroed::zeroed());
            let mut train = L::Output::<2>::zeroed();
            trained.forward_train(&changed, &mut train, &mut Zeroed::zeroed());
            for b in 0..2 {
                for t in 0..steps {
                    let row = (b * steps + t) * hidden..(b * steps + t + 1) * hidden;
                    let (want, eval, train) = (
                        &y.as_slice()[row.clone()],
                        &eval.as_slice()[row.clone()],
                        &train.as_slice()[row],
                    );
                    if t <= t0 {
                        assert_eq!(want, eval, "step {t} changed after inputs from {t0} did");
                        assert_eq!(want, train, "step {t} changed after inputs from {t0} did");
                    } else {
                        assert_ne!(want, eval, "step {t} ignored its input");
                    }
                }
            }
        }
    }
}
