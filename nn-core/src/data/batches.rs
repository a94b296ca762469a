//! Shuffled mini-batches of const size, of any per-sample shape.

use core::fmt;
use std::vec::Vec;

use rand::seq::SliceRandom;

use super::{DataError, Dataset, Labels, Targets};
use crate::init::{Rng, seeded};
use crate::layers::Shape;
use crate::tensor::{Tensor, Tensor2};

/// What to do with the last `len % B` samples of a pass, which cannot fill a whole batch.
///
/// The batch size is a const generic, so a smaller final batch would be a different type
/// (`Tensor2<16, 784>` instead of `Tensor2<64, 784>`) and would need a second copy of every
/// buffer and tape; instead every batch has exactly `B` samples, and this policy decides how the
/// last one is made. It mirrors PyTorch's `DataLoader(drop_last=...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LastBatch {
    /// Drop the last partial batch: every batch holds `B` distinct samples, and a pass has
    /// `floor(len / B)` batches. The samples left out differ from pass to pass when shuffling,
    /// so none is left out for good. The usual choice for training.
    #[default]
    Drop,
    /// Complete the last partial batch by wrapping around to the start of the pass's order: a
    /// pass has `ceil(len / B)` batches, and the last one reports how many of its leading samples
    /// are new (`valid`); the rest repeat samples already seen in the pass. For evaluation,
    /// where every sample must count exactly once: count only the first `valid` samples (see
    /// [`Batch::correct`]).
    Pad,
}

impl LastBatch {
    /// The number of batches in a pass over `samples` samples, as Keras' `steps_per_epoch`:
    /// `floor(samples / batch)` for [`LastBatch::Drop`], `ceil(samples / batch)` for
    /// [`LastBatch::Pad`] (0 for a batch size of 0).
    ///
    /// ```
    /// use nn_core::data::LastBatch;
    /// assert_eq!(LastBatch::Drop.steps(60_000, 64), 937);
    /// assert_eq!(LastBatch::Pad.steps(60_000, 64), 938);
    /// assert_eq!(LastBatch::Pad.steps(10_000, 1000), 10);
    /// ```
    pub const fn steps(self, samples: usize, batch: usize) -> usize {
        if batch == 0 {
            return 0;
        }
        match self {
            LastBatch::Drop => samples / batch,
            LastBatch::Pad => samples.div_ceil(batch),
        }
    }
}

/// A caller-owned batch of `B` samples of shape `S`: the inputs as an `S::Batch<B>`
/// (`Tensor2<B, N>` for [`Features<N>`](crate::layers::Features), `Tensor3<B, T, F>` for
/// [`Shape2<T, F>`](crate::layers::Shape2), `Tensor4<B, C, H, W>` for
/// [`Shape3<C, H, W>`](crate::layers::Shape3)), the labels as `[usize; B]` (what
/// [`softmax_cross_entropy`](crate::loss::softmax_cross_entropy) and
/// [`correct`](crate::metrics::correct) take), and how many leading samples are valid.
///
/// Make one with [`Batch::new`] before the training loop and refill it with
/// [`Batches::fill_next`]; both buffers live on the heap and are reused.
///
/// A dataset with real-valued targets ([`Values<T>`](super::Values)) gives batches whose
/// [`Batch::targets`] are a `T::Batch<B>` instead of labels.
pub struct Batch<const B: usize, S: Shape, T: Targets = Labels> {
    inputs: S::Batch<B>,
    targets: T::Batch<B>,
    valid: usize,
}

impl<const B: usize, S: Shape, T: Targets> Batch<B, S, T> {
    /// A zeroed batch, allocated once on the heap, with no valid samples.
    pub fn new() -> Self {
        Self {
            inputs: <S::Batch<B> as Tensor>::zeros(),
            targets: T::new_batch(),
            valid: 0,
        }
    }

    /// The inputs, batch first: sample `i` is index `i` of the outermost axis.
    pub fn inputs(&self) -> &S::Batch<B> {
        &self.inputs
    }

    /// The targets, one per sample: `[usize; B]` labels, or a `T::Batch<B>` of values.
    pub fn targets(&self) -> &T::Batch<B> {
        &self.targets
    }

    /// The inputs, mutably (to corrupt them for a denoising autoencoder, say).
    pub fn inputs_mut(&mut self) -> &mut S::Batch<B> {
        &mut self.inputs
    }

