//! Position encodings added to a sequence: `SinusoidalPositional<T, D>`, the fixed sines and
//! cosines of the Transformer, and `LearnedPositional<T, D>`, a trained table.

use crate::init::{Rng, standard_normal};
use crate::layers::decode::row;
use crate::layers::{Composable, Decode, Layer, WithoutMemory};
use crate::linalg::sequence;
use crate::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
use crate::tensor::{Tensor, Tensor2, Tensor3};

/// `y = x + PE` on `Tensor3<B, T, D>`: the sinusoidal position encoding of Vaswani et al.
/// (2017), the same `T × D` table added to every sample of the batch.
///
/// For step `t` and column pair `i` (`0 ≤ 2i < D`):
///
/// ```text
/// PE[t, 2i]     = sin(t / 10000^(2i / D))
/// PE[t, 2i + 1] = cos(t / 10000^(2i / D))
/// ```
///
/// so each pair of columns turns at its own frequency, from one radian per step (`i = 0`)
/// down to about `1 / 10000`. For an odd `D` the last column is a sine. The table is computed
/// once, in `f64`, when the layer is made ([`SinusoidalPositional::new`]), and kept on the heap
/// ([`SinusoidalPositional::table`]); it is not a parameter nor saved with the weights. The
/// gradient passes through unchanged.
///
/// ```
/// use nn_core::layers::{Layer, SinusoidalPositional};
/// use nn_core::tensor::Tensor3;
///
/// let pe = SinusoidalPositional::<2, 4>::new();
/// let x = Tensor3::<1, 2, 4>::zeros();
/// let mut y = Tensor3::<1, 2, 4>::zeros();
/// pe.forward(&x, &mut y, &mut ());
/// // Step 0 is (sin 0, cos 0, sin 0, cos 0); step 1 is (sin 1, cos 1, sin 0.01, cos 0.01).
/// let want = [0.0, 1.0, 0.0, 1.0, 1f32.sin(), 1f32.cos(), 0.01f32.sin(), 0.01f32.cos()];
/// assert!(y.iter().zip(want).all(|(y, w)| (y - w).abs() < 1e-6));
/// ```
#[derive(Clone, Debug)]
pub struct SinusoidalPositional<const T: usize, const D: usize> {
    table: Tensor2<T, D>,
}

impl<const T: usize, const D: usize> SinusoidalPositional<T, D> {
    /// The layer, with its table computed.
    pub fn new() -> Self {
        // The values a baked network's `positional(sinusoidal)` computes.
        let table = Tensor2::from_fn(|[t, j]| {
            sequence::sinusoidal(t, j, sequence::sinusoidal_divisor(j, D))
        });
        Self { table }
    }

    /// The table `PE`, `T × D`: row `t` is added to step `t`.
    pub fn table(&self) -> &Tensor2<T, D> {
        &self.table
    }
}

impl<const T: usize, const D: usize> Default for SinusoidalPositional<T, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const T: usize, const D: usize> HasParams for SinusoidalPositional<T, D> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: ParamRefVisitor>(&self, _path: &ParamPath<'_>, _visitor: &mut V) {}
}

impl<const T: usize, const D: usize> Layer for SinusoidalPositional<T, D> {
    type Input<const B: usize> = Tensor3<B, T, D>;
    type Output<const B: usize> = Tensor3<B, T, D>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, D>,
        y: &mut Tensor3<B, T, D>,
        _scratch: &mut (),
    ) {
        sequence::add_positions(self.table.as_slice(), x.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, D>,
        y: &mut Tensor3<B, T, D>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, D>,
        _y: &Tensor3<B, T, D>,
        _cache: &mut (),
        dy: &Tensor3<B, T, D>,
        dx: Option<&mut Tensor3<B, T, D>>,
    ) {
        if let Some(dx) = dx {
            dx.copy_from(dy);
        }
    }
}

impl<const T: usize, const D: usize> Composable for SinusoidalPositional<T, D> {
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self::new()
    }
}

/// `y = x + weight` on `Tensor3<B, T, D>`: a trained position embedding, one vector per step,
/// the same for every sample of the batch (BERT's and ViT's).
///
/// The parameter is `weight`, `T × D`, drawn from `N(0, 0.02²)` (ViT's initialisation).
/// `backward` adds `dy` summed over the batch to the weight's gradient and passes `dy` to `dx`.
///
/// ```
/// use nn_core::layers::{Layer, LearnedPositional};
/// use nn_core::tensor::Tensor3;
///
/// let mut pos = LearnedPositional::<2, 1>::new(&mut nn_core::init::seeded(0));
/// pos.weight_mut().as_mut_slice().copy_from_slice(&[10.0, 20.0]);
/// let x = Tensor3::<2, 2, 1>::from_slice(&[1.0, 2.0, 3.0, 4.0])?;
/// let mut y = Tensor3::<2, 2, 1>::zeros();
/// pos.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[11.0, 22.0, 13.0, 24.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LearnedPositional<const T: usize, const D: usize> {
    weight: Tensor2<T, D>,
    weight_grad: Tensor2<T, D>,
}

