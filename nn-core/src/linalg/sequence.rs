//! The sequence layers without a product, on slices: a token embedding's lookup, the position
//! codes, an image cut into patches and the mean over the steps of a sequence.
//!
//! The heap layers ([`Embedding`](crate::layers::Embedding),
//! [`SinusoidalPositional`](crate::layers::SinusoidalPositional),
//! [`LearnedPositional`](crate::layers::LearnedPositional), [`Patches`](crate::layers::Patches),
//! [`MeanPool`](crate::layers::MeanPool)) run these on each sample of a batch, and a baked
//! network ([`baked`](crate::baked)) on its one sample: the same code, so the same bits.
//! Nothing here allocates.

/// The row of a table of `vocab` rows that the token id `id` names, or `None` unless `id` is
/// an integer in `0..vocab` (ids are `f32`s, as every tensor's values).
///
/// ```
/// use nn_core::linalg::sequence::token;
/// assert_eq!(token(3.0, 4), Some(3));
/// assert_eq!(token(-0.0, 4), Some(0));
/// for bad in [4.0, -1.0, 0.5, f32::NAN, f32::INFINITY] {
///     assert_eq!(token(bad, 4), None);
/// }
/// ```
pub fn token(id: f32, vocab: usize) -> Option<usize> {
    // `as` saturates (NaN to 0), so the round trip rejects fractions, NaN, infinities and ids
    // too large for usize; the comparisons reject the rest.
    let index = id as usize;
    (id >= 0.0 && index as f32 == id && index < vocab).then_some(index)
}

/// A token embedding's lookup: for every id of `ids`, its row of `table` (`vocab × features`,
/// `vocab = table.len() / features`) into the next `features` values of `y`. An id that is not
/// an integer in `0..vocab` ([`token`]) gives a row of NaN, and nothing outside the table is
/// ever read.
///
/// # Panics
/// When `features` is 0.
///
/// ```
/// use nn_core::linalg::sequence::embedding;
/// let table = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]; // 3 tokens of 2 values
/// let mut y = [0.0; 6];
/// embedding(&table, 2, &[2.0, 0.0, 7.0], &mut y);
/// assert_eq!(y[..4], [2.0, 2.5, 0.0, 0.5]);
/// assert!(y[4..].iter().all(|v| v.is_nan()));
/// ```
pub fn embedding(table: &[f32], features: usize, ids: &[f32], y: &mut [f32]) {
    assert!(
        features > 0,
        "an embedding's vectors have at least one value"
    );
    let vocab = table.len() / features;
    for (&id, out) in ids.iter().zip(y.chunks_exact_mut(features)) {
        match token(id, vocab) {
            Some(row) => out.copy_from_slice(&table[row * features..][..features]),
            None => out.fill(f32::NAN),
        }
    }
}

/// The divisor of column `column` of the sinusoidal position code of `features` columns,
/// `10000^(2i / features)` for the column pair `i = column / 2`, in `f64`.
pub fn sinusoidal_divisor(column: usize, features: usize) -> f64 {
    // Columns 2i and 2i + 1 share the exponent 2i / D.
    let pair = (column / 2 * 2) as f64;
    libm::pow(10_000.0, pair / features as f64)
}

/// The sinusoidal position code of step `step` in column `column`, whose
/// [`sinusoidal_divisor`] is `divisor`: `sin(step / divisor)` in an even column,
/// `cos(step / divisor)` in an odd one, computed in `f64` and rounded once.
///
/// ```
/// use nn_core::linalg::sequence::{sinusoidal, sinusoidal_divisor};
/// assert_eq!(sinusoidal(1, 0, sinusoidal_divisor(0, 4)), 1f64.sin() as f32);
/// assert_eq!(sinusoidal(1, 3, sinusoidal_divisor(3, 4)), 0.01f64.cos() as f32);
/// ```
pub fn sinusoidal(step: usize, column: usize, divisor: f64) -> f32 {
    let angle = step as f64 / divisor;
    let value = if column.is_multiple_of(2) {
        libm::sin(angle)
    } else {
        libm::cos(angle)
    };
    value as f32
}

/// `y = x + table` for each sample of `x`, whole samples of `table.len()` values: a position
/// code or a learned position embedding added to every sequence.
///
/// ```
/// use nn_core::linalg::sequence::add_positions;
/// let mut y = [0.0; 4];
/// add_positions(&[10.0, 20.0], &[1.0, 2.0, 3.0, 4.0], &mut y);
/// assert_eq!(y, [11.0, 22.0, 13.0, 24.0]);
/// ```
pub fn add_positions(table: &[f32], x: &[f32], y: &mut [f32]) {
    let samples = x.chunks_exact(table.len().max(1));
    for (x, y) in samples.zip(y.chunks_exact_mut(table.len().max(1))) {
        for ((y, &x), &p) in y.iter_mut().zip(x).zip(table) {
            *y = x + p;
        }
    }
}

