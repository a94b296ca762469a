//! `embedding(VOCAB -> D)`: token ids `(T)` in, a `(T, D)` sequence of learned vectors out
//! (PyTorch's `nn.Embedding(VOCAB, D)`, weight `(VOCAB, D)`). It reads `input(T) tokens`.
//! Baked, it runs `nn::baked::embedding` (`linalg::sequence::embedding`, the heap layer's
//! lookup): a row of NaN for an id that is not one, never a read outside the table.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;
use syn::Token;
use syn::parse::ParseStream;

use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::Dim;
use crate::parse::parse_dim;
use crate::shape::{Dims, SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "embedding",
    parse,
    takes: &[1],
};

struct Embedding {
    vocabulary: Dim,
    features: Dim,
}

const USAGE: &str = "`embedding` takes `(VOCAB -> D)`, e.g. `embedding(65 -> 64)`";

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`embedding` needs its sizes; {USAGE}"),
        ));
    };
    sizes(args.content).map_err(|e| syn::Error::new(e.span(), format!("{e}; {USAGE}")))
}

fn sizes(input: ParseStream) -> syn::Result<Box<dyn Spec>> {
    let vocabulary = parse_dim(input)?;
    if !input.peek(Token![->]) {
        return Err(input.error("expected `->` between the vocabulary size and the vector size"));
    }
    input.parse::<Token![->]>()?;
    let features = parse_dim(input)?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the vector size"));
    }
    Ok(Box::new(Embedding {
        vocabulary,
        features,
    }))
}

impl Spec for Embedding {
    fn text(&self) -> String {
        format!(
            "embedding({} -> {})",
            self.vocabulary.text(),
            self.features.text()
        )
    }

    fn sizes(&self) -> Vec<&Dim> {
        vec![&self.vocabulary, &self.features]
    }

    fn reads_tokens(&self) -> bool {
        true
    }

    /// `weight (VOCAB, D)`; `nn::baked::embedding` copies a row per id, and gives a row of NaN
    /// for an id that is not one (never reading outside the table), as the heap layer.
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let (Some(vocabulary), Some(&features)) = (self.vocabulary.literal(), cx.output.last())
        else {
            return Err(format!(
                "`{}` needs its vocabulary size known to bake",
                self.text()
            ));
        };
        Ok(Baking {
            params: vec![Param {
                name: "weight",
                shape: vec![vocabulary as usize, features as usize],
            }],
            scratch: 0,
            run: Run::Fresh,
            fold: Fold::None,
            multiply_accumulates: 0,
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        let [weight] = io.params.as_slice() else {
            return TokenStream::new();
        };
        let features = usize_lit(cx.output.last().copied().unwrap_or(1));
        quote_spanned!(io.span=> #nn::baked::embedding(#weight, #features, #x, #y);)
    }

    /// Rule: an embedding reads a sequence of token ids, `input(T) tokens`.
    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let layer = cx.layer.text();
        let Some(shape) = cx.input else {
            cx.error(format!(
                "`{layer}` reads token ids, and nothing before it says how many per sample; declare them first with `input(T) tokens`"
            ));
            return None;
        };
        let steps = match (&shape.dims, shape.tokens) {
            (Dims::Known(dims), true) if dims.len() == 1 => dims[0].clone(),
            _ => {
                cx.error(format!(
                    "`{layer}` reads token ids, but {} gives float values {}; declare the network's input as `input(T) tokens`, T ids per sample",
                    shape.source,
                    shape.text()
                ));
                return None;
            }
        };
        let nn = cx.nn;
        let (t, v, d) = (
            &steps.tokens,
            self.vocabulary.as_const_arg(),
            self.features.as_const_arg(),
        );
        let ty = quote_spanned!(cx.span()=> #nn::layers::Embedding<#t, #v, #d>);
        let output = SampleShape::known(vec![steps, Width::of(&self.features)], cx.reference());
        Some(Built::new(ty, output).decoding())
    }
}