    /// How many leading samples are new to this pass: `B`, except in the last batch of a pass
    /// under [`LastBatch::Pad`].
    pub fn valid(&self) -> usize {
        self.valid
    }
}

impl<const B: usize, S: Shape> Batch<B, S> {
    /// The labels, one per sample.
    pub fn labels(&self) -> &[usize; B] {
        &self.targets
    }

    /// How many of the valid rows of `scores` (the network's output for this batch) have their
    /// largest value at the row's label. Padding rows are not counted.
    ///
    /// ```
    /// use nn_core::data::{Batch, Batches, Dataset, LastBatch};
    /// use nn_core::layers::Features;
    /// use nn_core::tensor::Tensor2;
    /// // Three one-feature samples whose single input is the class: 0, 1, 0.
    /// let data = Dataset::<Features<1>>::new(vec![0.0, 1.0, 0.0], vec![0, 1, 0], 2)?;
    /// let mut batches = Batches::<2, _>::sequential(&data, LastBatch::Pad)?;
    /// let mut batch = Batch::new();
    /// let mut correct = 0;
    /// while batches.fill_next(&mut batch).is_some() {
    ///     // A "network" that answers class 0 for every sample.
    ///     let scores = Tensor2::<2, 2>::from_fn(|[_, class]| if class == 0 { 1.0 } else { 0.0 });
    ///     correct += batch.correct(&scores);
    /// }
    /// assert_eq!(correct, 2); // of 3: the wrapped-around 4th row is not counted
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn correct<const N: usize>(&self, scores: &Tensor2<B, N>) -> usize {
        scores
            .rows()
            .zip(self.targets.iter())
            .take(self.valid)
            .filter(|(row, label)| crate::metrics::argmax(row) == **label)
            .count()
    }

    /// The inputs and labels, mutably, to fill the batch by hand.
    pub fn parts_mut(&mut self) -> (&mut S::Batch<B>, &mut [usize; B]) {
        (&mut self.inputs, &mut self.targets)
    }
}

impl<const B: usize, S: Shape, T: Targets> Default for Batch<B, S, T> {
    fn default() -> Self {
        Self::new()
    }
}

// By hand rather than derived: a derive would ask the shape marker `S` for the same traits.
impl<const B: usize, S: Shape, T: Targets> Clone for Batch<B, S, T>
where
    S::Batch<B>: Clone,
    T::Batch<B>: Clone,
{
    fn clone(&self) -> Self {
        Self {
            inputs: self.inputs.clone(),
            targets: self.targets.clone(),
            valid: self.valid,
        }
    }
}

impl<const B: usize, S: Shape, T: Targets> PartialEq for Batch<B, S, T>
where
    S::Batch<B>: PartialEq,
    T::Batch<B>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.valid == other.valid && self.targets == other.targets && self.inputs == other.inputs
    }
}

impl<const B: usize, S: Shape, T: Targets> fmt::Debug for Batch<B, S, T>
where
    S::Batch<B>: fmt::Debug,
    T::Batch<B>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("inputs", &self.inputs)
            .field("targets", &self.targets)
            .field("valid", &self.valid)
            .finish()
    }
}

