//! `softmax`: probabilities over the features of a flat sample.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::bake::{BakeCx, BakeIo, Baking, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec, no_args};
use crate::shape::Dims;

pub const KIND: Kind = Kind {
    keyword: "softmax",
    parse,
    takes: &[1],
};

struct Softmax;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Softmax))
}

impl Spec for Softmax {
    fn text(&self) -> String {
        "softmax".into()
    }

    fn quant_op(&self, cx: &BakeCx) -> Option<nn_core::quant::Op> {
        let depth = usize::try_from(cx.output.iter().product::<u64>()).ok()?;
        Some(nn_core::quant::Op::Softmax { depth })
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        let features = usize_lit(cx.output.iter().product());
        quote_spanned!(io.span=> #nn::baked::softmax(#x, #y, #features);)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let shape = cx.input()?.clone();
        let nn = cx.nn;
        let width = match &shape.dims {
            Dims::Known(dims) if dims.len() == 1 => dims[0].tokens.clone(),
            Dims::Known(_) => {
                cx.error(format!(
                    "`softmax` needs a flat input but {} gives {}; add `flatten` before it",
                    shape.source,
                    shape.text()
                ));
                return None;
            }
            Dims::Of { .. } => {
                let len = shape.len_value(nn);
                quote!({ #len })
            }
        };
        let ty = quote_spanned!(cx.span()=> #nn::layers::Softmax<#width>);
        Some(Built::new(ty, shape))
    }
}
