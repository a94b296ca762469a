//! Scalar float functions that work with and without `std`.
//!
//! `core` has no `exp`/`ln`/`sqrt` for `f32` on stable, so without `std` these come from `libm`.

#[cfg(feature = "std")]
mod imp {
    pub fn exp(x: f32) -> f32 {
        x.exp()
    }
    pub fn exp_m1(x: f32) -> f32 {
        x.exp_m1()
    }
    pub fn ln(x: f32) -> f32 {
        x.ln()
    }
    pub fn ln_1p(x: f32) -> f32 {
        x.ln_1p()
    }
    pub fn sqrt(x: f32) -> f32 {
        x.sqrt()
    }
    pub fn tanh(x: f32) -> f32 {
        x.tanh()
    }
    pub fn powi(x: f32, n: i32) -> f32 {
        x.powi(n)
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    pub fn exp(x: f32) -> f32 {
        libm::expf(x)
    }
    pub fn exp_m1(x: f32) -> f32 {
        libm::expm1f(x)
    }
    pub fn ln(x: f32) -> f32 {
        libm::logf(x)
    }
    pub fn ln_1p(x: f32) -> f32 {
        libm::log1pf(x)
    }
    pub fn sqrt(x: f32) -> f32 {
        libm::sqrtf(x)
    }
    pub fn tanh(x: f32) -> f32 {
        libm::tanhf(x)
    }
    pub fn powi(x: f32, n: i32) -> f32 {
        libm::powf(x, n as f32)
    }
}

pub use imp::*;

/// The logistic function, written so that neither branch overflows.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    // `exp(x) - 1` cancels to nothing near zero; `exp_m1` keeps the digits.
    #[test]
    fn exp_m1_is_accurate_near_zero() {
        let x = 1e-10_f32;
        assert_eq!(super::exp(x) - 1.0, 0.0);
        assert!((super::exp_m1(x) - x).abs() <= 1e-6 * x);
        assert!((super::exp_m1(-1.0) - (-0.632_120_56)).abs() < 1e-7);
    }
}