/// `y = x + PE` for one sequence `x` of steps of `features` values, with the sinusoidal
/// position code `PE` computed value by value ([`sinusoidal`]): the values of
/// [`SinusoidalPositional`](crate::layers::SinusoidalPositional)'s table, added as
/// [`add_positions`] adds them, without a table. Each column's divisor is computed once.
///
/// # Panics
/// When `features` is 0 or `x` and `y` differ in length.
pub fn add_sinusoidal(features: usize, x: &[f32], y: &mut [f32]) {
    assert!(features > 0, "a position code has at least one column");
    assert_eq!(x.len(), y.len(), "a position code keeps the shape");
    let steps = x.len() / features;
    for column in 0..features {
        let divisor = sinusoidal_divisor(column, features);
        for step in 0..steps {
            let at = step * features + column;
            y[at] = x[at] + sinusoidal(step, column, divisor);
        }
    }
}

/// Calls `visit(pixel, feature)` for every pixel of one `(C, H, W)` image (`image`) cut into
/// `patch × patch` patches: its index in the image, and in the sequence of patches in reading
/// order, each `C · patch · patch` features in `(c, row, column)` order.
pub(crate) fn patch_pixels(image: [usize; 3], patch: usize, mut visit: impl FnMut(usize, usize)) {
    let [channels, height, width] = image;
    let patch = patch.max(1);
    let (across, features) = (width / patch, channels * patch * patch);
    for c in 0..channels {
        for row in 0..height {
            for col in 0..width {
                let at = (row / patch) * across + col / patch;
                let feature = (c * patch + row % patch) * patch + col % patch;
                visit((c * height + row) * width + col, at * features + feature);
            }
        }
    }
}

/// One `(C, H, W)` image `x` (`image` its sizes) cut into `patch × patch` patches in reading
/// order, each one step of `C · patch · patch` features in `(c, row, column)` order, into `y`:
/// a permutation of the values.
///
/// # Panics
/// When `x` or `y` is shorter than the image.
///
/// ```
/// use nn_core::linalg::sequence::patches;
/// let x: Vec<f32> = (0..16).map(|v| v as f32).collect(); // 1 x 4 x 4
/// let mut y = [0.0; 16];
/// patches([1, 4, 4], 2, &x, &mut y);
/// assert_eq!(y[..8], [0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]);
/// ```
pub fn patches(image: [usize; 3], patch: usize, x: &[f32], y: &mut [f32]) {
    patch_pixels(image, patch, |pixel, feature| y[feature] = x[pixel]);
}

/// The mean over the steps of one sequence `x` of `y.len()` features per step, into `y`: the
/// sum of the steps in order, times `1 / steps`.
///
/// ```
/// use nn_core::linalg::sequence::mean_over_steps;
/// let mut y = [0.0; 2];
/// mean_over_steps(&[1.0, 10.0, 2.0, 20.0, 6.0, 0.0], &mut y);
/// assert_eq!(y, [3.0, 10.0]);
/// ```
pub fn mean_over_steps(x: &[f32], y: &mut [f32]) {
    let features = y.len().max(1);
    let scale = 1.0 / (x.len() / features) as f32;
    y.fill(0.0);
    for step in x.chunks_exact(features) {
        for (o, &v) in y.iter_mut().zip(step) {
            *o += v;
        }
    }
    y.iter_mut().for_each(|o| *o *= scale);
}

/// The mean over the steps of one sequence `x` that are not padding, into `y`: each step of `x`
/// is `y.len()` features followed by its token id, and a step whose id is `pad` is left out.
/// Returns how many steps were averaged; with none (all padding), `y` is 0. The kernel of
/// [`PaddedMeanPool`](crate::layers::PaddedMeanPool), Keras's `GlobalAveragePooling1D` under a
/// mask.
///
/// ```
/// use nn_core::linalg::sequence::mean_over_kept_steps;
/// let mut y = [0.0; 2];
/// // Three steps of two features and an id; the last step is padding (id 0).
/// let kept = mean_over_kept_steps(&[1.0, 10.0, 5.0, 3.0, 30.0, 7.0, 9.0, 9.0, 0.0], 0, &mut y);
/// assert_eq!((kept, y), (2, [2.0, 20.0]));
/// ```
pub fn mean_over_kept_steps(x: &[f32], pad: usize, y: &mut [f32]) -> usize {
    let features = y.len();
    let pad = pad as f32;
    y.fill(0.0);
    let mut kept = 0;
    for step in x.chunks_exact(features + 1) {
        if step[features] == pad {
            continue;
        }
        kept += 1;
        for (o, &v) in y.iter_mut().zip(step) {
            *o += v;
        }
    }
    if kept > 0 {
        let scale = 1.0 / kept as f32;
        y.iter_mut().for_each(|o| *o *= scale);
    }
    kept
}

/// The index of the last step of one sequence `x` that is not padding: each step is `features`
/// values followed by its token id, and a step whose id is `pad` is padding. `None` when every
/// step is. The kernel of [`PaddedLast`](crate::layers::PaddedLast).
///
/// ```
/// use nn_core::linalg::sequence::last_kept_step;
/// // Three steps of one feature and an id; the last is padding (id 0).
/// assert_eq!(last_kept_step(&[1.0, 5.0, 2.0, 7.0, 3.0, 0.0], 1, 0), Some(1));
/// assert_eq!(last_kept_step(&[1.0, 0.0], 1, 0), None);
/// ```
pub fn last_kept_step(x: &[f32], features: usize, pad: usize) -> Option<usize> {
    let pad = pad as f32;
    x.chunks_exact(features + 1)
        .rposition(|step| step[features] != pad)
}