/// Batches of `B` samples of shape `S` drawn from a [`Dataset<S>`], in shuffled or sequential
/// order, pass after pass. The shape comes from the dataset, so `Batches::<64, _>` is enough.
///
/// Each call of [`Batches::fill_next`] copies the next `B` samples into a caller-owned [`Batch`]
/// and allocates nothing. A pass (epoch) covers every sample once, in a fresh order when
/// shuffling; its last partial batch follows the [`LastBatch`] policy. At the end of a pass
/// `fill_next` returns `None` once, and the call after that starts the next pass, so each
/// `while let` loop below is one epoch. With [`Batches::repeat`] it never returns `None` and
/// passes follow one another, reshuffled each time, like tf.data's `.repeat()`.
///
/// ```
/// use nn_core::data::{Batch, Batches, Dataset, LastBatch};
/// use nn_core::layers::Features;
/// // 10 samples of 3 features: sample i is [i, i, i] with label i % 2.
/// let inputs = (0..10).flat_map(|i| [i as f32; 3]).collect();
/// let data = Dataset::<Features<3>>::new(inputs, (0..10).map(|i| i % 2).collect(), 2)?;
///
/// let mut batches = Batches::<4, _>::shuffled(&data, LastBatch::Drop, 42)?;
/// assert_eq!(batches.steps_per_epoch(), 2); // floor(10 / 4)
/// let mut batch = Batch::new();
/// for _epoch in 0..3 {
///     let mut steps = 0;
///     while let Some(valid) = batches.fill_next(&mut batch) {
///         assert_eq!(valid, 4);
///         let first = batch.inputs().row(0)[0] as usize;
///         assert_eq!(batch.labels()[0], first % 2);
///         steps += 1;
///     }
///     assert_eq!(steps, 2);
/// }
/// # Ok::<(), nn_core::data::DataError>(())
/// ```
pub struct Batches<'a, const B: usize, S: Shape, T: Targets = Labels> {
    data: &'a Dataset<S, T>,
    policy: LastBatch,
    /// `None` for sequential order.
    rng: Option<Rng>,
    repeat: bool,
    /// A permutation of `0..data.len()`: the current pass's order.
    order: Vec<usize>,
    /// The position in `order` of the next sample.
    cursor: usize,
    /// Whether a pass is under way (false before the first batch and after a pass ended).
    in_pass: bool,
    /// The number of passes started.
    passes: usize,
}

// By hand rather than derived: a derive would ask the shape marker `S` for the same traits.
impl<const B: usize, S: Shape, T: Targets> Clone for Batches<'_, B, S, T> {
    fn clone(&self) -> Self {
        Self {
            data: self.data,
            policy: self.policy,
            rng: self.rng.clone(),
            repeat: self.repeat,
            order: self.order.clone(),
            cursor: self.cursor,
            in_pass: self.in_pass,
            passes: self.passes,
        }
    }
}

impl<const B: usize, S: Shape, T: Targets> fmt::Debug for Batches<'_, B, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("data", self.data)
            .field("policy", &self.policy)
            .field("shuffled", &self.rng.is_some())
            .field("repeat", &self.repeat)
            .field("cursor", &self.cursor)
            .field("in_pass", &self.in_pass)
            .field("passes", &self.passes)
            .finish_non_exhaustive()
    }
}

impl<'a, const B: usize, S: Shape, T: Targets> Batches<'a, B, S, T> {
    /// Batches in a fresh random order each pass, from a ChaCha8 generator seeded with `seed`:
    /// the same seed gives the same sequence of batches.
    ///
    /// # Errors
    /// [`DataError::TooFewSamples`] when not one batch can be made (fewer than `B` samples
    /// under [`LastBatch::Drop`], none under [`LastBatch::Pad`]). The sample shape cannot
    /// mismatch: it is the dataset's type.
    pub fn shuffled(
        data: &'a Dataset<S, T>,
        policy: LastBatch,
        seed: u64,
    ) -> Result<Self, DataError> {
        Self::with_order(data, policy, Some(seeded(seed)))
    }

    /// Batches in the dataset's own order, the same each pass (for evaluation).
    ///
    /// # Errors
    /// As [`Batches::shuffled`].
    pub fn sequential(data: &'a Dataset<S, T>, policy: LastBatch) -> Result<Self, DataError> {
        Self::with_order(data, policy, None)
    }

    /// Batches shuffled by `rng` each pass, or in the dataset's order for `None`.
    ///
    /// # Errors
    /// As [`Batches::shuffled`].
    pub fn with_order(
        data: &'a Dataset<S, T>,
        policy: LastBatch,
        rng: Option<Rng>,
    ) -> Result<Self, DataError> {
        const { assert!(B > 0, "the batch size must be at least 1") };
        // What `fill_next_into` relies on to cut the batch into samples; true of every `Shape`
        // here, and this catches a hand-written one that breaks it.
        const {
            assert!(
                <S::Batch<B> as Tensor>::LEN == B * S::SIZE,
                "a batch of the shape must hold B samples of S::SIZE values"
            )
        };
        if policy.steps(data.len(), B) == 0 {
            return Err(DataError::TooFewSamples {
                samples: data.len(),
                batch: B,
                policy,
            });
        }
        Ok(Self {
            data,
            policy,
            rng,
            repeat: false,
            order: (0..data.len()).collect(),
            cursor: 0,
            in_pass: false,
            passes: 0,
        })
    }

