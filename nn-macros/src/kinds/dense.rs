//! `dense(IN -> OUT)`: a fully connected layer on flat samples.

use proc_macro2::Ident;
use quote::quote_spanned;
use syn::Token;
use syn::parse::ParseStream;

use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::Dim;
use crate::parse::parse_dim;
use crate::shape::{SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "dense",
    parse,
};

struct Dense {
    input: Dim,
    output: Dim,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            "`dense` needs its sizes, e.g. `dense(784 -> 128)`",
        ));
    };
    sizes(args.content).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{e}; `dense` takes `(IN -> OUT)`, e.g. `dense(784 -> 128)`"),
        )
    })
}

fn sizes(input: ParseStream) -> syn::Result<Box<dyn Spec>> {
    let input_dim = parse_dim(input)?;
    if !input.peek(Token![->]) {
        return Err(input.error("expected `->` between the input and output sizes"));
    }
    input.parse::<Token![->]>()?;
    let output = parse_dim(input)?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the output size"));
    }
    Ok(Box::new(Dense {
        input: input_dim,
        output,
    }))
}

impl Spec for Dense {
    fn text(&self) -> String {
        format!("dense({} -> {})", self.input.text(), self.output.text())
    }

    fn sizes(&self) -> Vec<&Dim> {
        vec![&self.input, &self.output]
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let out = self.output.text();
        let (width, start) = cx.flat_input(&self.input, "inputs", |given| {
            Some(format!("dense({given} -> {out})"))
        })?;
        let nn = cx.nn;
        // Typed by the size that came, so that a mismatch (already reported) does not cascade.
        let (in_arg, out_arg) = (&width.tokens, self.output.as_const_arg());
        let ty = quote_spanned!(cx.span()=> #nn::layers::Dense<#in_arg, #out_arg>);
        let output = SampleShape::known(vec![Width::of(&self.output)], cx.reference());
        Some(Built {
            input: start,
            ..Built::new(ty, output)
        })
    }
}
