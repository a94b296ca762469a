//! Adam with bias correction, and AdamW (decoupled weight decay).

use crate::optim::{OptimError, Optimizer, SlotState, check_learning_rate};
use crate::param::{HasParams, Param, ParamPath};

/// Adam (Kingma & Ba, 2015) with bias correction, as PyTorch's `torch.optim.Adam`:
///
/// ```text
/// m = β1·m + (1 − β1)·g          v = β2·v + (1 − β2)·g²
/// θ −= lr · (m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + eps)
/// ```
///
/// Defaults: `β1 = 0.9`, `β2 = 0.999`, **`eps = 1e-8`** (PyTorch's value; Keras uses `1e-7`,
/// which differs only when `v` is tiny). Its two moment buffers per parameter are allocated on
/// the first step, which also binds the optimizer to its model (see the
/// [module docs](crate::optim#an-optimizer-belongs-to-one-model)).
///
/// ```
/// use nn_core::optim::Adam;
/// let adam = Adam::new(1e-3);
/// assert_eq!((adam.beta1, adam.beta2, adam.eps), (0.9, 0.999, 1e-8));
/// ```
#[derive(Debug, Clone)]
pub struct Adam {
    /// The learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    pub(crate) steps: u32,
    pub(crate) moments: SlotState,
}

impl Adam {
    /// The default epsilon, PyTorch's.
    pub const DEFAULT_EPS: f32 = 1e-8;

    /// Adam with learning rate `lr` and the default betas and epsilon.
    ///
    /// Any `lr` is accepted here; a rate that is not finite and above 0 is rejected by every
    /// [`step`](Optimizer::step) with [`OptimError::InvalidLearningRate`]. [`Adam::try_new`]
    /// checks it now.
    pub fn new(lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: Self::DEFAULT_EPS,
            steps: 0,
            moments: SlotState::default(),
        }
    }

    /// [`Adam::new`], or [`OptimError::InvalidLearningRate`] when `lr` is not finite and
    /// above 0.
    pub fn try_new(lr: f32) -> Result<Self, OptimError> {
        check_learning_rate(lr)?;
        Ok(Self::new(lr))
    }

    /// The number of steps taken so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }
}

