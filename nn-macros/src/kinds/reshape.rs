//! `reshape(D1, ...)`: every sample takes another shape with as many elements.

use proc_macro2::Ident;
use quote::{quote, quote_spanned};

use super::bake::{BakeCx, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, named};
use crate::ast::{Dim, dims_text};
use crate::ctxt::{ConstCheck, Message};
use crate::parse::dim_list;
use crate::shape::{Dims, Width};

pub const KIND: Kind = Kind {
    keyword: "reshape",
    parse,
    takes: ANY_RANK,
};

struct Reshape {
    dims: Vec<Dim>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let dims = dim_list(keyword, args)?;
    Ok(Box::new(Reshape { dims }))
}

impl Spec for Reshape {
    fn text(&self) -> String {
        format!("reshape({})", dims_text(&self.dims))
    }

    fn sizes(&self) -> Vec<&Dim> {
        self.dims.iter().collect()
    }

    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Identity)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Identity))
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let from = cx.input()?.clone();
        let to = cx.dims_shape(&self.dims)?;
        let Dims::Known(to_dims) = &to.dims else {
            return None;
        };
        let to_size = Width::product(to_dims);
        if to_size.value == Some(0) {
            // The zero size is already its own error; checking its element count, or the
            // layers after it, would only repeat it.
            return None;
        }
        let from_size = match &from.dims {
            Dims::Known(dims) => Width::product(dims).value,
            Dims::Of { .. } => None,
        };
        let layer = self.text();
        match (from_size, to_size.value) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let shape = match &from.dims {
                    Dims::Known(dims) if dims.len() > 1 => format!(" {}", from.text()),
                    _ => String::new(),
                };
                cx.error(format!(
                    "`{layer}` has {b} elements but {} gives {a}{shape}",
                    from.source
                ));
            }
            _ => {
                let (len, expected) = (from.len_value(cx.nn), &to_size.value_tokens);
                let message = Message::default()
                    .text(format!("`{layer}` has "))
                    .value(expected.clone())
                    .text(named(&to_size.text, to_size.value))
                    .text(format!(" elements but {} gives ", from.source))
                    .value(len.clone())
                    .text(format!(" ({})", from.text()));
                cx.ctxt.check(ConstCheck {
                    span: cx.span(),
                    condition: quote!(#len == #expected),
                    message,
                });
            }
        }
        let nn = cx.nn;
        let (a, b) = (from.shape_type(nn), to.shape_type(nn));
        let ty = quote_spanned!(cx.span()=> #nn::layers::Reshape<#a, #b>);
        Some(Built::new(ty, to))
    }
}
