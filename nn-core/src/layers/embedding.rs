//! `Embedding<T, V, D>`: a lookup table from token ids to vectors (PyTorch's
//! `nn.Embedding(V, D)`), and [`check_tokens`], which finds an id that is not one.

use core::fmt;

use crate::init::{Rng, standard_normal};
use crate::layers::{Composable, Decode, Layer, WithoutMemory};
use crate::linalg::sequence::{self, token};
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor, Tensor2, Tensor3};

/// A table of `V` vectors of `D` values, looked up by token id: `Tensor2<B, T>` of ids in,
/// `Tensor3<B, T, D>` out, row `id` of the table at each of the `T` positions.
///
/// PyTorch's `nn.Embedding(V, D)`: the parameter is `weight`, `V × D`, drawn from `N(0, 1)`.
/// Tensors hold `f32`, so the ids are `f32` values that must be exact integers in `0..V`
/// (every integer below 2²⁴ is exact in `f32`).
///
/// An id that is not one (negative, fractional, NaN, infinite, `≥ V`) never panics nor reads
/// outside the table: its output row is NaN, so it cannot go unnoticed, and it adds nothing to
/// the gradient. [`Embedding::check`] (or [`check_tokens`] on a slice) finds the first such id
/// with its sample and position, to validate data before training.
///
/// The ids are not differentiable: `backward` adds each `dy` row to the gradient of the row of
/// `weight` it came from, and fills `dx`, when asked for, with zeros.
///
/// ```
/// use nn_core::layers::{Embedding, Layer};
/// use nn_core::tensor::{Tensor2, Tensor3};
///
/// let mut embed = Embedding::<3, 4, 2>::new(&mut nn_core::init::seeded(0));
/// embed.weight_mut().as_mut_slice().copy_from_slice(&[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]);
///
/// let ids = Tensor2::<1, 3>::from_slice(&[2.0, 0.0, 2.0])?;
/// let mut y = Tensor3::<1, 3, 2>::zeros();
/// embed.forward(&ids, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[2.0, 2.5, 0.0, 0.5, 2.0, 2.5]);
///
/// // 4 is not below the vocabulary size: its row is NaN, and `check` says where it is.
/// let bad = Tensor2::<1, 3>::from_slice(&[1.0, 4.0, 0.0])?;
/// embed.forward(&bad, &mut y, &mut ());
/// assert!(y.as_slice()[2..4].iter().all(|v| v.is_nan()));
/// let error = Embedding::<3, 4, 2>::check(&bad).unwrap_err();
/// assert_eq!((error.sample, error.position), (0, 1));
/// assert_eq!(
///     error.to_string(),
///     "token 4 at sample 0, position 1 is not below the vocabulary size 4"
/// );
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Embedding<const T: usize, const V: usize, const D: usize> {
    weight: Tensor2<V, D>,
    weight_grad: Tensor2<V, D>,
}

/// A token id that is not an integer in `0..vocab`, found by [`check_tokens`] or
/// [`Embedding::check`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenError {
    /// The sample (row of the batch) it is in.
    pub sample: usize,
    /// Its position (step) in that sample.
    pub position: usize,
    /// The id as given.
    pub value: f32,
    /// The vocabulary size: ids run from 0 to `vocab − 1`.
    pub vocab: usize,
}

impl TokenError {
    /// Whether the id is an integer (then it is negative or not below the vocabulary size);
    /// `false` for a fraction, NaN or an infinity.
    pub fn is_integer(&self) -> bool {
        // From 2²³ on, an f32 has no fraction bits.
        let v = self.value;
        v.is_finite() && (v.abs() >= 8_388_608.0 || v == (v as i32) as f32)
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            sample,
            position,
            value,
            vocab,
        } = *self;
        write!(f, "token {value} at sample {sample}, position {position} ")?;
        if !self.is_integer() {
            write!(
                f,
                "is not an integer (ids are whole numbers from 0 below the vocabulary size {vocab})"
            )
        } else if value < 0.0 {
            write!(
                f,
                "is negative (ids run from 0 to {})",
                vocab.saturating_sub(1)
            )
        } else {
            write!(f, "is not below the vocabulary size {vocab}")
        }
    }
}

impl core::error::Error for TokenError {}

