//! `Dense<IN, OUT>`: a fully connected layer, `y = x · Wᵀ + b`.

use crate::init::{Init, Rng};
use crate::layers::{Composable, Layer};
use crate::linalg::{MatRef, Op, gemm};
use crate::param::{HasParams, Param, ParamPath, ParamVisitor};
use crate::tensor::{Tensor1, Tensor2};

/// A fully connected layer from `IN` to `OUT` features: `y = x · Wᵀ + b`.
///
/// The weight is stored `OUT × IN` (PyTorch's `nn.Linear` layout), so weights can be exchanged
/// with PyTorch as they are. It starts Glorot-uniform (the Keras default) with a zero bias.
///
/// ```
/// use nn_core::layers::{Dense, Layer};
/// use nn_core::tensor::Tensor2;
///
/// let mut rng = nn_core::init::seeded(0);
/// let mut fc = Dense::<3, 2>::new(&mut rng);
/// fc.weight_mut().as_mut_slice().copy_from_slice(&[1.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
/// fc.bias_mut().as_mut_slice().copy_from_slice(&[0.5, -0.5]);
///
/// let x = Tensor2::<1, 3>::from_slice(&[1.0, 2.0, 3.0])?;
/// let mut y = Tensor2::<1, 2>::zeros();
/// fc.forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[1.5, 4.5]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Dense<const IN: usize, const OUT: usize> {
    weight: Tensor2<OUT, IN>,
    bias: Tensor1<OUT>,
    weight_grad: Tensor2<OUT, IN>,
    bias_grad: Tensor1<OUT>,
}

impl<const IN: usize, const OUT: usize> Dense<IN, OUT> {
    /// The number of scalar parameters: `OUT · IN + OUT`.
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

impl<const IN: usize, const OUT: usize> HasParams for Dense<IN, OUT> {
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

impl<const IN: usize, const OUT: usize> Layer for Dense<IN, OUT> {
    type Input<const B: usize> = Tensor2<B, IN>;
    type Output<const B: usize> = Tensor2<B, OUT>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor2<B, IN>,
        y: &mut Tensor2<B, OUT>,
        _scratch: &mut (),
    ) {
        affine_forward(
            self.weight.as_slice(),
            self.bias.as_slice(),
            x.as_slice(),
            y.as_mut_slice(),
            B,
            IN,
        );
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor2<B, IN>,
        y: &mut Tensor2<B, OUT>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor2<B, IN>,
        _y: &Tensor2<B, OUT>,
        _cache: &mut (),
        dy: &Tensor2<B, OUT>,
        dx: Option<&mut Tensor2<B, IN>>,
    ) {
        affine_backward(
            self.weight.as_slice(),
            self.weight_grad.as_mut_slice(),
            self.bias_grad.as_mut_slice(),
            x.as_slice(),
            dy.as_slice(),
            dx.map(|dx| dx.as_mut_slice()),
            B,
            IN,
        );
    }
}

/// `y = x · Wᵀ + b` over `rows` rows of `inputs` features, with `W` of `out × inputs`
/// (`out = b.len()`): [`Dense`], and [`SequenceDense`](super::SequenceDense) over `B · T` rows.
pub(crate) fn affine_forward(
    weight: &[f32],
    bias: &[f32],
    x: &[f32],
    y: &mut [f32],
    rows: usize,
    inputs: usize,
) {
    crate::linalg::affine(weight, bias, x, y, rows, inputs);
}

/// The backward of [`affine_forward`]: adds `dyᵀ · x` to `weight_grad` and the column sums of
/// `dy` to `bias_grad`, and overwrites `dx` (when given) with `dy · W`.
#[allow(
    clippy::too_many_arguments,
    reason = "three gradients, two operands and the two sizes the slices cannot carry"
)]
pub(crate) fn affine_backward(
    weight: &[f32],
    weight_grad: &mut [f32],
    bias_grad: &mut [f32],
    x: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    rows: usize,
    inputs: usize,
) {
    let out = bias_grad.len();
    // dW += dyᵀ · x
    gemm(
        1.0,
        MatRef::new(dy, rows, out),
        Op::Transposed,
        MatRef::new(x, rows, inputs),
        Op::Plain,
        1.0,
        weight_grad,
        inputs,
    );
    // db += column sums of dy
    for row in dy.chunks_exact(out.max(1)) {
        for (g, &d) in bias_grad.iter_mut().zip(row) {
            *g += d;
        }
    }
    // dx = dy · W
    if let Some(dx) = dx {
        gemm(
            1.0,
            MatRef::new(dy, rows, out),
            Op::Plain,
            MatRef::new(weight, out, inputs),
            Op::Plain,
            0.0,
            dx,
            inputs,
        );
    }
}

