//! Weight initialisation and the seeded random number generator.
//!
//! [`Rng`] is ChaCha8: its output stream is fixed by the seed on every platform and version, so
//! the same seed gives bit-identical weights and runs. It is `rand`'s ChaCha8 (from the
//! `chacha20` crate, the same stream as `rand_chacha`'s, which costs a user's build more), in a
//! wrapper that can be cloned: a dropout layer or a batch iterator copies its generator.

use core::convert::Infallible;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt as _, SeedableRng, TryCryptoRng, TryRng};

/// The seeded random number generator used for init, dropout and shuffling.
#[derive(Debug, PartialEq, Eq)]
pub struct Rng(ChaCha8Rng);

impl Clone for Rng {
    /// The same seed, stream and position: the clone continues where `self` is.
    fn clone(&self) -> Self {
        Self(ChaCha8Rng::deserialize_state(&self.0.serialize_state()))
    }
}

impl SeedableRng for Rng {
    type Seed = <ChaCha8Rng as SeedableRng>::Seed;

    fn from_seed(seed: Self::Seed) -> Self {
        Self(ChaCha8Rng::from_seed(seed))
    }
}

impl TryRng for Rng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0.try_next_u32()
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0.try_next_u64()
    }

    #[inline]
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        self.0.try_fill_bytes(dest)
    }
}

impl TryCryptoRng for Rng {}

/// A generator from a 64-bit seed. The same seed always gives the same stream.
///
/// ```
/// let mut a = nn_core::init::seeded(7);
/// let mut b = nn_core::init::seeded(7);
/// assert_eq!(nn_core::init::uniform(&mut a, -1.0, 1.0), nn_core::init::uniform(&mut b, -1.0, 1.0));
/// ```
pub fn seeded(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// A sample from the uniform distribution on `[low, high)`.
pub fn uniform(rng: &mut Rng, low: f32, high: f32) -> f32 {
    low + (high - low) * rng.random::<f32>()
}

/// A sample from the standard normal distribution (Box–Muller).
pub fn standard_normal(rng: &mut Rng) -> f32 {
    // 1 - u lies in (0, 1], so the log is finite.
    let u1 = 1.0 - rng.random::<f32>();
    let u2 = rng.random::<f32>();
    crate::math::sqrt(-2.0 * crate::math::ln(u1)) * libm::cosf(core::f32::consts::TAU * u2)
}

/// How a weight matrix is initialised from its fan-in and fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Init {
    /// Glorot/Xavier uniform: `U(-l, l)` with `l = sqrt(6 / (fan_in + fan_out))`. The Keras
    /// default for `Dense`, and ours.
    #[default]
    GlorotUniform,
    /// He/Kaiming normal: `N(0, 2 / fan_in)`, suited to ReLU layers.
    HeNormal,
    /// He/Kaiming uniform: `U(-l, l)` with `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Every weight set to this value (tests and tutorials).
    Constant(f32),
}

impl Init {
    /// Fills `weights` for a layer with the given fan-in and fan-out.
    pub fn fill(self, weights: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let fan_in = fan_in.max(1) as f32;
        let fan_out = fan_out.max(1) as f32;
        match self {
            Init::GlorotUniform => {
                let limit = crate::math::sqrt(6.0 / (fan_in + fan_out));
                weights
                    .iter_mut()
                    .for_each(|w| *w = uniform(rng, -limit, limit));
            }
            Init::HeNormal => {
                let std = crate::math::sqrt(2.0 / fan_in);
                weights
                    .iter_mut()
                    .for_each(|w| *w = std * standard_normal(rng));
            }
            Init::HeUniform => {
                let limit = crate::math::sqrt(6.0 / fan_in);
                weights
                    .iter_mut()
                    .for_each(|w| *w = uniform(rng, -limit, limit));
            }
            Init::Constant(value) => weights.fill(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    /// The first words of seed 7, as `rand_chacha` 0.9's `ChaCha8Rng` gave them before the switch
    /// to `rand`'s: every seeded run of the library depends on this stream staying put.
    #[test]
    fn the_stream_of_a_seed_is_pinned() {
        let mut rng = seeded(7);
        let words: [u32; 4] = core::array::from_fn(|_| rng.next_u32());
        assert_eq!(words, [601_310_139, 677_729_076, 781_920_570, 721_508_819]);
    }

    #[test]
    fn a_clone_continues_where_the_original_is() {
        let mut rng = seeded(3);
        // Off a block boundary, so that the clone must carry the position inside the block.
        for _ in 0..37 {
            rng.next_u32();
        }
        let mut copy = rng.clone();
        let ahead: [u64; 40] = core::array::from_fn(|_| rng.next_u64());
        let copied: [u64; 40] = core::array::from_fn(|_| copy.next_u64());
        assert_eq!(ahead, copied);
        assert_ne!(ahead[0], ahead[1]);
    }

    #[test]
    fn glorot_stays_in_its_limit_and_fills_it() {
        let mut rng = seeded(1);
        let mut w = alloc::vec![0.0; 10_000];
        Init::GlorotUniform.fill(&mut w, 784, 128, &mut rng);
        let limit = (6.0f32 / 912.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        assert!(w.iter().any(|v| *v > 0.9 * limit) && w.iter().any(|v| *v < -0.9 * limit));
    }

    #[test]
    fn he_normal_has_the_right_spread() {
        let mut rng = seeded(2);
        let mut w = alloc::vec![0.0; 100_000];
        Init::HeNormal.fill(&mut w, 50, 10, &mut rng);
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let var = w.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / w.len() as f32;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 2.0 / 50.0).abs() < 0.002, "var {var}");
    }

    #[test]
    fn same_seed_same_stream() {
        let a: alloc::vec::Vec<f32> = {
            let mut r = seeded(9);
            (0..5).map(|_| uniform(&mut r, 0.0, 1.0)).collect()
        };
        let b: alloc::vec::Vec<f32> = {
            let mut r = seeded(9);
            (0..5).map(|_| uniform(&mut r, 0.0, 1.0)).collect()
        };
        assert_eq!(a, b);
    }
}