impl Optimizer for Adam {
    fn step<M: HasParams>(&mut self, model: &mut M) -> Result<(), OptimError> {
        let hyper = Hyper {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: 0.0,
        };
        adam_step(hyper, &mut self.steps, &mut self.moments, model)
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, as PyTorch's
/// `torch.optim.AdamW`. Each step first shrinks every parameter, `θ −= lr·λ·θ`, then applies
/// the [`Adam`] update; the decay does not pass through the moments (unlike L2 regularisation
/// added to the gradient).
///
/// Defaults are PyTorch's: `λ = weight_decay = 0.01`, `β1 = 0.9`, `β2 = 0.999`,
/// `eps = 1e-8`. Biases and normalisation parameters are decayed too, as PyTorch does when
/// given all of a model's parameters.
///
/// ```
/// use nn_core::optim::AdamW;
/// let adamw = AdamW::new(1e-3);
/// assert_eq!(adamw.weight_decay, 0.01);
/// ```
#[derive(Debug, Clone)]
pub struct AdamW {
    /// The learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator for stability.
    pub eps: f32,
    /// The decoupled weight decay `λ`.
    pub weight_decay: f32,
    pub(crate) steps: u32,
    pub(crate) moments: SlotState,
}

impl AdamW {
    /// PyTorch's default weight decay.
    pub const DEFAULT_WEIGHT_DECAY: f32 = 0.01;

    /// AdamW with learning rate `lr` and PyTorch's defaults. As with [`Adam::new`], an
    /// invalid `lr` is rejected by [`step`](Optimizer::step); [`AdamW::try_new`] checks it now.
    pub fn new(lr: f32) -> Self {
        Self::with_weight_decay(lr, Self::DEFAULT_WEIGHT_DECAY)
    }

    /// AdamW with learning rate `lr` and weight decay `weight_decay`.
    pub fn with_weight_decay(lr: f32, weight_decay: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: Adam::DEFAULT_EPS,
            weight_decay,
            steps: 0,
            moments: SlotState::default(),
        }
    }

    /// [`AdamW::new`], or [`OptimError::InvalidLearningRate`] when `lr` is not finite and
    /// above 0.
    pub fn try_new(lr: f32) -> Result<Self, OptimError> {
        check_learning_rate(lr)?;
        Ok(Self::new(lr))
    }

    /// The number of steps taken so far.
    pub fn steps(&self) -> u32 {
        self.steps
    }
}

impl Optimizer for AdamW {
    fn step<M: HasParams>(&mut self, model: &mut M) -> Result<(), OptimError> {
        let hyper = Hyper {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
        };
        adam_step(hyper, &mut self.steps, &mut self.moments, model)
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}

/// The hyperparameters of one Adam or AdamW step.
#[derive(Clone, Copy)]
struct Hyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
}

/// One Adam (or, with a weight decay, AdamW) step over `model`, after checking the learning
/// rate and the model binding.
fn adam_step<M: HasParams>(
    hyper: Hyper,
    steps: &mut u32,
    moments: &mut SlotState,
    model: &mut M,
) -> Result<(), OptimError> {
    check_learning_rate(hyper.lr)?;
    moments.prepare(model, 2)?;
    *steps = steps.saturating_add(1);
    let t = (*steps).min(i32::MAX as u32) as i32;
    let Hyper {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
    } = hyper;
    // Fold both bias corrections into one step size and a scaled eps:
    // lr·m̂/(sqrt(v̂)+eps) = step·m/(sqrt(v) + eps·sqrt(1−β2ᵗ)).
    let correction2 = crate::math::sqrt(1.0 - crate::math::powi(beta2, t));
    let update = Update {
        beta1,
        beta2,
        step_size: lr * correction2 / (1.0 - crate::math::powi(beta1, t)),
        eps_hat: eps * correction2,
        decay: 1.0 - lr * weight_decay,
    };
    let mut index = 0;
    model.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| {
            if let [m, v] = moments.slots(index, 2) {
                update.apply(p.value, p.grad, m, v);
            }
            index += 1;
        },
    );
    Ok(())
}

/// The smallest parameter whose update is split across threads: below it (a few
/// microseconds of work) waking a worker costs more than it saves.
const SPLIT_FROM_PARAMS: usize = 16_384;

/// One Adam update's constants, applied to a parameter's values with [`Update::apply`].
#[derive(Clone, Copy)]
struct Update {
    beta1: f32,
    beta2: f32,
    step_size: f32,
    eps_hat: f32,
    /// `1 − lr·λ`, AdamW's decoupled decay factor (1 for Adam).
    decay: f32,
}

impl Update {
    /// Updates the moments `m`, `v` and the values `w` from the gradient `g`, in place.
    ///
    /// An index loop over slices cut to one length, which the compiler vectorizes (`sqrtps`,
    /// `divps`). The update reads and writes 28 bytes per parameter, so for models larger than
    /// the L2 cache it runs at memory speed either way.
    ///
    /// A large parameter is cut into bands across [`threads`](crate::linalg::threads); each
    /// value's update reads only its own slot, so the bits do not depend on the cut.
    fn apply(self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let n = w.len().min(g.len()).min(m.len()).min(v.len());
        let (w, g, m, v) = (&mut w[..n], &g[..n], &mut m[..n], &mut v[..n]);
        let threads = crate::linalg::threads::parts();
        if threads > 1 && n >= SPLIT_FROM_PARAMS {
            let band = crate::linalg::threads::band_rows(n, 4 * threads, 16, SPLIT_FROM_PARAMS / 4);
            let bands = w
                .chunks_mut(band)
                .zip(g.chunks(band))
                .zip(m.chunks_mut(band).zip(v.chunks_mut(band)));
            crate::linalg::threads::for_each(bands, |_, ((w, g), (m, v))| {
                self.apply_here(w, g, m, v);
            });
        } else {
            self.apply_here(w, g, m, v);
        }
    }

