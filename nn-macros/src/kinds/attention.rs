//! `multi_head_attention(D, heads = H)`: self-attention over a `(T, D)` sequence, `H` heads of
//! `D / H` features (PyTorch's `nn.MultiheadAttention(D, H, batch_first=True)` called as
//! `mha(x, x, x)`, with its parameter names and layouts); `causal` lets step `t` see steps up
//! to `t` only. Baked, it runs `nn::baked::multi_head_attention` (`linalg::attention`, the heap
//! layer's flash-style kernel) with the heap layer's batch-1 scratch from the work arena.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::Token;
use syn::parse::ParseStream;

use super::args::{Arg, once, parse_args, unexpected, whole_or_constant};
use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec, named};
use crate::ast::{AttentionMerge, Dim};
use crate::ctxt::{ConstCheck, Message};
use crate::parse::parse_dim;
use crate::shape::SampleShape;

pub const KIND: Kind = Kind {
    keyword: "multi_head_attention",
    parse,
    takes: &[2],
};

const USAGE: &str = "`multi_head_attention` takes `(D, heads = H)` and optionally `causal` and `key_padding = PAD_ID`, e.g. `multi_head_attention(64, heads = 4, causal)`";

struct Attention {
    features: Dim,
    heads: Dim,
    causal: bool,
    /// `key_padding = PAD_ID`: the keys whose token id is `PAD_ID` are masked.
    key_padding: Option<Dim>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`multi_head_attention` needs its sizes; {USAGE}"),
        ));
    };
    read(args.content).map(|spec| Box::new(spec) as Box<dyn Spec>)
}

fn read(input: ParseStream) -> syn::Result<Attention> {
    let features =
        parse_dim(input).map_err(|e| syn::Error::new(e.span(), format!("{e}; {USAGE}")))?;
    let mut heads = None;
    let mut causal = None;
    let mut key_padding = None;
    if !input.is_empty() {
        input.parse::<Token![,]>()?;
        for arg in parse_args(input, USAGE)? {
            match &arg {
                Arg::Keyed { key, value } if key == "heads" => {
                    let heads_value = whole_or_constant(value, "the number of heads", USAGE)?;
                    once(&mut heads, heads_value, &arg, "`heads`")?
                }
                Arg::Word(word) if word == "causal" => once(&mut causal, true, &arg, "`causal`")?,
                Arg::Keyed { key, value } if key == "key_padding" => {
                    let pad = whole_or_constant(value, "the padding id", USAGE)?;
                    once(&mut key_padding, pad, &arg, "`key_padding`")?
                }
                _ => {
                    return Err(unexpected(
                        &arg,
                        "multi_head_attention",
                        "`heads = H`, `causal` and `key_padding = PAD_ID`",
                    ));
                }
            }
        }
    }
    let Some(heads) = heads else {
        return Err(input.error(format!("`heads = H` is missing; {USAGE}")));
    };
    Ok(Attention {
        features,
        heads,
        causal: causal.unwrap_or(false),
        key_padding,
    })
}

/// The arguments of a `=> multi_head_attention(D, heads = H)` merge after a fork, read after
/// its keyword; their parentheses go into `tokens`, the merge's text.
pub(crate) fn read_merge(
    keyword: &Ident,
    input: ParseStream,
    tokens: &mut TokenStream,
) -> syn::Result<AttentionMerge> {
    if !input.peek(syn::token::Paren) {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`multi_head_attention` needs its sizes; {USAGE}"),
        ));
    }
    let content;
    let paren = syn::parenthesized!(content in input);
    let mut group =
        proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, TokenStream::new());
    group.set_span(paren.span.join());
    quote::ToTokens::to_tokens(&group, tokens);
    let Attention {
        features,
        heads,
        causal,
        key_padding,
    } = read(&content)?;
    Ok(AttentionMerge {
        features,
        heads,
        causal,
        key_padding,
    })
}

impl Spec for Attention {
    fn text(&self) -> String {
        attention_text(
            &self.features,
            &self.heads,
            self.causal,
            self.key_padding.as_ref(),
        )
    }

    fn sizes(&self) -> Vec<&Dim> {
        vec![&self.features, &self.heads]
    }

