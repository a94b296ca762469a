//! `last`: the final step of a sequence, `(T, H)` → `(H)`, as Keras's
//! `return_sequences=False`.
//!
//! `last(key_padding = PAD_ID)` takes each sequence's last step whose token id is not `PAD_ID`
//! (`nn::layers::PaddedLast`, the `h_n` of PyTorch's packed sequences), reading the ids
//! packed after the features as a key-padding mask does. Baked, `nn::baked::last` or
//! `nn::baked::padded_last`. No int8 form: a network with either has no `Quantize`.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::bake::{BakeCx, BakeIo, Baking, Run};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::Dim;
use crate::shape::{SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "last",
    parse,
    takes: &[2],
};

const USAGE: &str =
    "`last` takes nothing, or `key_padding = PAD_ID` to take the last step that is not padding";

struct Last {
    /// `key_padding = PAD_ID`: the steps whose token id is `PAD_ID` are passed over.
    key_padding: Option<Dim>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let key_padding = super::args::key_padding_only(keyword, args, USAGE)?;
    Ok(Box::new(Last { key_padding }))
}

impl Spec for Last {
    /// A copy of the last step into a buffer of its own.
    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        match &self.key_padding {
            Some(pad) => {
                let pad = pad.as_const_arg();
                quote_spanned!(io.span=> #nn::baked::padded_last(#x, #pad, #y);)
            }
            None => quote_spanned!(io.span=> #nn::baked::last(#x, #y);),
        }
    }

    fn text(&self) -> String {
        match &self.key_padding {
            Some(pad) => format!("last(key_padding = {})", pad.text()),
            None => "last".into(),
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let nn = cx.nn;
        let (t, h) = (&sequence.steps.tokens, &sequence.features.tokens);
        let output = SampleShape::known(vec![sequence.features.clone()], cx.reference());
        if let Some(pad) = &self.key_padding {
            // Its input is the sequence with each step's token id after the features.
            let packed = Width::sum(&[sequence.features.clone(), Width::known(1)]);
            let (pad, hi) = (pad.as_const_arg(), &packed.tokens);
            let ty = quote_spanned!(cx.span()=> #nn::layers::PaddedLast<#t, #h, #pad, #hi>);
            return Some(Built {
                reads_ids: true,
                ..Built::new(ty, output)
            });
        }
        let ty = quote_spanned!(cx.span()=> #nn::layers::Last<#t, #h>);
        Some(Built::new(ty, output))
    }
}
