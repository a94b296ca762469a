//! `layer_norm`: PyTorch's `nn.LayerNorm(D)` over the last axis of a `(D)` sample or of each
//! step of a `(T, D)` sequence, weight and bias `(D)`; `layer_norm(eps = 1e-6)` sets epsilon
//! (default 1e-5, PyTorch's). Baked, it runs `nn::baked::layer_norm` (`linalg::norm`, the
//! heap layer's rows), its eps a constant the compiler checks.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Expr;

use super::args::{Arg, once, parse_args, unexpected};
use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run};
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
    // Over a sequence, each step is a row of its own.
    let decodes = matches!(&shape.dims, Dims::Known(dims) if dims.len() == 2);
    Some(Built {
        init,
        decodes,
        ..Built::new(ty, shape)
    })
}

/// How a normalization over the last axis bakes: `weight (D)`, and with `bias` a `bias (D)`,
/// from its input into a buffer of its own.
pub(super) fn norm_baking(cx: &BakeCx, text: &str, bias: bool) -> Result<Baking, String> {
    let Some(&features) = cx.input.last().filter(|_| matches!(cx.input.len(), 1 | 2)) else {
        return Err(format!("`{text}` needs a `(D)` or `(T, D)` input"));
    };
    let param = |name| Param {
        name,
        shape: vec![features as usize],
    };
    let mut params = vec![param("weight")];
    if bias {
        params.push(param("bias"));
    }
    Ok(Baking {
        params,
        scratch: 0,
        run: Run::Fresh,
        fold: Fold::None,
        multiply_accumulates: 0,
    })
}

/// The call of `nn::baked::<function>`, a normalization's kernel (`function` its keyword): its
/// parameters, then its eps, the given one (a constant the compiler checks is positive and
/// finite, as the heap layer's `with_eps` asserts) or the constant `default` of `nn::baked`,
/// then `x` and `y`.
pub(super) fn norm_code(
    function: &str,
    eps: Option<&Expr>,
    default: &str,
    io: &BakeIo,
) -> TokenStream {
    let (nn, x, y, params) = (io.nn, &io.x, &io.y, &io.params);
    let function = format_ident!("{}", function);
    match eps {
        None => {
            let default = format_ident!("{}", default);
            quote_spanned!(io.span=> #nn::baked::#function(#(#params,)* #nn::baked::#default, #x, #y);)
        }
        Some(eps) => {
            let message = format!("`{function}`'s eps must be positive and finite");
            quote_spanned!(io.span=> {
                const __NN_EPS: f32 = #eps;
                const _: () = ::core::assert!(__NN_EPS > 0.0 && __NN_EPS.is_finite(), #message);
                #nn::baked::#function(#(#params,)* __NN_EPS, #x, #y);
            })
        }
    }
}

impl Spec for LayerNorm {
    /// `weight (D)` and `bias (D)`, every row normalised by `nn::baked::layer_norm`.
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        norm_baking(cx, &self.text(), true)
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        if io.params.len() != 2 {
            return TokenStream::new();
        }
        norm_code("layer_norm", self.eps.as_ref(), "LAYER_NORM_EPS", io)
    }

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
