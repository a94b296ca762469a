//! What `rnn`, `gru` and `lstm` share: `(F -> H)` on `(T, F)` sequences, giving every step's
//! hidden state `(T, H)`.

use proc_macro2::Ident;
use quote::{format_ident, quote_spanned};
use syn::Token;
use syn::parse::ParseStream;

use super::args::{Arg, parse_args, unexpected};
use super::{Args, Built, LayerCx, Spec};
use crate::ast::Dim;
use crate::parse::parse_dim;
use crate::shape::{SampleShape, Width};

/// A recurrent layer as written.
pub struct Recurrent {
    keyword: String,
    /// The nn-core type: `Rnn`, `Gru` or `Lstm`.
    ty: &'static str,
    input: Dim,
    hidden: Dim,
    /// `rnn(F -> H, relu)`: the Elman cell with ReLU instead of tanh.
    relu: bool,
}

/// Reads `(F -> H)`; `rnn` also takes an activation, `tanh` (the default) or `relu`.
pub fn parse(
    keyword_ident: &Ident,
    ty: &'static str,
    args: Option<Args>,
) -> syn::Result<Box<dyn Spec>> {
    let keyword = keyword_ident.to_string();
    let takes_activation = keyword == "rnn";
    let usage = if takes_activation {
        "`rnn` takes `(F -> H)` and optionally an activation, `tanh` (the default) or `relu`, e.g. `rnn(1 -> 3)` or `rnn(1 -> 3, relu)`".to_string()
    } else {
        format!(
            "`{keyword}` takes `(F -> H)`, F features per step in and H out, e.g. `{keyword}(28 -> 128)`"
        )
    };
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword_ident,
            format!("`{keyword}` needs its sizes; {usage}"),
        ));
    };
    let (input, hidden) = sizes(args.content, &usage)?;
    let mut relu = None;
    for arg in parse_args(args.content, &usage)? {
        match &arg {
            Arg::Word(word) if takes_activation && (word == "tanh" || word == "relu") => {
                if relu.is_some() {
                    return Err(syn::Error::new(arg.span(), "the activation is given twice"));
                }
                relu = Some(word == "relu");
            }
            _ if takes_activation => {
                return Err(unexpected(
                    &arg,
                    &keyword,
                    "an activation, `tanh` or `relu`",
                ));
            }
            _ => return Err(unexpected(&arg, &keyword, "only its sizes, `(F -> H)`")),
        }
    }
    Ok(Box::new(Recurrent {
        keyword,
        ty,
        input,
        hidden,
        relu: relu.unwrap_or(false),
    }))
}

fn sizes(input: ParseStream, usage: &str) -> syn::Result<(Dim, Dim)> {
    let features =
        parse_dim(input).map_err(|e| syn::Error::new(e.span(), format!("{e}; {usage}")))?;
    if !input.peek(Token![->]) {
        return Err(input.error(format!(
            "expected `->` between the feature and hidden sizes; {usage}"
        )));
    }
    input.parse::<Token![->]>()?;
    let hidden =
        parse_dim(input).map_err(|e| syn::Error::new(e.span(), format!("{e}; {usage}")))?;
    if !input.is_empty() {
        input.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(e.span(), format!("expected `,` after the sizes; {usage}"))
        })?;
    }
    Ok((features, hidden))
}

impl Spec for Recurrent {
    fn text(&self) -> String {
        let relu = if self.relu { ", relu" } else { "" };
        format!(
            "{}({} -> {}{relu})",
            self.keyword,
            self.input.text(),
            self.hidden.text()
        )
    }

    fn sizes(&self) -> Vec<&Dim> {
        vec![&self.input, &self.hidden]
    }

    fn bake(&self, _cx: &super::bake::BakeCx) -> Result<super::bake::Baking, String> {
        Err(super::bake::not_yet(
            &self.keyword,
            "the recurrent kernels keep their state and packed weights in the heap layer's workspaces, which `nn::baked` does not carve from the work arena yet; bake the layers after it, or run this network on the heap",
        ))
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let (keyword, hidden, relu) = (&self.keyword, self.hidden.text(), self.relu);
        cx.matching_size(
            &self.input,
            "features per step",
            &sequence.features,
            &sequence.shape,
            |given| {
                let relu = if relu { ", relu" } else { "" };
                Some(format!("{keyword}({given} -> {hidden}{relu})"))
            },
        );
        let nn = cx.nn;
        let ident = format_ident!("{}", self.ty);
        // Typed by the features that came, so that a mismatch (already reported) does not
        // cascade into type errors.
        let (t, f, h) = (
            &sequence.steps.tokens,
            &sequence.features.tokens,
            self.hidden.as_const_arg(),
        );
        let ty = if self.relu {
            quote_spanned!(cx.span()=> #nn::layers::#ident<#t, #f, #h, #nn::layers::RnnRelu>)
        } else {
            quote_spanned!(cx.span()=> #nn::layers::#ident<#t, #f, #h>)
        };
        let output = SampleShape::known(
            vec![sequence.steps.clone(), Width::of(&self.hidden)],
            cx.reference(),
        );
        Some(Built::new(ty, output))
    }
}