/// Checks that every id of `ids`, a batch of samples of `steps` ids each (row-major, as in a
/// `Tensor2<B, steps>`), is an integer in `0..vocab`.
///
/// ```
/// use nn_core::layers::check_tokens;
///
/// assert!(check_tokens(&[0.0, 3.0, 1.0, 2.0], 2, 4).is_ok());
/// let error = check_tokens(&[0.0, 3.0, 1.5, 2.0], 2, 4).unwrap_err();
/// assert_eq!((error.sample, error.position, error.value), (1, 0, 1.5));
/// ```
///
/// # Errors
/// The first id that is not, as a [`TokenError`] naming its sample and position.
pub fn check_tokens(ids: &[f32], steps: usize, vocab: usize) -> Result<(), TokenError> {
    match ids.iter().position(|&id| token(id, vocab).is_none()) {
        None => Ok(()),
        Some(i) => Err(TokenError {
            sample: i / steps.max(1),
            position: i % steps.max(1),
            value: ids[i],
            vocab,
        }),
    }
}

impl<const T: usize, const V: usize, const D: usize> Embedding<T, V, D> {
    /// The number of scalar parameters: `V · D`.
    pub const PARAM_COUNT: usize = V * D;

    /// A table drawn from `N(0, 1)`, as PyTorch's.
    pub fn new(rng: &mut Rng) -> Self {
        let mut weight = Tensor2::zeros();
        weight.iter_mut().for_each(|w| *w = standard_normal(rng));
        Self {
            weight,
            weight_grad: Tensor2::zeros(),
        }
    }

    /// Checks that every id of `ids` is an integer in `0..V` ([`check_tokens`] on a batch).
    ///
    /// # Errors
    /// The first id that is not, as a [`TokenError`] naming its sample and position.
    pub fn check<const B: usize>(ids: &Tensor2<B, T>) -> Result<(), TokenError> {
        check_tokens(ids.as_slice(), T, V)
    }

    /// The table, `V × D`: row `id` is the vector of token `id`.
    pub fn weight(&self) -> &Tensor2<V, D> {
        &self.weight
    }
    /// The table, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor2<V, D> {
        &mut self.weight
    }
    /// The accumulated gradient of the table.
    pub fn weight_grad(&self) -> &Tensor2<V, D> {
        &self.weight_grad
    }
}