    /// PyTorch's `in_proj_weight (3·D, D)`, `in_proj_bias (3·D)`, `out_proj.weight (D, D)`
    /// and `out_proj.bias (D)`; `nn::baked::multi_head_attention` runs the heap layer's
    /// flash-style kernel with its batch-1 scratch,
    /// `nn::baked::multi_head_attention_scratch_len(T, D, H)` values of the work arena.
    ///
    /// With `key_padding` its input is the sequence with each step's token id after the
    /// features (`(T, D + 1)`), and `nn::baked::padded_multi_head_attention` runs the heap
    /// `PaddedAttention`'s forward at batch 1 (the same tiled kernel, the padded keys masked),
    /// with `nn::baked::padded_multi_head_attention_scratch_len(T, D, H)` values of scratch.
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let &[steps, width] = cx.input else {
            return Err(format!("`{}` needs a `(T, D)` sequence", self.text()));
        };
        let padded = self.key_padding.is_some();
        let features = if padded {
            width.saturating_sub(1)
        } else {
            width
        };
        let Some(heads) = self.heads.literal() else {
            return Err(format!(
                "`{}` bakes with its number of heads written as a number, which no weights file gives",
                self.text()
            ));
        };
        if heads == 0 || features % heads != 0 {
            return Err(format!(
                "`{}`: {heads} heads do not split {features} features",
                self.text()
            ));
        }
        let (t, d, h) = (steps as usize, features as usize, heads as usize);
        Ok(Baking {
            params: attention_params(d),
            scratch: if padded {
                nn_core::baked::padded_multi_head_attention_scratch_len(t, d, h)
            } else {
                nn_core::baked::multi_head_attention_scratch_len(t, d, h)
            },
            run: Run::Fresh,
            fold: Fold::None,
            multiply_accumulates: nn_core::linalg::attention::multiply_accumulates(
                t,
                d,
                self.causal,
            ),
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y, scratch) = (io.nn, &io.x, &io.y, &io.scratch);
        let (Some(params), &[steps, width], Some(heads)) =
            (params_tokens(io), cx.input, self.heads.literal())
        else {
            return TokenStream::new();
        };
        let causal = self.causal;
        if let Some(pad) = &self.key_padding {
            let features = width.saturating_sub(1);
            let scratch_len = nn_core::baked::padded_multi_head_attention_scratch_len(
                steps as usize,
                features as usize,
                heads as usize,
            );
            let (t, d, h) = (usize_lit(steps), usize_lit(features), usize_lit(heads));
            let pad = pad.as_const_arg();
            return quote_spanned!(io.span=> {
                const _: () = ::core::assert!(
                    #nn::baked::padded_multi_head_attention_scratch_len(#t, #d, #h) == #scratch_len,
                    "the macro's scratch for a padded attention layer is not nn's"
                );
                let params = #params;
                #nn::baked::padded_multi_head_attention(&params, (#h, #causal, #pad), #x, #y, #scratch);
            });
        }
        let features = width;
        let scratch_len = nn_core::baked::multi_head_attention_scratch_len(
            steps as usize,
            features as usize,
            heads as usize,
        );
        let (t, d, h) = (usize_lit(steps), usize_lit(features), usize_lit(heads));
        quote_spanned!(io.span=> {
            const _: () = ::core::assert!(
                #nn::baked::multi_head_attention_scratch_len(#t, #d, #h) == #scratch_len,
                "the macro's scratch for an attention layer is not nn's"
            );
            let params = #params;
            #nn::baked::multi_head_attention(&params, #h, #causal, #x, #y, #scratch);
        })
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let causal = if self.causal { ", causal" } else { "" };
        let heads = self.heads.text();
        // Both sizes known and different: the chain stops here, so that the layers after it,
        // written for the declared `D`, add no errors of their own.
        let mismatch = matches!(
            (self.features.literal(), sequence.features.value),
            (Some(declared), Some(given)) if declared != given
        );
        cx.matching_size(
            &self.features,
            "features per step",
            &sequence.features,
            &sequence.shape,
            |given| {
                Some(format!(
                    "multi_head_attention({given}, heads = {heads}{causal})"
                ))
            },
        );
        heads_divide(
            &self.features,
            &self.heads,
            &cx.layer.text(),
            cx.ctxt,
            &cx.layer.tokens,
            cx.span(),
        );
        if mismatch {
            return None;
        }
        let nn = cx.nn;
        // Typed by the features that came, so that a mismatch the compiler checks (named
        // sizes) does not cascade into type errors.
        let (t, d, h) = (
            &sequence.steps.tokens,
            &sequence.features.tokens,
            self.heads.as_const_arg(),
        );
        let causal = self.causal;
        if let Some(pad) = &self.key_padding {
            // Its input is the sequence with each step's token id after the features.
            let packed = crate::shape::Width::sum(&[
                sequence.features.clone(),
                crate::shape::Width::known(1),
            ]);
            let (pad, di) = (pad.as_const_arg(), &packed.tokens);
            let ty = quote_spanned!(cx.span()=> #nn::layers::PaddedAttention<#t, #d, #h, #causal, #pad, #di>);
            let output = SampleShape::known(
                vec![sequence.steps.clone(), sequence.features.clone()],
                cx.reference(),
            );
            return Some(Built {
                reads_ids: true,
                ..Built::new(ty, output)
            });
        }
        let ty = quote_spanned!(cx.span()=> #nn::layers::MultiHeadAttention<#t, #d, #h, #causal>);
        let output = SampleShape::known(
            vec![sequence.steps.clone(), sequence.features.clone()],
            cx.reference(),
        );
        // Only causal attention has a step form: otherwise a step sees the later ones.
        let built = Built::new(ty, output);
        Some(if causal { built.decoding() } else { built })
    }
}

/// `multi_head_attention(D, heads = H[, causal][, key_padding = PAD])`, as written: the text
/// errors quote, in the chain or after a fork.
fn attention_text(features: &Dim, heads: &Dim, causal: bool, key_padding: Option<&Dim>) -> String {
    let causal = if causal { ", causal" } else { "" };
    let padding =
        key_padding.map_or_else(String::new, |pad| format!(", key_padding = {}", pad.text()));
    format!(
        "multi_head_attention({}, heads = {}{causal}{padding})",
        features.text(),
        heads.text()
    )
}

/// Rule: the heads split the features evenly, `D % H == 0`; `layer` is the text errors quote,
/// `tokens` and `span` where they point.
pub(crate) fn heads_divide(
    features: &Dim,
    heads: &Dim,
    layer: &str,
    ctxt: &crate::ctxt::Ctxt,
    tokens: &TokenStream,
    span: proc_macro2::Span,
) {
    match (features.literal(), heads.literal()) {
        (_, Some(0)) | (Some(0), _) => {} // reported with the other size rules
        (Some(d), Some(h)) if d % h != 0 => {
            let fits: Vec<String> = (1..=d.min(64))
                .filter(|k| d % k == 0 && *k != 1)
                .map(|k| k.to_string())
                .collect();
            let nearest = fits
                .iter()
                .min_by_key(|k| k.parse::<u64>().map_or(u64::MAX, |k| k.abs_diff(h)))
                .cloned()
                .unwrap_or_else(|| "1".into());
            ctxt.error(tokens, format!(
                    "`{layer}` splits {d} features into {h} heads, but {d} is not a multiple of {h} ({d} % {h} = {}); each head takes D / H features, so pick heads that divide {d}, e.g. `heads = {nearest}`",
                    d % h
                ));
        }
        (Some(_), Some(_)) => {}
        _ => {
            let (d, h) = (features.as_value(), heads.as_value());
            let message = Message::default()
                .text(format!("`{layer}` splits "))
                .value(d.clone())
                .text(named(&features.text(), features.literal()))
                .text(" features into ")
                .value(h.clone())
                .text(named(&heads.text(), heads.literal()))
                .text(" heads, but the features are not a multiple of the heads (remainder ")
                .value(quote!(#d % #h))
                .text("); pick heads that divide the features");
            ctxt.check(ConstCheck {
                span,
                condition: quote!(#h != 0 && #d % #h == 0),
                message,
            });
        }
    }
}

/// The parameters a baked attention reads, self or cross: PyTorch's.
fn attention_params(d: usize) -> Vec<Param> {
    let param = |name, shape| Param { name, shape };
    vec![
        param("in_proj_weight", vec![3 * d, d]),
        param("in_proj_bias", vec![3 * d]),
        param("out_proj.weight", vec![d, d]),
        param("out_proj.bias", vec![d]),
    ]
}

/// `nn::baked::AttentionParams` of a baked attention's parameters, in [`attention_params`]'s
/// order.
fn params_tokens(io: &BakeIo) -> Option<TokenStream> {
    let nn = io.nn;
    let [in_w, in_b, out_w, out_b] = io.params.as_slice() else {
        return None;
    };
    Some(quote_spanned!(io.span=> #nn::baked::AttentionParams {
        in_proj_weight: #in_w,
        in_proj_bias: #in_b,
        out_proj_weight: #out_w,
        out_proj_bias: #out_b,
    }))
}

/// The cross-attention of `fork { .. } => multi_head_attention(D, heads = H)`, as it bakes. The
/// fork's validation (`validate::merge`) builds it and checks its shapes; baked, its input is
/// the fork's branches packed along the steps (`TQ` queries, then `TK` keys, then `TK`
/// values, `(TQ + 2·TK, D)`), and `nn::baked::cross_multi_head_attention` runs the heap
/// `CrossAttention`'s flash-style kernel on it with its batch-1 scratch,
/// `nn::baked::cross_multi_head_attention_scratch_len(TQ, TK, D, H)` values of the work arena.
/// With `key_padding = PAD_ID` the input is those rows' values and then the keys' `TK` token
/// ids, and `nn::baked::padded_cross_multi_head_attention` masks the padded keys, with
/// `padded_cross_multi_head_attention_scratch_len(TQ, TK, D, H)` values of scratch.
impl Spec for AttentionMerge {
    fn text(&self) -> String {
        // As written: `causal` is kept for the error that rejects it.
        attention_text(
            &self.features,
            &self.heads,
            self.causal,
            self.key_padding.as_ref(),
        )
    }

    fn sizes(&self) -> Vec<&Dim> {
        vec![&self.features, &self.heads]
    }

    /// Never called: a merge is not a layer of a chain, and validation builds it.
    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.error(format!(
            "`{}` attends from a fork's first branch to its others, so it ends a fork: `fork {{ queries: [..], memory: [..] }} => {}`",
            self.text(),
            self.text()
        ));
        None
    }

    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let [tq, tk, d, h] = self.cross_sizes(cx)?.map(|size| size as usize);
        let scratch = if self.key_padding.is_some() {
            nn_core::baked::padded_cross_multi_head_attention_scratch_len(tq, tk, d, h)
        } else {
            nn_core::baked::cross_multi_head_attention_scratch_len(tq, tk, d, h)
        };
        Ok(Baking {
            params: attention_params(d),
            scratch,
            run: Run::Fresh,
            fold: Fold::None,
            multiply_accumulates: nn_core::linalg::attention::cross_multiply_accumulates(tq, tk, d),
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y, scratch) = (io.nn, &io.x, &io.y, &io.scratch);
        let (Some(params), Ok(sizes)) = (params_tokens(io), self.cross_sizes(cx)) else {
            return TokenStream::new();
        };
        let [queries, keys, features, heads] = sizes.map(|size| size as usize);
        let [tq, tk, d, h] = sizes.map(usize_lit);
        if let Some(pad) = &self.key_padding {
            let scratch_len = nn_core::baked::padded_cross_multi_head_attention_scratch_len(
                queries, keys, features, heads,
            );
            let pad = pad.as_const_arg();
            return quote_spanned!(io.span=> {
                const _: () = ::core::assert!(
                    #nn::baked::padded_cross_multi_head_attention_scratch_len(#tq, #tk, #d, #h) == #scratch_len,
                    "the macro's scratch for a padded cross-attention is not nn's"
                );
                let params = #params;
                #nn::baked::padded_cross_multi_head_attention(&params, (#h, #tq, #pad), #x, #y, #scratch);
            });
        }
        let scratch_len =
            nn_core::baked::cross_multi_head_attention_scratch_len(queries, keys, features, heads);
        quote_spanned!(io.span=> {
            const _: () = ::core::assert!(
                #nn::baked::cross_multi_head_attention_scratch_len(#tq, #tk, #d, #h) == #scratch_len,
                "the macro's scratch for a cross-attention is not nn's"
            );
            let params = #params;
            #nn::baked::cross_multi_head_attention(&params, #h, #tq, #x, #y, #scratch);
        })
    }
}

impl AttentionMerge {
    /// `[TQ, TK, D, H]` of the packed input: `(TQ + 2·TK, D)` rows, or with `key_padding`
    /// those rows' `(TQ + 2·TK)·D` values and then `TK` ids.
    fn cross_sizes(&self, cx: &BakeCx) -> Result<[u64; 4], String> {
        let sizes = match (cx.input, cx.output, &self.key_padding) {
            (&[steps, features], &[queries, _], None) => {
                Some((queries, steps.saturating_sub(queries) / 2, features))
            }
            (&[len], &[queries, features], Some(_)) => {
                let rest = len.saturating_sub(queries * features);
                Some((queries, rest / (2 * features + 1), features))
            }
            _ => None,
        };
        let Some((queries, keys, features)) = sizes else {
            return Err(format!(
                "`{}` needs `(T, D)` sequences from its branches",
                self.text()
            ));
        };
        let Some(heads) = self.heads.literal().filter(|&h| h > 0 && features % h == 0) else {
            return Err(format!(
                "`{}` bakes with its number of heads written as a number that divides {features}",
                self.text()
            ));
        };
        Ok([queries, keys, features, heads])
    }
}
