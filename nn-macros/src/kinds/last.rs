//! `last`: the final step of a sequence, `(T, H)` → `(H)`, as Keras's
//! `return_sequences=False`.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::bake::{BakeCx, BakeIo, Baking, Run};
use super::{Args, Built, Kind, LayerCx, Spec, no_args};
use crate::shape::SampleShape;

pub const KIND: Kind = Kind {
    keyword: "last",
    parse,
    takes: &[2],
};

struct Last;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Last))
}

impl Spec for Last {
    /// A copy of the last step into a buffer of its own.
    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        quote_spanned!(io.span=> #nn::baked::last(#x, #y);)
    }

    fn text(&self) -> String {
        "last".into()
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let nn = cx.nn;
        let (t, h) = (&sequence.steps.tokens, &sequence.features.tokens);
        let ty = quote_spanned!(cx.span()=> #nn::layers::Last<#t, #h>);
        let output = SampleShape::known(vec![sequence.features.clone()], cx.reference());
        Some(Built::new(ty, output))
    }
}
