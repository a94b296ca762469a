//! `flatten`: every sample becomes one feature vector, `(C, H, W)` → `(C·H·W)`.

use proc_macro2::Ident;
use quote::quote_spanned;

use super::bake::{BakeCx, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, no_args};
use crate::shape::{Dims, SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "flatten",
    parse,
    takes: ANY_RANK,
};

struct Flatten;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Flatten))
}

impl Spec for Flatten {
    fn text(&self) -> String {
        "flatten".into()
    }

    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Identity)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Identity))
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let shape = cx.input()?.clone();
        let Dims::Known(dims) = &shape.dims else {
            cx.error(format!(
                "cannot flatten {}: its shape is not known to `network!` (a network declared in the same call would be); write `reshape(N)` with its size instead",
                shape.source
            ));
            return None;
        };
        if cx.too_large(dims) {
            return None;
        }
        let note = (dims.len() > 1).then(|| {
            let parts: Vec<&str> = dims.iter().map(|d| d.text.as_str()).collect();
            format!("({})", parts.join(" x "))
        });
        let flat = SampleShape {
            note,
            ..SampleShape::known(vec![Width::product(dims)], cx.reference())
        };
        let nn = cx.nn;
        let (from, to) = (shape.shape_type(nn), flat.shape_type(nn));
        let ty = quote_spanned!(cx.span()=> #nn::layers::Reshape<#from, #to>);
        Some(Built::new(ty, flat))
    }
}
