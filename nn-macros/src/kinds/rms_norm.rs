//! `rms_norm`: PyTorch's `nn.RMSNorm(D)` over the last axis (no mean, no bias), weight `(D)`;
//! `rms_norm(eps = 1e-6)` sets epsilon (default `f32::EPSILON`, PyTorch's for float32).
//! Baked, it runs `nn::baked::rms_norm` (`linalg::norm`, the heap layer's rows).

use proc_macro2::{Ident, TokenStream};
use syn::Expr;

use super::bake::{BakeCx, BakeIo, Baking};
use super::layer_norm::{eps_option, last_axis_norm, norm_baking, norm_code};
use super::{Args, Built, Kind, LayerCx, Spec};

pub const KIND: Kind = Kind {
    keyword: "rms_norm",
    parse,
    takes: &[1, 2],
};

struct RmsNorm {
    eps: Option<Expr>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    Ok(Box::new(RmsNorm {
        eps: eps_option(keyword, args)?,
    }))
}

impl Spec for RmsNorm {
    /// `weight (D)`, every row normalised by `nn::baked::rms_norm`.
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        norm_baking(cx, &self.text(), false)
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        if io.params.len() != 1 {
            return TokenStream::new();
        }
        norm_code("rms_norm", self.eps.as_ref(), "RMS_NORM_EPS", io)
    }

    fn text(&self) -> String {
        match &self.eps {
            Some(eps) => format!("rms_norm(eps = {})", super::args::text(eps)),
            None => "rms_norm".into(),
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        last_axis_norm(cx, "RmsNorm", self.eps.as_ref())
    }
}
