//! `SequenceDense<T, IN, OUT>`: a dense layer applied at every step of a sequence;
//! `sequence_dense(..)` in `network!`.

use crate::init::{Init, Rng};
use crate::layers::dense::{affine_backward, affine_forward};
use crate::layers::{Composable, Decode, Layer, WithoutMemory};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Tensor1, Tensor2, Tensor3};

/// The same fully connected layer `y_t = x_t · Wᵀ + b` at each of `T` steps:
/// `Tensor3<B, T, IN>` in, `Tensor3<B, T, OUT>` out.
///
/// PyTorch's `nn.Linear` applied to the last axis of a `(B, T, IN)` tensor, Keras's
/// `TimeDistributed(Dense(OUT))`. Parameters and initialisation are those of
/// [`Dense`](super::Dense): `weight` `OUT × IN` (Glorot-uniform), then `bias` (zero). A
/// batch-first sequence is `B · T` rows of `IN` features in a row, so the whole batch is one
/// matrix product, the one `Dense` does on `B · T` rows.
///
/// ```
/// use nn_core::layers::{Layer, SequenceDense};
/// use nn_core::tensor::Tensor3;
///
/// let mut fc = SequenceDense::<2, 2, 1>::new(&mut nn_core::init::seeded(0));
/// fc.weight_mut().as_mut_slice().copy_from_slice(&[1.0, -1.0]);
/// fc.bias_mut().as_mut_slice().copy_from_slice(&[0.5]);
///
/// let x = Tensor3::<1, 2, 2>::from_slice(&[3.0, 1.0, 0.0, 2.0])?;
/// let mut y = Tensor3::<1, 2, 1>::zeros();
/// fc.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[2.5, -1.5]); // one output per step
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SequenceDense<const T: usize, const IN: usize, const OUT: usize> {
    weight: Tensor2<OUT, IN>,
    bias: Tensor1<OUT>,
    weight_grad: Tensor2<OUT, IN>,
    bias_grad: Tensor1<OUT>,
}

impl<const T: usize, const IN: usize, const OUT: usize> SequenceDense<T, IN, OUT> {
    /// The number of scalar parameters: `OUT · IN + OUT`, as for [`Dense`](super::Dense).
    pub const PARAM_COUNT: usize = OUT * IN + OUT;

    /// A layer with Glorot-uniform weights and a zero bias.
    pub fn new(rng: &mut Rng) -> Self {
        Self::with_init(Init::GlorotUniform, rng)
    }

    /// A layer whose weights come from `init`, with a zero bias.
    pub fn with_init(init: Init, rng: &mut Rng) -> Self {
        let mut weight = Tensor2::zeros();
        init.fill(weight.as_mut_slice(), IN, OUT, rng);
        Self {
            weight,
            bias: Tensor1::zeros(),
            weight_grad: Tensor2::zeros(),
            bias_grad: Tensor1::zeros(),
        }
    }

    /// The weight, `OUT × IN`.
    pub fn weight(&self) -> &Tensor2<OUT, IN> {
        &self.weight
    }
    /// The weight, mutably.
    pub fn weight_mut(&mut self) -> &mut Tensor2<OUT, IN> {
        &mut self.weight
    }
    /// The bias.
    pub fn bias(&self) -> &Tensor1<OUT> {
        &self.bias
    }
    /// The bias, mutably.
    pub fn bias_mut(&mut self) -> &mut Tensor1<OUT> {
        &mut self.bias
    }
    /// The accumulated weight gradient.
    pub fn weight_grad(&self) -> &Tensor2<OUT, IN> {
        &self.weight_grad
    }
    /// The accumulated bias gradient.
    pub fn bias_grad(&self) -> &Tensor1<OUT> {
        &self.bias_grad
    }
}

impl<const T: usize, const IN: usize, const OUT: usize> HasParams for SequenceDense<T, IN, OUT> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let weight = Param {
            value: self.weight.as_mut_slice(),
            grad: self.weight_grad.as_mut_slice(),
            shape: &[OUT, IN],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = Param {
            value: self.bias.as_mut_slice(),
            grad: self.bias_grad.as_mut_slice(),
            shape: &[OUT],
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
            shape: &[OUT, IN],
        };
        visitor.visit(&path.child("weight"), weight);
        let bias = crate::param::ParamRef {
            value: self.bias.as_slice(),
            shape: &[OUT],
        };
        visitor.visit(&path.child("bias"), bias);
    }

    fn param_count(&mut self) -> usize {
        Self::PARAM_COUNT
    }
}

