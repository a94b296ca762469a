//! `Upsample<C, H, W, OH, OW, M>`: each channel enlarged by an integer factor, by nearest
//! neighbour ([`Nearest`]) or bilinear interpolation ([`Bilinear`]); `upsample(..)` in
//! `network!`.

use core::marker::PhantomData;

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::upsample::{UpsampleShape, upsample_backward, upsample_forward};
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::Tensor4;

/// How [`Upsample`] fills in values: [`Nearest`] or [`Bilinear`]. Sealed: the kernels for
/// these two are all there is.
pub trait Interpolation:
    sealed::Sealed + Copy + Default + core::fmt::Debug + Send + Sync + 'static
{
    /// Whether this is [`Bilinear`] (otherwise [`Nearest`]).
    #[doc(hidden)]
    const BILINEAR: bool;
}

mod sealed {
    pub trait Sealed {}
}

/// Nearest-neighbour interpolation: output `(oh, ow)` copies input `(oh / s, ow / s)`, as
/// PyTorch's `nn.Upsample(scale_factor=s, mode='nearest')`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nearest;

/// Bilinear interpolation with PyTorch's `align_corners=False`: output `dst` reads the input at
/// `(dst + 0.5) / s − 0.5`, clamped at 0, between the two nearest inputs (the last input
/// repeats at the far edge), as `nn.Upsample(scale_factor=s, mode='bilinear')`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bilinear;

impl sealed::Sealed for Nearest {}
impl sealed::Sealed for Bilinear {}
impl Interpolation for Nearest {
    const BILINEAR: bool = false;
}
impl Interpolation for Bilinear {
    const BILINEAR: bool = true;
}

/// Upsampling of `C` channels of `H × W` to `OH × OW` by the integer factor `s = OH / H`, with
/// interpolation `M` ([`Nearest`] by default, or [`Bilinear`]). No parameters.
///
/// `OH` and `OW` must be the same whole multiple of `H` and `W` (an inline const assert checks
/// it where forward or backward is instantiated).
///
/// ```
/// use nn_core::layers::{Bilinear, Layer, Upsample};
/// use nn_core::tensor::Tensor4;
///
/// let x = Tensor4::<1, 1, 1, 2>::from_slice(&[1.0, 3.0])?;
/// let mut y = Tensor4::<1, 1, 2, 4>::zeros();
/// Upsample::<1, 1, 2, 2, 4>::default().forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[1.0, 1.0, 3.0, 3.0, 1.0, 1.0, 3.0, 3.0]);
///
/// Upsample::<1, 1, 2, 2, 4, Bilinear>::default().forward(&x, &mut y, &mut ());
/// assert_eq!(y.as_slice(), &[1.0, 1.5, 2.5, 3.0, 1.0, 1.5, 2.5, 3.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
pub struct Upsample<
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
    M: Interpolation = Nearest,
> {
    mode: PhantomData<M>,
}

// By hand rather than derived, so that they do not ask anything more of `M`.
impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M> Clone
    for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    fn clone(&self) -> Self {
        *self
    }
}
impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M> Copy
    for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
}
impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M> Default
    for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    fn default() -> Self {
        Self { mode: PhantomData }
    }
}
impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M>
    core::fmt::Debug for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Upsample<{C}, {H}, {W}, {OH}, {OW}, {:?}>", M::default())
    }
}

impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M>
    Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    const SIZES: UpsampleShape = UpsampleShape {
        h: H,
        w: W,
        oh: OH,
        ow: OW,
        factor: match OH.checked_div(H) {
            Some(factor) => factor,
            None => 0,
        },
    };

    /// Evaluated where forward and backward are instantiated: one integer factor.
    const CHECK: () = assert!(
        H > 0
            && W > 0
            && OH >= H
            && OH.is_multiple_of(H)
            && OW.is_multiple_of(W)
            && OH / H == OW / W,
        "upsample: OH and OW must be the same whole multiple of H and W"
    );
}

impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M> HasParams
    for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M> Layer
    for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    type Input<const B: usize> = Tensor4<B, C, H, W>;
    type Output<const B: usize> = Tensor4<B, C, OH, OW>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor4<B, C, OH, OW>,
        _scratch: &mut (),
    ) {
        const { Self::CHECK };
        upsample_forward(&Self::SIZES, M::BILINEAR, x.as_slice(), y.as_mut_slice());
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor4<B, C, OH, OW>,
        _cache: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor4<B, C, H, W>,
        _y: &Tensor4<B, C, OH, OW>,
        _cache: &mut (),
        dy: &Tensor4<B, C, OH, OW>,
        dx: Option<&mut Tensor4<B, C, H, W>>,
    ) {
        const { Self::CHECK };
        if let Some(dx) = dx {
            upsample_backward(&Self::SIZES, M::BILINEAR, dy.as_slice(), dx.as_mut_slice());
        }
    }
}

impl<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize, M> Composable
    for Upsample<C, H, W, OH, OW, M>
