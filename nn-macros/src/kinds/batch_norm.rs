//! `batch_norm`: normalises every feature of a flat sample (PyTorch's `BatchNorm1d`) or every
//! channel of an image (`BatchNorm2d`) over the batch, with learned scale and shift and running
//! statistics for inference.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec, no_args};
use crate::shape::Dims;

pub const KIND: Kind = Kind {
    keyword: "batch_norm",
    parse,
    takes: &[1, 3],
};

struct BatchNorm;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(BatchNorm))
}

impl Spec for BatchNorm {
    fn text(&self) -> String {
        "batch_norm".into()
    }

    /// PyTorch's four tensors, one value per channel: `weight` (γ), `bias` (β), and the
    /// buffers `running_mean` and `running_var`, with `eps` = 1e-5 (the heap layer's).
    /// Folded into a `conv2d` or `dense` right before it; otherwise the heap layer's kernel.
    fn quant_op(&self, cx: &BakeCx) -> Option<nn_core::quant::Op> {
        let channels = *cx.input.first()? as usize;
        Some(nn_core::quant::Op::BatchNorm { channels })
    }

    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let channels = cx.input.first().copied().unwrap_or(1) as usize;
        let params = ["weight", "bias", "running_mean", "running_var"]
            .map(|name| Param {
                name,
                shape: vec![channels],
            })
            .into();
        Ok(Baking {
            params,
            scratch: 0,
            run: Run::Fresh,
            fold: Fold::Folds,
            multiply_accumulates: 0,
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let [weight, bias, mean, var] = io.params.as_slice() else {
            return TokenStream::new();
        };
        let spatial = usize_lit(cx.input.iter().skip(1).product());
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        quote_spanned!(io.span=> #nn::baked::batch_norm(#weight, #bias, #mean, #var, #spatial, #x, #y);)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let shape = cx.input()?.clone();
        let channels = match &shape.dims {
            Dims::Known(dims) if dims.len() == 1 || dims.len() == 3 => dims[0].tokens.clone(),
            Dims::Known(_) => {
                cx.error(format!(
                    "`batch_norm` normalises the features of flat samples or the channels of (C, H, W) images, but {} gives sequences {}",
                    shape.source,
                    shape.text()
                ));
                return None;
            }
            Dims::Of { .. } => {
                cx.error(format!(
                    "`batch_norm` needs to know whether {} gives flat samples or images, and `network!` cannot see its shape; add `reshape(..)` with the shape before it",
                    shape.source
                ));
                return None;
            }
        };
        let nn = cx.nn;
        let marker = shape.shape_type(nn);
        let ty = quote_spanned!(cx.span()=> #nn::layers::BatchNorm<#channels, #marker>);
        Some(Built::new(ty, shape))
    }
}