    /// Makes the batches endless: at the end of a pass the next one starts (reshuffled) in the
    /// same call, so [`Batches::fill_next`] never returns `None`. The policy still applies to
    /// each pass, so [`Batches::steps_per_epoch`] batches make one pass.
    ///
    /// ```
    /// use nn_core::data::{Batches, Dataset, LastBatch};
    /// use nn_core::layers::Features;
    /// let data = Dataset::<Features<1>>::new(vec![0.0; 5], vec![0; 5], 1)?;
    /// let batches = Batches::<2, _>::shuffled(&data, LastBatch::Drop, 0)?.repeat();
    /// assert_eq!(batches.take(1000).count(), 1000);
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    #[must_use]
    pub fn repeat(mut self) -> Self {
        self.repeat = true;
        self
    }

    /// The number of batches in one pass: `floor(len / B)` under [`LastBatch::Drop`],
    /// `ceil(len / B)` under [`LastBatch::Pad`]. Always at least 1.
    pub fn steps_per_epoch(&self) -> usize {
        self.policy.steps(self.data.len(), B)
    }

    /// The number of passes started so far: 0 before the first batch, then 1, 2, ...
    pub fn epoch(&self) -> usize {
        self.passes
    }

    /// The batches left in the current pass (all of a pass when none is under way).
    pub fn remaining_in_epoch(&self) -> usize {
        if self.in_pass {
            self.policy.steps(self.data.len() - self.cursor, B)
        } else {
            self.steps_per_epoch()
        }
    }

    /// The dataset the batches come from.
    pub fn data(&self) -> &'a Dataset<S, T> {
        self.data
    }

    /// The last-batch policy.
    pub fn policy(&self) -> LastBatch {
        self.policy
    }

    /// Draws the shuffles of the next `passes` passes without making their batches, so that
    /// the batches continue as if those passes had run: a run resumed after `passes` epochs
    /// sees the same batches as one that never stopped.
    ///
    /// ```
    /// use nn_core::data::{Batch, Batches, Dataset, LastBatch};
    /// use nn_core::layers::Features;
    /// let data = Dataset::<Features<1>>::new((0..8).map(|i| i as f32).collect(), vec![0; 8], 1)?;
    /// let mut straight = Batches::<4, _>::shuffled(&data, LastBatch::Drop, 3)?;
    /// let mut resumed = Batches::<4, _>::shuffled(&data, LastBatch::Drop, 3)?;
    /// let (mut a, mut b) = (Batch::new(), Batch::new());
    /// while straight.fill_next(&mut a).is_some() {} // pass 1
    /// resumed.skip_passes(1);
    /// straight.fill_next(&mut a);
    /// resumed.fill_next(&mut b);
    /// assert_eq!(a, b); // pass 2's first batch
    /// # Ok::<(), nn_core::data::DataError>(())
    /// ```
    pub fn skip_passes(&mut self, passes: usize) {
        for _ in 0..passes {
            self.start_pass();
        }
        self.in_pass = false;
    }

    /// Abandons the current pass: the next batch starts a new one (reshuffled).
    pub fn reset(&mut self) {
        self.in_pass = false;
    }

    /// Copies the next batch into `batch` and returns its number of valid samples, or `None` at
    /// the end of a pass (never with [`Batches::repeat`]); the call after a `None` starts the
    /// next pass. Allocates nothing.
    pub fn fill_next(&mut self, batch: &mut Batch<B, S, T>) -> Option<usize> {
        let data = self.data;
        let (inputs, targets) = (&mut batch.inputs, &mut batch.targets);
        let valid = self.next_rows(inputs.as_mut_slice(), |row, index| {
            data.targets().write_row(index, targets, row);
        });
        batch.valid = valid.unwrap_or(0);
        valid
    }

    /// Like [`Batches::fill_next`], into `inputs` (`B * S::SIZE` values: `fit` passes the
    /// network's own input tensor, whose sample shape it checked to be `S` at compile time)
    /// and a batch of targets.
    pub(crate) fn fill_next_parts(
        &mut self,
        inputs: &mut [f32],
        targets: &mut T::Batch<B>,
    ) -> Option<usize> {
        let data = self.data;
        self.next_rows(inputs, |row, index| {
            data.targets().write_row(index, targets, row);
        })
    }

    /// Copies the inputs of the next batch into `inputs` and calls `target(row, index)` for
    /// each of its `B` rows with the sample index that row holds; returns the valid count as
    /// [`Batches::fill_next`] does.
    fn next_rows(
        &mut self,
        inputs: &mut [f32],
        mut target: impl FnMut(usize, usize),
    ) -> Option<usize> {
        let mut valid = self.rows_left();
        if valid == 0 {
            if self.in_pass && !self.repeat {
                self.in_pass = false;
                return None;
            }
            self.start_pass();
            valid = self.rows_left();
            // The constructor made sure a pass has at least one batch.
            if valid == 0 {
                return None;
            }
        }
        let n = self.order.len();
        // `S::SIZE` is at least 1: a dataset of empty samples cannot be made.
        for (row, dst) in inputs.chunks_exact_mut(S::SIZE).enumerate() {
            // Rows past `valid` (only under `Pad`) wrap around to the start of this pass.
            let index = self.order[(self.cursor + row) % n];
            dst.copy_from_slice(self.data.row(index));
            target(row, index);
        }
        self.cursor += valid;
        Some(valid)
    }

    /// The valid rows of the next batch of the current pass, 0 at its end or outside a pass.
    fn rows_left(&self) -> usize {
        if !self.in_pass {
            return 0;
        }
        let left = self.order.len() - self.cursor;
        match self.policy {
            LastBatch::Drop if left < B => 0,
            _ => left.min(B),
        }
    }

    fn start_pass(&mut self) {
        if let Some(rng) = &mut self.rng {
            self.order.shuffle(rng);
        }
        self.cursor = 0;
        self.in_pass = true;
        self.passes += 1;
    }
}

