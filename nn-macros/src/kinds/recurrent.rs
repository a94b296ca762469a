//! What `rnn`, `gru` and `lstm` share: `(F -> H)` on `(T, F)` sequences, giving every step's
//! hidden state `(T, H)`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::Token;
use syn::parse::ParseStream;

use super::args::{Arg, parse_args, unexpected};
use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run};
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

impl Recurrent {
    /// The gates whose weights are stacked along the rows: 1, 3 (`r, z, n`) or 4 (`i, f, g, o`).
    fn gates(&self) -> usize {
        match self.ty {
            "Gru" => 3,
            "Lstm" => 4,
            _ => 1,
        }
    }
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

    /// PyTorch's `weight_ih_l0 (G·H, F)`, `weight_hh_l0 (G·H, H)`, `bias_ih_l0` and
    /// `bias_hh_l0 (G·H)`, `G` the number of gates; the scratch is what the kernel of
    /// `nn::baked` keeps besides its output (every step's gates, one or two steps' states).
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let ([steps, features], [_, hidden]) = (cx.input, cx.output) else {
            return Err(format!("`{}` needs a sequence input (T, F)", self.text()));
        };
        let (steps, features, hidden) = (*steps as usize, *features as usize, *hidden as usize);
        let gates = self.gates();
        let width = gates * hidden;
        let scratch = match gates {
            1 => hidden,
            3 => (steps + 1) * 3 * hidden,
            _ => (4 * steps + 7) * hidden,
        };
        let param = |name, shape| Param { name, shape };
        Ok(Baking {
            params: vec![
                param("weight_ih_l0", vec![width, features]),
                param("weight_hh_l0", vec![width, hidden]),
                param("bias_ih_l0", vec![width]),
                param("bias_hh_l0", vec![width]),
            ],
            scratch,
            run: Run::Fresh,
            fold: Fold::None,
            // Every step: the input's and the state's products for every gate.
            multiply_accumulates: steps * width * (features + hidden),
        })
    }

    /// The layouts of `nn_core::linalg::recurrent` (`TRANSPOSED_W_IH`, `PACKED_W_HH`, whose
    /// `cfg`s these are), made by the functions the heap layers lay the weights out with at
    /// run time: `W_ih` transposed off a Cortex-M FPU, `W_hh` packed by rows on x86-64.
    fn target_layout(
        &self,
        cx: &BakeCx,
        param: &str,
        values: &[f32],
    ) -> Option<(TokenStream, Vec<f32>)> {
        let ([_, features], [_, hidden]) = (cx.input, cx.output) else {
            return None;
        };
        let (features, hidden) = (*features as usize, *hidden as usize);
        let width = self.gates() * hidden;
        let targets = match param {
            "weight_ih_l0" => quote::quote!(not(all(
                target_arch = "arm",
                target_os = "none",
                target_abi = "eabihf"
            ))),
            "weight_hh_l0" => quote::quote!(target_arch = "x86_64"),
            _ => return None,
        };
        Some((targets, layout(param, values, width, features, hidden)?))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y, scratch) = (io.nn, &io.x, &io.y, &io.scratch);
        let [weight_ih, weight_hh, bias_ih, bias_hh] = io.params.as_slice() else {
            return TokenStream::new();
        };
        let params = quote_spanned!(io.span=> &#nn::baked::RecurrentParams {
            weight_ih: #weight_ih,
            weight_hh: #weight_hh,
            bias_ih: #bias_ih,
            bias_hh: #bias_hh,
        });
        match self.gates() {
            1 => {
                let nonlinearity = format_ident!("{}", if self.relu { "Relu" } else { "Tanh" });
                quote_spanned!(io.span=> #nn::baked::rnn(#params, #nn::baked::Nonlinearity::#nonlinearity, #x, #y, #scratch);)
            }
            3 => quote_spanned!(io.span=> #nn::baked::gru(#params, #x, #y, #scratch);),
            _ => quote_spanned!(io.span=> #nn::baked::lstm(#params, #x, #y, #scratch);),
        }
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

/// `W_ih` (`width × features`) transposed, `W_hh` (`width × hidden`) packed by rows; `None`
/// for the biases (and for values of the wrong length, which the file's checks report).
#[cfg(feature = "baked")]
fn layout(
    param: &str,
    values: &[f32],
    width: usize,
    features: usize,
    hidden: usize,
) -> Option<Vec<f32>> {
    use nn_core::linalg::{MatRef, pack_rows, packed_rows_len, transpose};
    match param {
        "weight_ih_l0" if values.len() == width * features => {
            let mut t = vec![0.0; values.len()];
            transpose(values, &mut t, width, features);
            Some(t)
        }
        "weight_hh_l0" if values.len() == width * hidden => {
            let mut packed = vec![0.0; packed_rows_len(width, hidden)];
            pack_rows(MatRef::new(values, width, hidden), &mut packed);
            Some(packed)
        }
        _ => None,
    }
}

/// Without the `baked` feature no weights are read, so nothing is laid out.
#[cfg(not(feature = "baked"))]
fn layout(_: &str, _: &[f32], _: usize, _: usize, _: usize) -> Option<Vec<f32>> {
    None
}