impl<const T: usize, const D: usize> LearnedPositional<T, D> {
    /// The number of scalar parameters: `T · D`.
    pub const PARAM_COUNT: usize = T * D;
    /// The standard deviation of the initial weights (ViT's).
    pub const INIT_STD: f32 = 0.02;

    /// A table drawn from `N(0, 0.02²)`.
    pub fn new(rng: &mut Rng) -> Self {
        let mut weight = Tensor2::zeros();
        weight
            .iter_mut()
            .for_each(|w| *w = Self::INIT_STD * standard_normal(rng));
        Self {
            weight,
            weight_grad: Tensor2::zeros(),
        }
    }

    /// The table, `T × D`: row `t` is added to step `t`.
    pub fn weight(&self) -> &Tensor2<T, D> {
        &self.weight
    }
    /// The table, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor2<T, D> {
        &mut self.weight
    }
    /// The accumulated gradient of the table.
    pub fn weight_grad(&self) -> &Tensor2<T, D> {
        &self.weight_grad
    }
}

impl<const T: usize, const D: usize> HasParams for LearnedPositional<T, D> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[T, D],
        };
        visitor.visit(&path.child("weight"), weight);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = ParamRef {
            value: self.weight.as_slice(),
            shape: &[T, D],
        };
        visitor.visit(&path.child("weight"), weight);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const T: usize, const D: usize> Layer for LearnedPositional<T, D> {
    type Input<const B: usize> = Tensor3<B, T, D>;
    type Output<const B: usize> = Tensor3<B, T, D>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, D>,
        y: &mut Tensor3<B, T, D>,
        _scratch: &mut (),
    ) {
        sequence::add_positions(self.weight.as_slice(), x.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, D>,
        y: &mut Tensor3<B, T, D>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, D>,
        _y: &Tensor3<B, T, D>,
        _cache: &mut (),
        dy: &Tensor3<B, T, D>,
        dx: Option<&mut Tensor3<B, T, D>>,
    ) {
        // Every sample reads the same table, so its gradient is the sum over the batch.
        for sample in dy.as_slice().chunks_exact((T * D).max(1)) {
            for (g, &d) in self.weight_grad.iter_mut().zip(sample) {
                *g += d;
            }
        }
        if let Some(dx) = dx {
            dx.copy_from(dy);
        }
    }
}

impl<const T: usize, const D: usize> Composable for LearnedPositional<T, D> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

/// Step `t` gets row `t` of the table added.
impl<const T: usize, const D: usize> WithoutMemory for SinusoidalPositional<T, D> {}

impl<const T: usize, const D: usize> Decode for SinusoidalPositional<T, D> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = D;
    const STEP_OUTPUTS: usize = D;
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        let table = row(self.table().as_slice(), D, position);
        sequence::add_positions(table, x, y);
    }
}

/// Step `t` gets row `t` of the learned table added.
impl<const T: usize, const D: usize> WithoutMemory for LearnedPositional<T, D> {}