where
    M: Interpolation,
{
    const PARAM_COUNT: usize = 0;

    fn build(_rng: &mut Rng) -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradients, random_tensor};

    #[test]
    fn nearest_repeats_each_value() {
        // C == H == W, factor 3.
        let x = Tensor4::<1, 2, 2, 2>::from_fn(|[_, c, h, w]| (c * 4 + h * 2 + w) as f32);
        let mut y = Tensor4::<1, 2, 6, 6>::zeros();
        Upsample::<2, 2, 2, 6, 6>::default().forward(&x, &mut y, &mut ());
        let want =
            Tensor4::<1, 2, 6, 6>::from_fn(|[_, c, h, w]| (c * 4 + h / 3 * 2 + w / 3) as f32);
        assert_eq!(y, want);
    }

    /// PyTorch's formula by hand, for a 2×3 plane `[[1, 2, 4], [8, 16, 32]]` and factor 2:
    /// rows read source `(dst + 0.5) / 2 − 0.5` = −0.25 → 0, 0.25, 0.75, 1.25 (→ 1 with the
    /// last input repeated), giving row weights (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1) on
    /// input rows (0, 1); columns read 0, 0.25, 0.75, 1.25, 1.75, 2.25 → 2 at the edge.
    #[test]
    fn bilinear_matches_pytorchs_formula() {
        let x = Tensor4::<1, 1, 2, 3>::from_slice(&[1.0, 2.0, 4.0, 8.0, 16.0, 32.0]).unwrap();
        let mut y = Tensor4::<1, 1, 4, 6>::zeros();
        Upsample::<1, 2, 3, 4, 6, Bilinear>::default().forward(&x, &mut y, &mut ());
        // Columns of one input row r = [a, b, c]:
        // [a, 0.75a + 0.25b, 0.25a + 0.75b, 0.75b + 0.25c, 0.25b + 0.75c, c].
        let cols = |r: [f32; 3]| {
            let [a, b, c] = r;
            [
                a,
                0.75 * a + 0.25 * b,
                0.25 * a + 0.75 * b,
                0.75 * b + 0.25 * c,
                0.25 * b + 0.75 * c,
                c,
            ]
        };
        let (top, bottom) = (cols([1.0, 2.0, 4.0]), cols([8.0, 16.0, 32.0]));
        let row_weights = [(1.0, 0.0), (0.75, 0.25), (0.25, 0.75), (0.0, 1.0)];
        for (o_h, (a, b)) in row_weights.into_iter().enumerate() {
            for o_w in 0..6 {
                let want = a * top[o_w] + b * bottom[o_w];
                let got = y[[0, 0, o_h, o_w]];
                assert!(
                    (got - want).abs() < 1e-5,
                    "y[{o_h}, {o_w}] = {got}, want {want}"
                );
            }
        }
        // Spot values, worked out in full: y[1, 1] = 0.75·(0.75·1 + 0.25·2) + 0.25·(0.75·8 +
        // 0.25·16) = 0.9375 + 2.5.
        assert!((y[[0, 0, 1, 1]] - 3.4375).abs() < 1e-6);
        assert_eq!(y[[0, 0, 3, 5]], 32.0);
    }

    #[test]
    fn bilinear_factor_three_reads_pytorchs_source_coordinates() {
        // factor 3 on 1×3: sources (dst + 0.5) / 3 − 0.5 = −1/3 → 0, 0, 1/3, 2/3, 1, 4/3,
        // 5/3, 2, 7/3 → 2 (clamped into the last input).
        let x = Tensor4::<1, 1, 1, 3>::from_slice(&[0.0, 3.0, 9.0]).unwrap();
        let mut y = Tensor4::<1, 1, 3, 9>::zeros();
        Upsample::<1, 1, 3, 3, 9, Bilinear>::default().forward(&x, &mut y, &mut ());
        let want = [0.0, 0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 9.0];
        for (o_w, &w) in want.iter().enumerate() {
            assert!(
                (y[[0, 0, 1, o_w]] - w).abs() < 1e-5,
                "{o_w}: {}",
                y[[0, 0, 1, o_w]]
            );
        }
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(4);
        let mut nearest = Upsample::<2, 2, 3, 4, 6>::default();
        let x = random_tensor::<Tensor4<2, 2, 2, 3>>(&mut rng);
        check_gradients::<_, 2>(&mut nearest, &x, 5).unwrap();
        let mut bilinear = Upsample::<2, 3, 2, 9, 6, Bilinear>::default();
        let x = random_tensor::<Tensor4<2, 2, 3, 2>>(&mut rng);
        check_gradients::<_, 2>(&mut bilinear, &x, 6).unwrap();
        let mut square = Upsample::<3, 3, 3, 6, 6, Bilinear>::default();
        let x = random_tensor::<Tensor4<1, 3, 3, 3>>(&mut rng);
        check_gradients::<_, 1>(&mut square, &x, 7).unwrap();
    }

    #[test]
    fn factor_one_is_the_identity() {
        let mut rng = crate::init::seeded(8);
        let x = random_tensor::<Tensor4<1, 2, 3, 4>>(&mut rng);
        let mut y = Tensor4::<1, 2, 3, 4>::zeros();
        Upsample::<2, 3, 4, 3, 4, Bilinear>::default().forward(&x, &mut y, &mut ());
        assert_eq!(y, x);
    }
}
