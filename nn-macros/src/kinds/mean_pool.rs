//! `mean_pool`: the mean over the steps of a `(T, F)` sequence, `(T, F)` → `(F)`
//! (`x.mean(dim=1)` in PyTorch, Keras's `GlobalAveragePooling1D`); `last` takes the final
//! step instead. Baked, it runs `nn::baked::mean_pool` (`linalg::sequence::mean_over_steps`).

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::bake::{BakeCx, BakeIo, Baking, Run};
use super::{Args, Built, Kind, LayerCx, Spec, no_args};
use crate::shape::SampleShape;

pub const KIND: Kind = Kind {
    keyword: "mean_pool",
    parse,
    takes: &[2],
};

struct MeanPool;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(MeanPool))
}

impl Spec for MeanPool {
    fn text(&self) -> String {
        "mean_pool".into()
    }

    /// The mean over the steps into a buffer of its own (`nn::baked::mean_pool`).
    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        quote_spanned!(io.span=> #nn::baked::mean_pool(#x, #y);)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let nn = cx.nn;
        let (t, f) = (&sequence.steps.tokens, &sequence.features.tokens);
        let ty = quote_spanned!(cx.span()=> #nn::layers::MeanPool<#t, #f>);
        let output = SampleShape::known(vec![sequence.features.clone()], cx.reference());
        Some(Built::new(ty, output))
    }
}