impl<const T: usize, const D: usize> Decode for LearnedPositional<T, D> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = D;
    const STEP_OUTPUTS: usize = D;
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        let table = row(self.weight().as_slice(), D, position);
        sequence::add_positions(table, x, y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::seeded;
    use crate::testing::{check_gradients, random_tensor};
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    #[track_caller]
    fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol, "[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn the_table_follows_the_formula() {
        // D = 5 (odd): pairs (0, 1) and (2, 3) at exponents 0 and 2/5, column 4 a sine at 4/5.
        let pe = SinusoidalPositional::<3, 5>::new();
        let (w1, w2) = (10_000f64.powf(-0.4), 10_000f64.powf(-0.8));
        for t in 0..3 {
            let t64 = t as f64;
            let want = [
                t64.sin(),
                t64.cos(),
                (t64 * w1).sin(),
                (t64 * w1).cos(),
                (t64 * w2).sin(),
            ]
            .map(|v| v as f32);
            assert_close(pe.table().row(t), &want, 1e-7);
        }
        // Hand values: step 2 of the first pair is (sin 2, cos 2).
        assert_close(&pe.table().row(2)[..2], &[0.909_297_4, -0.416_146_84], 1e-7);
    }

    // PyTorch's tutorial table (`div_term = exp(arange(0, D, 2) · −ln(10000) / D)`), in f32, for
    // T = 50, D = 8: the same values within its f32 rounding.
    #[test]
    fn the_table_matches_the_exponential_form() {
        let pe = SinusoidalPositional::<50, 8>::new();
        for t in 0..50 {
            for j in 0..8 {
                let div = (-(10_000f32.ln()) * (j / 2 * 2) as f32 / 8.0).exp();
                let angle = t as f32 * div;
                let want = if j % 2 == 0 { angle.sin() } else { angle.cos() };
                let got = pe.table()[[t, j]];
                assert!((got - want).abs() < 2e-5, "[{t}, {j}]: {got} vs {want}");
            }
        }
    }

    #[test]
    fn sinusoidal_adds_the_table_to_every_sample() {
        let pe = SinusoidalPositional::<3, 2>::new();
        let x = Tensor3::<2, 3, 2>::from_fn(|[b, t, f]| (10 * b + 2 * t + f) as f32);
        let mut y = Tensor3::<2, 3, 2>::zeros();
        pe.forward(&x, &mut y, &mut ());
        for (b, t, f) in
            (0..2).flat_map(|b| (0..3).flat_map(move |t| (0..2).map(move |f| (b, t, f))))
        {
            assert_eq!(y[[b, t, f]], x[[b, t, f]] + pe.table()[[t, f]]);
        }
    }

    #[test]
    fn sinusoidal_gradients_match_central_differences() {
        let mut rng = seeded(61);
        let x = random_tensor::<Tensor3<2, 4, 3>>(&mut rng);
        let mut pe = SinusoidalPositional::<4, 3>::new();
        assert_eq!(check_gradients::<_, 2>(&mut pe, &x, 62).unwrap(), 24);
        assert_eq!(pe.param_count(), 0);
        assert_eq!(<SinusoidalPositional<4, 3> as Composable>::PARAM_COUNT, 0);
    }

    #[test]
    fn learned_adds_the_weight_and_sums_its_gradient_over_the_batch() {
        let mut pos = LearnedPositional::<2, 2>::new(&mut seeded(63));
        pos.weight_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0]);
        let x = Tensor3::<3, 2, 2>::from_fn(|[b, t, f]| (100 * b + 10 * t + f) as f32);
        let mut y = Tensor3::<3, 2, 2>::zeros();
        pos.forward(&x, &mut y, &mut ());
        let want = [
            1., 3., 13., 15., 101., 103., 113., 115., 201., 203., 213., 215.,
        ];
        assert_eq!(y.as_slice(), &want);

        let dy = Tensor3::<3, 2, 2>::from_fn(|[b, t, f]| (b + 1) as f32 * (2 * t + f + 1) as f32);
        let mut dx = Tensor3::<3, 2, 2>::zeros();
        pos.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        pos.backward(&x, &y, &mut (), &dy, None);
        assert_eq!(dx, dy);
        // Each element of dy is (b + 1) · k, summed over b = 0, 1, 2: 6k, twice.
        assert_eq!(pos.weight_grad().as_slice(), &[12.0, 24.0, 36.0, 48.0]);
        pos.zero_grad();
        assert_eq!(pos.weight_grad().as_slice(), &[0.0; 4]);
    }

    #[test]
    fn learned_gradients_match_central_differences() {
        let mut rng = seeded(64);
        let mut pos = LearnedPositional::<4, 3>::new(&mut rng);
        let x = random_tensor::<Tensor3<3, 4, 3>>(&mut rng);
        assert_eq!(check_gradients::<_, 3>(&mut pos, &x, 65).unwrap(), 36 + 12);
    }

    #[test]
    fn learned_starts_small_normal_and_is_visited_by_name() {
        let mut pos = <LearnedPositional<64, 64> as Composable>::build(&mut seeded(66));
        let w = pos.weight().as_slice();
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let std = (w.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / w.len() as f32).sqrt();
        assert!(mean.abs() < 0.002, "mean {mean}");
        assert!((std - 0.02).abs() < 0.001, "std {std}");

        let root = ParamPath::root();
        let path = root.child("pos");
        let mut names: Vec<(String, Vec<usize>)> = Vec::new();
        pos.visit_params(&path, &mut |p: &ParamPath<'_>, param: Param<'_>| {
            names.push((p.to_string(), param.shape.to_vec()));
        });
        let mut read: Vec<(String, Vec<usize>)> = Vec::new();
        pos.visit_params_ref(&path, &mut |p: &ParamPath<'_>, param: ParamRef<'_>| {
            read.push((p.to_string(), param.shape.to_vec()));
        });
        assert_eq!(names, [("pos.weight".to_string(), alloc::vec![64, 64])]);
        assert_eq!(read, names);
        assert_eq!(pos.param_count(), 4096);
        assert_eq!(<LearnedPositional<64, 64> as Composable>::PARAM_COUNT, 4096);
    }

    #[test]
    fn serves_threads() {
        fn send_sync<L: Layer + Send + Sync>() {}
        send_sync::<SinusoidalPositional<16, 8>>();
        send_sync::<LearnedPositional<16, 8>>();
    }
}
