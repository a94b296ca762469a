//! `layer_norm`: PyTorch's `nn.LayerNorm(D)` over the last axis of a `(D)` sample or of each
//! step of a `(T, D)` sequence, weight and bias `(D)`; `layer_norm(eps = 1e-6)` sets epsilon
//! (default 1e-5, PyTorch's).

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::Expr;

use super::args::{Arg, once, parse_args, unexpected};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::shape::Dims;

pub const KIND: Kind = Kind {
    keyword: "layer_norm",
    parse,
    takes: &[1, 2],
};

struct LayerNorm {
    eps: Option<Expr>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    Ok(Box::new(LayerNorm {
        eps: eps_option(keyword, args)?,
    }))
}

/// The one option of the normalizations: `eps = E`.
pub(super) fn eps_option(keyword: &Ident, args: Option<Args>) -> syn::Result<Option<Expr>> {
    let Some(args) = args else {
        return Ok(None);
    };
    let usage = format!("`{keyword}` takes an optional `eps = E`, e.g. `{keyword}(eps = 1e-6)`");
    let mut eps = None;
    for arg in parse_args(args.content, &usage)? {
        match &arg {
            Arg::Keyed { key, value } if key == "eps" => {
                once(&mut eps, value.clone(), &arg, "`eps`")?
            }
            _ => return Err(unexpected(&arg, &keyword.to_string(), "`eps = E`")),
        }
    }
    Ok(eps)
}

/// Rule: a normalization over the last axis needs a `(D)` sample or a `(T, D)` sequence;
/// `ty` is its nn-core type, generic over the sample shape and `D`.
pub(super) fn last_axis_norm(cx: &LayerCx, ty: &str, eps: Option<&Expr>) -> Option<Built> {
    let shape = cx.input()?.clone();
    let last = match &shape.dims {
        Dims::Known(dims) if matches!(dims.len(), 1 | 2) => dims[dims.len() - 1].clone(),
        Dims::Known(_) => {
            cx.error(format!(
                "`{}` normalizes the features of a vector or of each step of a sequence, but {} gives images {}; for images use `batch_norm`",
                cx.layer.text(),
                shape.source,
                shape.text()
            ));
            return None;
        }
        Dims::Of { .. } => {
            cx.error(format!(
                "`{}` needs a vector (D) or a sequence (T, D), and `network!` cannot see the shape {} gives; add `reshape(..)` before it",
                cx.layer.text(),
                shape.source
            ));
            return None;
        }
    };
    let nn = cx.nn;
    let marker = shape.shape_type(nn);
    let ident = Ident::new(ty, proc_macro2::Span::call_site());
    let d = &last.tokens;
    let ty = quote_spanned!(cx.span()=> #nn::layers::#ident<#marker, #d>);
    let init: Option<TokenStream> = eps.map(|eps| quote!(<#ty>::with_eps(#eps)));
    Some(Built {
        init,
        ..Built::new(ty, shape)
    })
}

impl Spec for LayerNorm {
    fn text(&self) -> String {
        match &self.eps {
            Some(eps) => format!("layer_norm(eps = {})", super::args::text(eps)),
            None => "layer_norm".into(),
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        last_axis_norm(cx, "LayerNorm", self.eps.as_ref())
    }
}