impl<S: Shape, T: Targets> Dataset<S, T> {
    /// [`Batches::shuffled`] of this dataset, with the batch size as the only type argument
    /// (`data.shuffled_batches::<64>(..)`), whatever the targets are.
    ///
    /// # Errors
    /// As [`Batches::shuffled`].
    pub fn shuffled_batches<const B: usize>(
        &self,
        policy: LastBatch,
        seed: u64,
    ) -> Result<Batches<'_, B, S, T>, DataError> {
        Batches::shuffled(self, policy, seed)
    }

    /// [`Batches::sequential`] of this dataset, with the batch size as the only type argument
    /// (`data.sequential_batches::<1000>(LastBatch::Pad)`).
    ///
    /// # Errors
    /// As [`Batches::sequential`].
    pub fn sequential_batches<const B: usize>(
        &self,
        policy: LastBatch,
    ) -> Result<Batches<'_, B, S, T>, DataError> {
        Batches::sequential(self, policy)
    }
}

impl<const B: usize, S: Shape> Batches<'_, B, S> {
    /// Like [`Batches::fill_next`], into separate caller-owned buffers.
    pub fn fill_next_into(
        &mut self,
        inputs: &mut S::Batch<B>,
        labels: &mut [usize; B],
    ) -> Option<usize> {
        let data = self.data;
        self.next_rows(inputs.as_mut_slice(), |row, index| {
            labels[row] = data.labels()[index];
        })
    }
}

