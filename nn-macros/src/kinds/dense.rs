//! `dense(IN -> OUT)`: a fully connected layer on flat samples, or on every step of a `(T, IN)`
//! sequence (PyTorch's `Linear` on the last axis, Keras's `TimeDistributed(Dense)`).

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
    keyword: "dense",
    parse,
    takes: &[1, 2],
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

    /// `weight (OUT, IN)` and `bias (OUT)`; on a `(T, IN)` sequence, every step in turn (the
    /// rows of one product, as the heap `SequenceDense` runs it).
    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Dense)
    }

    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let (inputs, outputs) = (cx.input.last(), cx.output.last());
        let (Some(&inputs), Some(&outputs)) = (inputs, outputs) else {
            return Err("`dense` needs a flat or sequence input".into());
        };
        Ok(Baking {
            params: vec![
                Param {
                    name: "weight",
                    shape: vec![outputs as usize, inputs as usize],
                },
                Param {
                    name: "bias",
                    shape: vec![outputs as usize],
                },
            ],
            scratch: 0,
            run: Run::Fresh,
            fold: if cx.input.len() == 1 {
                Fold::Target
            } else {
                Fold::None
            },
            // Every step of a sequence runs the whole product.
            multiply_accumulates: (cx.input.iter().product::<u64>() * outputs) as usize,
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        let [weight, bias] = io.params.as_slice() else {
            return TokenStream::new();
        };
        let inputs = usize_lit(cx.input.last().copied().unwrap_or(1));
        quote_spanned!(io.span=> #nn::baked::dense(#weight, #bias, #x, #y, #inputs);)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        if let Some(shape) = cx.input
            && let Dims::Known(dims) = &shape.dims
            && dims.len() == 2
        {
            return self.per_step(cx, shape, &dims[0], &dims[1]);
        }
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

impl Dense {
    /// On a `(T, F)` sequence: the same dense layer at every step, `(T, IN)` → `(T, OUT)`.
    fn per_step(
        &self,
        cx: &LayerCx,
        shape: &SampleShape,
        steps: &Width,
        features: &Width,
    ) -> Option<Built> {
        let out = self.output.text();
        let total = Width::product(&[steps.clone(), features.clone()]);
        let flattened = total.value.is_some() && total.value == self.input.literal();
        cx.matching_size(&self.input, "features per step", features, shape, |given| {
            if flattened {
                // `dense(28 -> ..)` on `(4, 7)`: all 28 values of each sample were meant.
                Some(format!("flatten, dense({} -> {out})` to use all {} values of each sample, or `dense({given} -> {out})", total.text, total.text))
            } else {
                // Per step or per sample: two meanings, so the message offers both.
                Some(format!("last, dense({given} -> {out})` for one output per sample (the final step's), or one per step, `dense({given} -> {out})"))
            }
        });
        let nn = cx.nn;
        let (t, f, o) = (&steps.tokens, &features.tokens, self.output.as_const_arg());
        let ty = quote_spanned!(cx.span()=> #nn::layers::SequenceDense<#t, #f, #o>);
        let output =
            SampleShape::known(vec![steps.clone(), Width::of(&self.output)], cx.reference());
        Some(Built::new(ty, output).decoding())
    }
}