    /// [`Update::apply`] on the calling thread.
    fn apply_here(self, w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        let n = w.len().min(g.len()).min(m.len()).min(v.len());
        let (w, g, m, v) = (&mut w[..n], &g[..n], &mut m[..n], &mut v[..n]);
        if self.decay != 1.0 {
            w.iter_mut().for_each(|w| *w *= self.decay);
        }
        for i in 0..n {
            m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g[i];
            v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g[i] * g[i];
            w[i] -= self.step_size * m[i] / (crate::math::sqrt(v[i]) + self.eps_hat);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Dense, Layer};
    use crate::tensor::Tensor2;

    #[test]
    fn first_step_moves_each_weight_by_lr() {
        // With bias correction, the first Adam step is lr·g/(|g| + eps) ≈ lr·sign(g).
        let mut fc = Dense::<2, 1>::with_init(
            crate::init::Init::Constant(0.5),
            &mut crate::init::seeded(0),
        );
        let x = Tensor2::<1, 2>::from_slice(&[3.0, -2.0]).unwrap();
        let y = Tensor2::<1, 1>::zeros();
        let dy = Tensor2::<1, 1>::full(1.0);
        fc.backward(&x, &y, &mut (), &dy, None);
        let mut adam = Adam::new(0.1);
        adam.step(&mut fc).unwrap();
        let w = fc.weight().as_slice();
        assert!(
            (w[0] - 0.4).abs() < 1e-6 && (w[1] - 0.6).abs() < 1e-6,
            "{w:?}"
        );
        assert!((fc.bias().as_slice()[0] + 0.1).abs() < 1e-6);
    }

    /// Three AdamW steps on `Dense<2, 1>` (weight 0.5, 0.5; bias 0) with the input (3, −2)
    /// and an output gradient of 1, so the gradients are (3, −2) and 1 at every step.
    /// Expected values from PyTorch 2.15:
    ///
    /// ```text
    /// fc = torch.nn.Linear(2, 1); fc.weight.data[:] = 0.5; fc.bias.data[:] = 0
    /// opt = torch.optim.AdamW(fc.parameters(), lr=0.1, weight_decay=0.5)
    /// for _ in range(3):
    ///     opt.zero_grad(); fc(torch.tensor([[3., -2.]])).sum().backward(); opt.step()
    /// ```
    #[test]
    fn adamw_matches_pytorch() {
        let mut fc = Dense::<2, 1>::with_init(
            crate::init::Init::Constant(0.5),
            &mut crate::init::seeded(0),
        );
        fc.bias_mut().as_mut_slice()[0] = 0.0;
        let x = Tensor2::<1, 2>::from_slice(&[3.0, -2.0]).unwrap();
        let y = Tensor2::<1, 1>::zeros();
        let dy = Tensor2::<1, 1>::full(1.0);
        let mut adamw = AdamW::with_weight_decay(0.1, 0.5);
        for _ in 0..3 {
            fc.zero_grad();
            fc.backward(&x, &y, &mut (), &dy, None);
            adamw.step(&mut fc).unwrap();
        }
        let got = [
            fc.weight().as_slice()[0],
            fc.weight().as_slice()[1],
            fc.bias().as_slice()[0],
        ];
        let pytorch = PYTORCH_ADAMW;
        // PyTorch divides by the bias corrections where we fold them into one step size, so
        // the last bits differ (by about 1e-6 here).
        for (g, want) in got.into_iter().zip(pytorch) {
            assert!((g - want).abs() < 1e-5, "{got:?} vs {pytorch:?}");
        }
        // By hand, the first step: w = 0.5·(1 − 0.1·0.5) − 0.1·sign(g).
        let mut fc = Dense::<2, 1>::with_init(
            crate::init::Init::Constant(0.5),
            &mut crate::init::seeded(0),
        );
        fc.backward(&x, &y, &mut (), &dy, None);
        AdamW::with_weight_decay(0.1, 0.5).step(&mut fc).unwrap();
        let w = fc.weight().as_slice();
        assert!((w[0] - (0.475 - 0.1)).abs() < 1e-6, "{w:?}");
        assert!((w[1] - (0.475 + 0.1)).abs() < 1e-6, "{w:?}");
    }

    /// `fc.weight`, `fc.bias` after the three PyTorch steps above.
    const PYTORCH_ADAMW: [f32; 3] = [0.143_437_47, 0.713_937_5, -0.285_25];
}