/// Batches as owned values, for convenience; each allocates a new [`Batch`]. In a training loop
/// prefer [`Batches::fill_next`] with one reused batch.
///
/// Follows `fill_next`: `None` at the end of each pass, after which iteration resumes with the
/// next pass (so the iterator is not fused, and `for batch in &mut batches` is one epoch).
impl<const B: usize, S: Shape, T: Targets> Iterator for Batches<'_, B, S, T> {
    type Item = Batch<B, S, T>;

    fn next(&mut self) -> Option<Batch<B, S, T>> {
        let mut batch = Batch::new();
        self.fill_next(&mut batch)?;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.repeat {
            (usize::MAX, None)
        } else {
            let left = self.remaining_in_epoch();
            (left, Some(left))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{IdxArray, parse_idx};
    use crate::layers::{Features, Shape2, Shape3};
    use crate::tensor::{Tensor3, Tensor4};
    use std::vec;

    type F = Features<2>;

    /// `n` samples; sample i has inputs [i, -i] and label i % 3.
    fn numbered(n: usize) -> Dataset<F> {
        let inputs = (0..n).flat_map(|i| [i as f32, -(i as f32)]).collect();
        Dataset::new(inputs, (0..n).map(|i| i % 3).collect(), 3).unwrap()
    }

    /// The sample indices of the valid rows and of the padding rows of `batch`, checking that
    /// every row's inputs and label belong together.
    fn rows<const B: usize>(batch: &Batch<B, F>) -> (Vec<usize>, Vec<usize>) {
        let indices: Vec<usize> = batch
            .inputs()
            .rows()
            .zip(batch.labels())
            .map(|(row, &label)| {
                let i = row[0] as usize;
                assert_eq!(row[1], -row[0]);
                assert_eq!(label, i % 3);
                i
            })
            .collect();
        (
            indices[..batch.valid()].to_vec(),
            indices[batch.valid()..].to_vec(),
        )
    }

    /// Runs one pass and returns every batch's valid and padding sample indices.
    fn one_pass<const B: usize>(batches: &mut Batches<'_, B, F>) -> Vec<(Vec<usize>, Vec<usize>)> {
        let mut batch = Batch::new();
        let mut out = vec![];
        while batches.fill_next(&mut batch).is_some() {
            out.push(rows(&batch));
        }
        assert_eq!(batch.valid(), 0);
        out
    }

    #[test]
    fn drop_covers_every_sample_at_most_once_and_drops_the_remainder() {
        let data = numbered(10);
        let mut batches = Batches::<3, F>::shuffled(&data, LastBatch::Drop, 7).unwrap();
        assert_eq!(batches.steps_per_epoch(), 3);
        let mut dropped_over_epochs = vec![];
        for epoch in 1..=5 {
            let pass = one_pass(&mut batches);
            assert_eq!(batches.epoch(), epoch);
            assert_eq!(pass.len(), 3);
            let mut seen: Vec<usize> = pass
                .iter()
                .flat_map(|(valid, pad)| {
                    assert_eq!(valid.len(), 3);
                    assert!(pad.is_empty());
                    valid.clone()
                })
                .collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 9, "no sample twice in a pass");
            dropped_over_epochs.extend((0..10).filter(|i| !seen.contains(i)));
        }
        dropped_over_epochs.sort_unstable();
        dropped_over_epochs.dedup();
        assert!(
            dropped_over_epochs.len() > 1,
            "shuffling drops different samples each epoch"
        );
    }

    #[test]
    fn pad_covers_every_sample_exactly_once_and_wraps_around() {
        let data = numbered(10);
        for (shuffle, seed) in [(false, 0), (true, 1), (true, 2)] {
            let mut batches = if shuffle {
                Batches::<4, F>::shuffled(&data, LastBatch::Pad, seed).unwrap()
            } else {
                Batches::<4, F>::sequential(&data, LastBatch::Pad).unwrap()
            };
            assert_eq!(batches.steps_per_epoch(), 3);
            for _ in 0..3 {
                let pass = one_pass(&mut batches);
                let valid_counts: Vec<usize> = pass.iter().map(|(v, _)| v.len()).collect();
                assert_eq!(valid_counts, [4, 4, 2]);
                let mut seen: Vec<usize> = pass.iter().flat_map(|(v, _)| v.clone()).collect();
                let first_batch = pass[0].0.clone();
                // The padding repeats the pass's first samples.
                assert_eq!(pass[2].1, first_batch[..2]);
                if !shuffle {
                    assert_eq!(seen, (0..10).collect::<Vec<_>>());
                }
                seen.sort_unstable();
                assert_eq!(seen, (0..10).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn pad_wraps_more_than_once_when_the_batch_exceeds_the_dataset() {
        let data = numbered(3);
        let mut batches = Batches::<8, F>::sequential(&data, LastBatch::Pad).unwrap();
        let pass = one_pass(&mut batches);
        assert_eq!(pass, [(vec![0, 1, 2], vec![0, 1, 2, 0, 1])]);
    }

    #[test]
    fn exact_multiple_gives_the_same_batches_under_both_policies() {
        let data = numbered(12);
        let mut drop = Batches::<4, F>::shuffled(&data, LastBatch::Drop, 3).unwrap();
        let mut pad = Batches::<4, F>::shuffled(&data, LastBatch::Pad, 3).unwrap();
        assert_eq!(drop.steps_per_epoch(), pad.steps_per_epoch());
        assert_eq!(one_pass(&mut drop), one_pass(&mut pad));
    }

    #[test]
    fn same_seed_same_order_and_another_seed_another() {
        let data = numbered(50);
        let run = |seed| {
            let mut batches = Batches::<5, F>::shuffled(&data, LastBatch::Drop, seed).unwrap();
            (0..3).map(|_| one_pass(&mut batches)).collect::<Vec<_>>()
        };
        assert_eq!(run(11), run(11));
        assert_ne!(run(11), run(12));
        let epochs = run(11);
        assert_ne!(epochs[0], epochs[1], "each pass is reshuffled");
    }

    #[test]
    fn repeat_never_ends_and_each_pass_covers_every_sample() {
        let data = numbered(10);
        for policy in [LastBatch::Drop, LastBatch::Pad] {
            let mut batches = Batches::<3, F>::shuffled(&data, policy, 5)
                .unwrap()
                .repeat();
            let steps = batches.steps_per_epoch();
            let mut batch = Batch::new();
            for pass in 1..=4 {
                let mut seen = vec![];
                for _ in 0..steps {
                    let valid = batches.fill_next(&mut batch).unwrap();
                    assert_eq!(batches.epoch(), pass);
                    assert_eq!(valid, batch.valid());
                    seen.extend(rows(&batch).0);
                }
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(seen.len(), if policy == LastBatch::Drop { 9 } else { 10 });
            }
            assert_eq!(batches.size_hint(), (usize::MAX, None));
        }
    }

    #[test]
    fn iterator_yields_one_epoch_per_loop() {
        let data = numbered(10);
        let mut batches = Batches::<4, F>::sequential(&data, LastBatch::Pad).unwrap();
        assert_eq!(batches.size_hint(), (3, Some(3)));
        assert_eq!(batches.by_ref().count(), 3);
        let second: Vec<usize> = batches.by_ref().map(|b| b.valid()).collect();
        assert_eq!(second, [4, 4, 2]);
        assert_eq!(batches.epoch(), 2);
    }

    #[test]
    fn reset_restarts_the_pass() {
        let data = numbered(10);
        let mut batches = Batches::<4, F>::sequential(&data, LastBatch::Drop).unwrap();
        let mut batch = Batch::new();
        batches.fill_next(&mut batch).unwrap();
        assert_eq!(batches.remaining_in_epoch(), 1);
        batches.reset();
        assert_eq!(batches.remaining_in_epoch(), 2);
        batches.fill_next(&mut batch).unwrap();
        assert_eq!(rows(&batch).0, [0, 1, 2, 3]);
        assert_eq!(batches.epoch(), 2);
    }

    #[test]
    fn constructor_errors() {
        let data = numbered(3);
        assert!(matches!(
            Batches::<4, F>::shuffled(&data, LastBatch::Drop, 0),
            Err(DataError::TooFewSamples {
                samples: 3,
                batch: 4,
                policy: LastBatch::Drop
            })
        ));
        assert!(Batches::<4, F>::shuffled(&data, LastBatch::Pad, 0).is_ok());
        let empty = Dataset::<F>::new(vec![], vec![], 3).unwrap();
        assert!(matches!(
            Batches::<1, F>::sequential(&empty, LastBatch::Pad),
            Err(DataError::TooFewSamples { samples: 0, .. })
        ));
    }

    /// Pixel `(h, w)` of 4 × 4 image `i`, as a byte: distinct for every image and position.
    fn pixel(i: usize, h: usize, w: usize) -> u8 {
        (i * 16 + h * 4 + w) as u8
    }

    #[test]
    fn image_batches_are_tensor4_with_each_images_pixels_and_label() {
        // Five 4 × 4 images written as an IDX file in memory and read back, as MNIST's are.
        let n = 5;
        let pixels = (0..n)
            .flat_map(|i| (0..16).map(move |p| pixel(i, p / 4, p % 4)))
            .collect();
        let images = IdxArray::new(vec![n, 4, 4], pixels).unwrap().to_bytes();
        let labels = IdxArray::new(vec![n], vec![7, 2, 9, 0, 4])
            .unwrap()
            .to_bytes();
        let images = parse_idx(&images, &[None, Some(4), Some(4)]).unwrap();
        let labels = parse_idx(&labels, &[None]).unwrap();
        let data = Dataset::<Shape3<1, 4, 4>>::from_idx(&images, &labels, 10).unwrap();

        let mut batches = Batches::<2, _>::sequential(&data, LastBatch::Pad).unwrap();
        let mut batch = Batch::new();
        let mut seen = vec![];
        while let Some(valid) = batches.fill_next(&mut batch) {
            let inputs: &Tensor4<2, 1, 4, 4> = batch.inputs();
            for b in 0..2 {
                // Sample b of the batch is image i; the last batch's padding wraps to image 0.
                let i = (seen.len() + b) % n;
                for (h, w) in (0..4).flat_map(|h| (0..4).map(move |w| (h, w))) {
                    let expected = f32::from(pixel(i, h, w)) / 255.0;
                    assert_eq!(inputs[[b, 0, h, w]], expected, "image {i} at ({h}, {w})");
                }
                assert_eq!(batch.labels()[b], [7, 2, 9, 0, 4][i]);
            }
            seen.extend(batch.labels()[..valid].iter().copied());
        }
        assert_eq!(seen, [7, 2, 9, 0, 4]);

        // Shuffled, every batch still pairs each image with its own label.
        let mut batches = Batches::<2, _>::shuffled(&data, LastBatch::Drop, 3).unwrap();
        assert_eq!(batches.steps_per_epoch(), 2);
        for _ in 0..2 * batches.steps_per_epoch() {
            if batches.fill_next(&mut batch).is_none() {
                batches.fill_next(&mut batch).unwrap();
            }
            for b in 0..2 {
                let i = (batch.inputs()[[b, 0, 0, 0]] * 255.0).round() as usize / 16;
                assert_eq!(batch.labels()[b], [7, 2, 9, 0, 4][i]);
                assert_eq!(
                    batch.inputs()[[b, 0, 3, 2]],
                    f32::from(pixel(i, 3, 2)) / 255.0
                );
            }
        }
    }

    #[test]
    fn sequence_batches_are_tensor3_of_steps_and_features() {
        // Four sequences of 3 steps with 2 features: value 100 i + 10 t + f, label i % 2.
        let (n, steps, features) = (4, 3, 2);
        let inputs = (0..n * steps * features)
            .map(|k| {
                let (i, t, f) = (k / 6, k / 2 % 3, k % 2);
                (100 * i + 10 * t + f) as f32
            })
            .collect();
        let data =
            Dataset::<Shape2<3, 2>>::new(inputs, (0..n).map(|i| i % 2).collect(), 2).unwrap();
        let mut batches = Batches::<2, _>::shuffled(&data, LastBatch::Drop, 11)
            .unwrap()
            .repeat();
        let mut batch = Batch::new();
        let mut counts = [0; 4];
        for _ in 0..6 {
            assert_eq!(batches.fill_next(&mut batch), Some(2));
            let inputs: &Tensor3<2, 3, 2> = batch.inputs();
            for b in 0..2 {
                let i = inputs[[b, 0, 0]] as usize / 100;
                counts[i] += 1;
                assert_eq!(batch.labels()[b], i % 2);
                for (t, f) in (0..steps).flat_map(|t| (0..features).map(move |f| (t, f))) {
                    assert_eq!(inputs[[b, t, f]], (100 * i + 10 * t + f) as f32);
                }
            }
        }
        // Three passes of four sequences: each one seen once per pass.
        assert_eq!(counts, [3; 4]);
        assert_eq!(batches.epoch(), 3);
    }

    #[test]
    fn batch_correct_counts_only_valid_rows() {
        let data = numbered(5);
        let mut batches = Batches::<4, F>::sequential(&data, LastBatch::Pad).unwrap();
        let mut batch = Batch::new();
        // Scores that always predict the true label: every valid row is correct.
        let mut total = 0;
        while batches.fill_next(&mut batch).is_some() {
            let labels = *batch.labels();
            let scores = Tensor2::<4, 3>::from_fn(|[r, c]| if labels[r] == c { 1.0 } else { 0.0 });
            assert_eq!(crate::metrics::correct(&scores, batch.labels()).unwrap(), 4);
            total += batch.correct(&scores);
        }
        assert_eq!(total, 5);
    }
}