impl<const T: usize, const V: usize, const D: usize> HasParams for Embedding<T, V, D> {
    fn visit_params<Vis: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut Vis) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[V, D],
        };
        visitor.visit(&path.child("weight"), weight);
    }

    fn visit_params_ref<Vis: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut Vis) {
        let weight = ParamRef {
            value: self.weight.as_slice(),
            shape: &[V, D],
        };
        visitor.visit(&path.child("weight"), weight);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const T: usize, const V: usize, const D: usize> Layer for Embedding<T, V, D> {
    const TOKEN_VOCAB: Option<usize> = Some(V);
    type Input<const B: usize> = Tensor2<B, T>;
    type Output<const B: usize> = Tensor3<B, T, D>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        ids: &Tensor2<B, T>,
        y: &mut Tensor3<B, T, D>,
        _scratch: &mut (),
    ) {
        const { assert!(D > 0, "Embedding<T, V, D>: D must not be 0") };
        // The kernel of a baked network's `embedding`.
        sequence::embedding(self.weight.as_slice(), D, ids.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        ids: &Tensor2<B, T>,
        y: &mut Tensor3<B, T, D>,
        _cache: &mut (),
    ) {
        self.forward(ids, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        ids: &Tensor2<B, T>,
        _y: &Tensor3<B, T, D>,
        _cache: &mut (),
        dy: &Tensor3<B, T, D>,
        dx: Option<&mut Tensor2<B, T>>,
    ) {
        const { assert!(D > 0, "Embedding<T, V, D>: D must not be 0") };
        // A token repeated in the batch sums the gradients of all its positions.
        for (&id, dy) in ids.iter().zip(dy.as_slice().chunks_exact(D)) {
            if let Some(row) = token(id, V) {
                for (g, &d) in self.weight_grad.row_mut(row).iter_mut().zip(dy) {
                    *g += d;
                }
            }
        }
        if let Some(dx) = dx {
            dx.fill(0.0);
        }
    }
}

impl<const T: usize, const V: usize, const D: usize> Composable for Embedding<T, V, D> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

/// One id in, its row of the table out (NaN for an id that is not one, as in `forward`).
impl<const T: usize, const V: usize, const D: usize> WithoutMemory for Embedding<T, V, D> {}

impl<const T: usize, const V: usize, const D: usize> Decode for Embedding<T, V, D> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = 1;
    const STEP_OUTPUTS: usize = D;
    const STEP_VOCAB: Option<usize> = Some(V);
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        assert!(position < T, "position {position} of {T} steps");
        sequence::embedding(self.weight.as_slice(), D, x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::seeded;
    use crate::testing::{compare_gradients, numeric_gradient, random_tensor, weighted_loss};
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    fn counting_table() -> Embedding<3, 4, 2> {
        let mut embed = Embedding::<3, 4, 2>::new(&mut seeded(0));
        let table: Vec<f32> = (0..8).map(|v| v as f32).collect();
        embed.weight_mut().as_mut_slice().copy_from_slice(&table);
        embed
    }

    #[test]
    fn forward_copies_the_row_of_each_id() {
        let embed = counting_table();
        let ids = Tensor2::<2, 3>::from_slice(&[3.0, 0.0, 1.0, 2.0, 2.0, 3.0]).unwrap();
        let mut y = Tensor3::<2, 3, 2>::zeros();
        embed.forward(&ids, &mut y, &mut ());
        let want = [6.0, 7.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 5.0, 6.0, 7.0];
        assert_eq!(y.as_slice(), &want);
        assert!(Embedding::<3, 4, 2>::check(&ids).is_ok());
    }

    #[test]
    fn bad_ids_give_nan_rows_without_panicking() {
        let mut embed = counting_table();
        let bad = [
            4.0,
            -1.0,
            0.5,
            f32::NAN,
            f32::INFINITY,
            -0.0,
            1e30,
            f32::NEG_INFINITY,
        ];
        for &id in &bad {
            let ids = Tensor2::<1, 3>::from_slice(&[1.0, id, 2.0]).unwrap();
            let mut y = Tensor3::<1, 3, 2>::zeros();
            embed.forward(&ids, &mut y, &mut ());
            assert_eq!(&y.as_slice()[..2], &[2.0, 3.0], "id {id}");
            assert_eq!(&y.as_slice()[4..], &[4.0, 5.0], "id {id}");
            // −0.0 == 0.0 is a valid id (row 0); every other one is NaN.
            if id == 0.0 {
                assert_eq!(&y.as_slice()[2..4], &[0.0, 1.0]);
                continue;
            }
            assert!(y.as_slice()[2..4].iter().all(|v| v.is_nan()), "id {id}");

            // Backward skips it, and the ids get a zero gradient.
            embed.zero_grad();
            let dy = Tensor3::<1, 3, 2>::full(1.0);
            let mut dx = Tensor2::<1, 3>::full(5.0);
            embed.backward(&ids, &y, &mut (), &dy, Some(&mut dx));
            assert_eq!(dx.as_slice(), &[0.0; 3]);
            let want = [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0];
            assert_eq!(embed.weight_grad().as_slice(), &want, "id {id}");

            let error = Embedding::<3, 4, 2>::check(&ids).unwrap_err();
            assert_eq!((error.sample, error.position, error.vocab), (0, 1, 4));
            assert!(error.value.to_bits() == id.to_bits(), "id {id}");
        }
    }

    #[test]
    fn the_error_names_sample_and_position() {
        let mut ids = alloc::vec![1.0; 4 * 13];
        ids[3 * 13 + 12] = 70.0;
        let error = check_tokens(&ids, 13, 65).unwrap_err();
        assert_eq!(
            error,
            TokenError {
                sample: 3,
                position: 12,
                value: 70.0,
                vocab: 65
            }
        );
        assert_eq!(
            error.to_string(),
            "token 70 at sample 3, position 12 is not below the vocabulary size 65"
        );
        assert!(error.is_integer());

        // The first bad id wins.
        ids[2 * 13 + 5] = 2.5;
        let error = check_tokens(&ids, 13, 65).unwrap_err();
        assert_eq!((error.sample, error.position), (2, 5));
        assert!(!error.is_integer());
        assert_eq!(
            error.to_string(),
            "token 2.5 at sample 2, position 5 is not an integer \
             (ids are whole numbers from 0 below the vocabulary size 65)"
        );

        ids[7] = -3.0;
        assert_eq!(
            check_tokens(&ids, 13, 65).unwrap_err().to_string(),
            "token -3 at sample 0, position 7 is negative (ids run from 0 to 64)"
        );
        ids[1] = f32::NAN;
        let message = check_tokens(&ids, 13, 65).unwrap_err().to_string();
        assert_eq!(
            message,
            "token NaN at sample 0, position 1 is not an integer \
             (ids are whole numbers from 0 below the vocabulary size 65)"
        );
        assert_eq!(check_tokens(&[], 13, 65), Ok(()));
    }

    #[test]
    fn backward_sums_the_rows_of_repeated_ids() {
        let mut embed = counting_table();
        let ids = Tensor2::<1, 3>::from_slice(&[2.0, 0.0, 2.0]).unwrap();
        let y = Tensor3::<1, 3, 2>::zeros();
        let dy = Tensor3::<1, 3, 2>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        embed.backward(&ids, &y, &mut (), &dy, None);
        embed.backward(&ids, &y, &mut (), &dy, None);
        let want = [6.0, 8.0, 0.0, 0.0, 12.0, 16.0, 0.0, 0.0];
        assert_eq!(embed.weight_grad().as_slice(), &want);
        embed.zero_grad();
        assert_eq!(embed.weight_grad().as_slice(), &[0.0; 8]);
    }

    // `check_gradients` also perturbs the input, and an id ± h is no id; so the table alone
    // is checked against central differences here.
    #[test]
    fn weight_gradient_matches_central_differences() {
        let mut rng = seeded(51);
        let mut embed = Embedding::<4, 5, 3>::new(&mut rng);
        // Repeats and a token that never appears, over three samples.
        let ids = Tensor2::<3, 4>::from_slice(&[
            0.0, 1.0, 1.0, 4.0, 3.0, 0.0, 4.0, 4.0, 1.0, 3.0, 0.0, 0.0,
        ])
        .unwrap();
        let r = random_tensor::<Tensor3<3, 4, 3>>(&mut rng);
        let mut y = Tensor3::<3, 4, 3>::zeros();
        embed.zero_grad();
        embed.forward_train(&ids, &mut y, &mut ());
        embed.backward(&ids, &y, &mut (), &r, None);
        let analytic = embed.weight_grad().as_slice().to_vec();
        assert!(
            analytic[2 * 3..3 * 3].iter().all(|&g| g == 0.0),
            "token 2 is unused"
        );

        let mut table = embed.weight().as_slice().to_vec();
        let numeric = numeric_gradient(&mut table, |table| {
            embed.weight_mut().as_mut_slice().copy_from_slice(table);
            embed.forward_train(&ids, &mut y, &mut ());
            weighted_loss(y.as_slice(), r.as_slice())
        });
        compare_gradients("weight", &analytic, &numeric).unwrap();
    }

    #[test]
    fn starts_standard_normal_and_builds_through_composable() {
        let mut embed = <Embedding<8, 100, 50> as Composable>::build(&mut seeded(52));
        let w = embed.weight().as_slice();
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / w.len() as f32;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");

        let root = ParamPath::root();
        let path = root.child("embed");
        let mut names: Vec<(String, Vec<usize>)> = Vec::new();
        embed.visit_params(&path, &mut |p: &ParamPath<'_>, param: Param<'_>| {
            names.push((p.to_string(), param.shape.to_vec()));
        });
        let mut read: Vec<(String, Vec<usize>)> = Vec::new();
        embed.visit_params_ref(&path, &mut |p: &ParamPath<'_>, param: ParamRef<'_>| {
            assert_eq!(param.value, embed.weight.as_slice());
            read.push((p.to_string(), param.shape.to_vec()));
        });
        assert_eq!(names, [("embed.weight".to_string(), alloc::vec![100, 50])]);
        assert_eq!(read, names);
        assert_eq!(embed.param_count(), 5000);
        assert_eq!(<Embedding<8, 100, 50> as Composable>::PARAM_COUNT, 5000);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<Embedding<16, 65, 32>>();
    }
}
