//! `Last<T, H>`: the final step of a sequence; `last` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::{Tensor2, Tensor3};

/// The last of `T` steps of a batch-first sequence of `H` features: `Tensor3<B, T, H>` in,
/// `Tensor2<B, H>` out.
///
/// Put after a recurrent layer, it gives what Keras's `return_sequences=False` does (and
/// PyTorch's `output[:, -1]`): one vector per sequence, for a classifier head. The gradient
/// reaches the last step only; every earlier step gets zero. No parameters.
///
/// ```
/// use nn_core::layers::{Last, Layer};
/// use nn_core::tensor::{Tensor2, Tensor3};
///
/// let x = Tensor3::<1, 3, 2>::from_fn(|[_, t, h]| (10 * t + h) as f32);
/// let mut y = Tensor2::<1, 2>::zeros();
/// Last::<3, 2>::default().forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[20.0, 21.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Last<const T: usize, const H: usize>;

impl<const T: usize, const H: usize> Last<T, H> {
    /// Evaluated where the layer runs: a sequence needs a step to take the last of.
    const CHECK: () = assert!(
        T >= 1,
        "last: the sequence needs at least one step (T >= 1)"
    );
}

impl<const T: usize, const H: usize> HasParams for Last<T, H> {
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<const T: usize, const H: usize> Layer for Last<T, H> {
    type Input<const B: usize> = Tensor3<B, T, H>;
    type Output<const B: usize> = Tensor2<B, H>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor3<B, T, H>, y: &mut Tensor2<B, H>, _: &mut ()) {
        const { Self::CHECK };
        let steps = x.as_slice().chunks_exact((T * H).max(1));
        for (out, sample) in y.as_mut_slice().chunks_exact_mut(H.max(1)).zip(steps) {
            out.copy_from_slice(&sample[(T - 1) * H..]);
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor3<B, T, H>,
        y: &mut Tensor2<B, H>,
        _: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor3<B, T, H>,
        _y: &Tensor2<B, H>,
        _: &mut (),
        dy: &Tensor2<B, H>,
        dx: Option<&mut Tensor3<B, T, H>>,
    ) {
        const { Self::CHECK };
        let Some(dx) = dx else { return };
        let steps = dx.as_mut_slice().chunks_exact_mut((T * H).max(1));
        for (sample, d) in steps.zip(dy.as_slice().chunks_exact(H.max(1))) {
            let (earlier, last) = sample.split_at_mut((T - 1) * H);
            earlier.fill(0.0);
            last.copy_from_slice(d);
        }
    }
}

impl<const T: usize, const H: usize> Composable for Last<T, H> {
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn takes_the_final_step_of_each_sample() {
        let x = Tensor3::<2, 3, 2>::from_fn(|[b, t, h]| (100 * b + 10 * t + h) as f32);
        let mut y = Tensor2::<2, 2>::zeros();
        Last::<3, 2>.forward(&x, &mut y, &mut ());
        assert_eq!(y.as_slice(), &[20.0, 21.0, 120.0, 121.0]);
    }

    #[test]
    fn backward_fills_the_last_step_and_zeroes_the_rest() {
        let x = Tensor3::<2, 3, 2>::zeros();
        let y = Tensor2::<2, 2>::zeros();
        let dy = Tensor2::<2, 2>::from_slice(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        let mut dx = Tensor3::<2, 3, 2>::full(9.0);
        Last::<3, 2>.backward(&x, &y, &mut (), &dy, Some(&mut dx));
        let want = [0., 0., 0., 0., 1., 2., 0., 0., 0., 0., 3., 4.];
        assert_eq!(dx.as_slice(), &want);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(2);
        let x = random_tensor::<Tensor3<3, 5, 4>>(&mut rng);
        check_gradients::<_, 3>(&mut Last::<5, 4>, &x, 3).unwrap();
    }
}
