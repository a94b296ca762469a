//! `rms_norm`: PyTorch's `nn.RMSNorm(D)` over the last axis (no mean, no bias), weight `(D)`;
//! `rms_norm(eps = 1e-6)` sets epsilon (default `f32::EPSILON`, PyTorch's for float32).

use proc_macro2::Ident;
use syn::Expr;

use super::layer_norm::{eps_option, last_axis_norm};
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
