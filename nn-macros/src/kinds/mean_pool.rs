//! `mean_pool`: the mean over the steps of a `(T, F)` sequence, `(T, F)` → `(F)`
//! (`x.mean(dim=1)` in PyTorch, Keras's `GlobalAveragePooling1D`); `last` takes the final
//! step instead. Baked, it runs `nn::baked::mean_pool` (`linalg::sequence::mean_over_steps`).
//!
//! `mean_pool(key_padding = PAD_ID)` leaves out the steps whose token id is `PAD_ID`
//! (`nn::layers::PaddedMeanPool`, Keras's pooling under an embedding's mask), reading the ids
//! packed after the features as a key-padding mask does; baked, `nn::baked::padded_mean_pool`.
//! No int8 form: a network with either has no `Quantize`.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::bake::{BakeCx, BakeIo, Baking, Run};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::Dim;
use crate::shape::{SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "mean_pool",
    parse,
    takes: &[2],
};

const USAGE: &str =
    "`mean_pool` takes nothing, or `key_padding = PAD_ID` to leave out the padding steps";

struct MeanPool {
    /// `key_padding = PAD_ID`: the steps whose token id is `PAD_ID` are left out.
    key_padding: Option<Dim>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let key_padding = super::args::key_padding_only(keyword, args, USAGE)?;
    Ok(Box::new(MeanPool { key_padding }))
}

impl Spec for MeanPool {
    fn text(&self) -> String {
        match &self.key_padding {
            Some(pad) => format!("mean_pool(key_padding = {})", pad.text()),
            None => "mean_pool".into(),
        }
    }

    /// The mean over the steps into a buffer of its own (`nn::baked::mean_pool`).
    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        match &self.key_padding {
            Some(pad) => {
                let pad = pad.as_const_arg();
                quote_spanned!(io.span=> #nn::baked::padded_mean_pool(#x, #pad, #y);)
            }
            None => quote_spanned!(io.span=> #nn::baked::mean_pool(#x, #y);),
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let nn = cx.nn;
        let (t, f) = (&sequence.steps.tokens, &sequence.features.tokens);
        let output = SampleShape::known(vec![sequence.features.clone()], cx.reference());
        if let Some(pad) = &self.key_padding {
            // Its input is the sequence with each step's token id after the features.
            let packed = Width::sum(&[sequence.features.clone(), Width::known(1)]);
            let (pad, fi) = (pad.as_const_arg(), &packed.tokens);
            let ty = quote_spanned!(cx.span()=> #nn::layers::PaddedMeanPool<#t, #f, #pad, #fi>);
            return Some(Built {
                reads_ids: true,
                ..Built::new(ty, output)
            });
        }
        let ty = quote_spanned!(cx.span()=> #nn::layers::MeanPool<#t, #f>);
        Some(Built::new(ty, output))
    }
}
