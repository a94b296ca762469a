//! `Patches<C, H, W, P, N, F>`: an image cut into square patches, each one step of a sequence;
//! `patches(P)` in `network!`.

use crate::init::Rng;
use crate::layers::{Composable, Layer};
use crate::linalg::sequence;
use crate::param::{HasParams, ParamPath, ParamVisitor};
use crate::tensor::{Tensor3, Tensor4};

/// Cuts each `(C, H, W)` image into `N = (H / P) · (W / P)` patches of `P × P` pixels, in
/// reading order, and lays each out as one step of `F = C · P · P` features, in `(c, row,
/// column)` order: `Tensor4<B, C, H, W>` in, `Tensor3<B, N, F>` out.
///
/// This is how a vision transformer reads an image. The feature order is that of a conv
/// weight `(OUT, C, P, P)`, so `patches(P)` then `dense(F -> D)` is PyTorch's
/// `nn.Conv2d(C, D, P, stride=P)` followed by `.flatten(2).transpose(1, 2)`, with the dense
/// weight the conv weight reshaped to `(D, F)`. `network!` computes `N` and `F` and rejects a
/// patch size that does not divide the image.
///
/// ```
/// use nn_core::layers::{Layer, Patches};
/// use nn_core::tensor::{Tensor3, Tensor4};
///
/// // One 1 x 4 x 4 image holding 0..16, cut into four 2 x 2 patches.
/// let x = Tensor4::<1, 1, 4, 4>::from_fn(|[_, _, r, c]| (4 * r + c) as f32);
/// let mut y = Tensor3::<1, 4, 4>::zeros();
/// Patches::<1, 4, 4, 2, 4, 4>.forward(&x, &mut y, &mut ());
/// assert_eq!(&y.as_slice()[..8], &[0.0, 1.0, 4.0, 5.0, 2.0, 3.0, 6.0, 7.0]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Patches<
    const C: usize,
    const H: usize,
    const W: usize,
    const P: usize,
    const N: usize,
    const F: usize,
>;

impl<const C: usize, const H: usize, const W: usize, const P: usize, const N: usize, const F: usize>
    Patches<C, H, W, P, N, F>
{
    const CHECK: () = assert!(
        P >= 1
            && H.is_multiple_of(P)
            && W.is_multiple_of(P)
            && N == (H / P) * (W / P)
            && F == C * P * P,
        "patches: P must divide H and W, with N = (H / P)(W / P) patches of F = C·P·P features"
    );

    /// Calls `visit(pixel, feature)` for every pixel of one image, with its index in the
    /// image and in the patch sequence ([`sequence::patch_pixels`]).
    fn each_pixel(visit: impl FnMut(usize, usize)) {
        sequence::patch_pixels([C, H, W], P, visit);
    }
}

impl<const C: usize, const H: usize, const W: usize, const P: usize, const N: usize, const F: usize>
    HasParams for Patches<C, H, W, P, N, F>
{
    fn visit_params<V: ParamVisitor>(&mut self, _path: &ParamPath<'_>, _visitor: &mut V) {}

    fn visit_params_ref<V: crate::param::ParamRefVisitor>(
        &self,
        _path: &ParamPath<'_>,
        _visitor: &mut V,
    ) {
    }
}

impl<const C: usize, const H: usize, const W: usize, const P: usize, const N: usize, const F: usize>
    Layer for Patches<C, H, W, P, N, F>
{
    type Input<const B: usize> = Tensor4<B, C, H, W>;
    type Output<const B: usize> = Tensor3<B, N, F>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(
        &self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor3<B, N, F>,
        _: &mut (),
    ) {
        const { Self::CHECK };
        let images = x.as_slice().chunks_exact((C * H * W).max(1));
        for (image, out) in images.zip(y.as_mut_slice().chunks_exact_mut((N * F).max(1))) {
            // The kernel of a baked network's `patches`.
            sequence::patches([C, H, W], P, image, out);
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor4<B, C, H, W>,
        y: &mut Tensor3<B, N, F>,
        _: &mut (),
    ) {
        self.forward(x, y, &mut ());
    }

    fn backward<const B: usize>(
        &mut self,
        _x: &Tensor4<B, C, H, W>,
        _y: &Tensor3<B, N, F>,
        _: &mut (),
        dy: &Tensor3<B, N, F>,
        dx: Option<&mut Tensor4<B, C, H, W>>,
    ) {
        const { Self::CHECK };
        let Some(dx) = dx else { return };
        let images = dx.as_mut_slice().chunks_exact_mut((C * H * W).max(1));
        for (image, d) in images.zip(dy.as_slice().chunks_exact((N * F).max(1))) {
            // A permutation: every pixel is one feature, so the gradient moves back as is.
            Self::each_pixel(|pixel, feature| image[pixel] = d[feature]);
        }
    }
}

impl<const C: usize, const H: usize, const W: usize, const P: usize, const N: usize, const F: usize>
    Composable for Patches<C, H, W, P, N, F>
{
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
    fn patches_follow_reading_order_and_conv_weight_order() {
        // 2 channels of 4 x 6, patches of 2: 2 x 3 patches of 8 features.
        let x = Tensor4::<1, 2, 4, 6>::from_fn(|[_, c, r, w]| (100 * c + 10 * r + w) as f32);
        let mut y = Tensor3::<1, 6, 8>::zeros();
        Patches::<2, 4, 6, 2, 6, 8>.forward(&x, &mut y, &mut ());
        // Patch 4 is the second row of patches, second column: rows 2..4, columns 2..4.
        let patch: [f32; 8] = core::array::from_fn(|f| y[[0, 4, f]]);
        assert_eq!(patch, [22.0, 23.0, 32.0, 33.0, 122.0, 123.0, 132.0, 133.0]);
    }

    #[test]
    fn gradients_match_central_differences() {
        let mut rng = crate::init::seeded(3);
        let x = random_tensor::<Tensor4<2, 2, 4, 4>>(&mut rng);
        check_gradients::<_, 2>(&mut Patches::<2, 4, 4, 2, 4, 8>, &x, 4).unwrap();
    }
}