impl<const IN: usize, const OUT: usize> Composable for Dense<IN, OUT> {
    // The inherent constant: inherent items win over this trait's in path resolution.
    const PARAM_COUNT: usize = Self::PARAM_COUNT;

    fn build(rng: &mut Rng) -> Self {
        Self::new(rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn forward_literal() {
        let mut rng = crate::init::seeded(0);
        let mut fc = Dense::<2, 3>::new(&mut rng);
        fc.weight_mut()
            .as_mut_slice()
            .copy_from_slice(&[1.0, 2.0, -1.0, 0.5, 0.0, 3.0]);
        fc.bias_mut()
            .as_mut_slice()
            .copy_from_slice(&[0.1, 0.2, 0.3]);
        let x = Tensor2::<2, 2>::from_slice(&[1.0, 1.0, 2.0, -1.0]).unwrap();
        let mut y = Tensor2::<2, 3>::zeros();
        fc.forward(&x, &mut y, &mut ());
        // row 0: [1+2, -1+0.5, 0+3] + b ; row 1: [2-2, -2-0.5, 0-3] + b
        let want = [3.1, -0.3, 3.3, 0.1, -2.3, -2.7];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(3);
        let mut fc = Dense::<5, 4>::new(&mut rng);
        fc.bias_mut()
            .iter_mut()
            .for_each(|b| *b = crate::init::uniform(&mut rng, -0.5, 0.5));
        let x = random_tensor::<Tensor2<3, 5>>(&mut rng);
        check_gradients::<_, 3>(&mut fc, &x, 11).unwrap();
    }

    /// Batches below the kernel's row tile take a different tile shape; the rows must agree.
    #[test]
    fn small_batch_matches_the_rows_of_a_large_batch() {
        let mut rng = crate::init::seeded(9);
        let mut fc = Dense::<37, 5>::new(&mut rng);
        fc.bias_mut()
            .iter_mut()
            .for_each(|b| *b = crate::init::uniform(&mut rng, -1.0, 1.0));
        let big = random_tensor::<Tensor2<8, 37>>(&mut rng);
        let mut big_y = Tensor2::<8, 5>::zeros();
        fc.forward(&big, &mut big_y, &mut ());
        let small = Tensor2::<2, 37>::from_slice(&big.as_slice()[..2 * 37]).unwrap();
        let mut small_y = Tensor2::<2, 5>::zeros();
        fc.forward(&small, &mut small_y, &mut ());
        for (a, b) in small_y.iter().zip(&big_y.as_slice()[..10]) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn backward_accumulates_until_zeroed() {
        let mut rng = crate::init::seeded(4);
        let mut fc = Dense::<2, 2>::new(&mut rng);
        let x = Tensor2::<1, 2>::full(1.0);
        let y = Tensor2::<1, 2>::zeros();
        let dy = Tensor2::<1, 2>::full(1.0);
        fc.backward(&x, &y, &mut (), &dy, None);
        fc.backward(&x, &y, &mut (), &dy, None);
        assert_eq!(fc.bias_grad().as_slice(), &[2.0, 2.0]);
        fc.zero_grad();
        assert_eq!(fc.bias_grad().as_slice(), &[0.0, 0.0]);
    }
}