impl<const T: usize, const IN: usize, const OUT: usize> Layer for SequenceDense<T, IN, OUT> {
    type Input<const B: usize> = Tensor3<B, T, IN>;
    type Output<const B: usize> = Tensor3<B, T, OUT>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor3<B, T, IN>,
        y: &mut Tensor3<B, T, OUT>,
        _scratch: &mut (),
    ) {
        affine_forward(
            self.weight.as_slice(),
            self.bias.as_slice(),
            x.as_slice(),
            y.as_mut_slice(),
            B * T,
            IN,
        );
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, IN>,
        y: &mut Tensor3<B, T, OUT>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, IN>,
        _y: &Tensor3<B, T, OUT>,
        _cache: &mut (),
        dy: &Tensor3<B, T, OUT>,
        dx: Option<&mut Tensor3<B, T, IN>>,
    ) {
        affine_backward(
            self.weight.as_slice(),
            self.weight_grad.as_mut_slice(),
            self.bias_grad.as_mut_slice(),
            x.as_slice(),
            dy.as_slice(),
            dx.map(|dx| dx.as_mut_slice()),
            B * T,
            IN,
        );
    }
}

impl<const T: usize, const IN: usize, const OUT: usize> Composable for SequenceDense<T, IN, OUT> {
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

/// Each step is one row of the product.
impl<const T: usize, const IN: usize, const OUT: usize> WithoutMemory
    for SequenceDense<T, IN, OUT>
{
}

impl<const T: usize, const IN: usize, const OUT: usize> Decode for SequenceDense<T, IN, OUT> {
    const STEPS: usize = T;
    const STEP_INPUTS: usize = IN;
    const STEP_OUTPUTS: usize = OUT;
    type DecodeState = ();

    fn decode_state(&self) {}

    fn decode_step(&self, x: &[f32], y: &mut [f32], _: &mut (), position: usize) {
        assert!(position < T, "position {position} of {T} steps");
        crate::linalg::affine(
            self.weight().as_slice(),
            self.bias().as_slice(),
            x,
            y,
            1,
            IN,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Dense;
    use crate::tensor::Tensor;
    use crate::testing::{check_gradients, random_tensor};

    fn random_layer(rng: &mut Rng) -> SequenceDense<5, 4, 3> {
        let mut fc = SequenceDense::<5, 4, 3>::new(rng);
        fc.bias_mut()
            .iter_mut()
            .for_each(|b| *b = crate::init::uniform(rng, -0.5, 0.5));
        fc
    }

    #[test]
    fn every_step_is_the_dense_layer() {
        let mut rng = crate::init::seeded(5);
        let fc = random_layer(&mut rng);
        let mut dense = Dense::<4, 3>::new(&mut rng);
        dense.weight_mut().copy_from(fc.weight());
        dense.bias_mut().copy_from(fc.bias());
        let x = random_tensor::<Tensor3<2, 5, 4>>(&mut rng);
        let mut y = Tensor3::<2, 5, 3>::zeros();
        fc.forward(&x, &mut y, &mut ());
        for (b, t) in (0..2).flat_map(|b| (0..5).map(move |t| (b, t))) {
            let row = (b * 5 + t) * 4;
            let xt = Tensor2::<1, 4>::from_slice(&x.as_slice()[row..row + 4]).unwrap();
            let mut yt = Tensor2::<1, 3>::zeros();
            dense.forward(&xt, &mut yt, &mut ());
            for j in 0..3 {
                assert!((y[[b, t, j]] - yt[[0, j]]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(6);
        let mut fc = random_layer(&mut rng);
        let x = random_tensor::<Tensor3<3, 5, 4>>(&mut rng);
        check_gradients::<_, 3>(&mut fc, &x, 7).unwrap();
    }
}
