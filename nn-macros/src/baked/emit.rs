//! The code of a baked network: its weights as `static` arrays, and an `infer` that drives
//! each kind's kernel over the regions of the work arena the memory plan gave it.

use std::collections::{BTreeMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::flat::Flat;
use super::memory::{Loc, Memory};
use super::{Baked, BakedLayer, static_ident};
use crate::ast::{MergeKind, Network, Weights};
use crate::kinds::bake::{BakeIo, Run};

/// A float literal that gives back exactly `value` (finite): `1.5e-3f32`, negated with a `-`.
fn literal(value: f32) -> TokenStream {
    let text = format!("{:e}f32", value.abs());
    let lit = syn::LitFloat::new(&text, Span::call_site());
    if value.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// The parameters a layer bakes in: none for a folded batch norm, whose values went into the
/// layer before it.
fn baked_params<'a>(
    layer: &'a BakedLayer,
    tensors: &'a BTreeMap<String, Vec<f32>>,
) -> impl Iterator<Item = (String, &'static str, &'a Vec<f32>)> + 'a {
    layer
        .baking
        .params
        .iter()
        .filter(|_| !layer.folded)
        .filter_map(|param| {
            let name = layer.param_name(param.name);
            let values = tensors.get(&name)?;
            Some((name, param.name, values))
        })
}

/// The bytes of read-only data the baked weights take.
pub(super) fn weight_bytes(steps: &[Baked], tensors: &BTreeMap<String, Vec<f32>>) -> usize {
    steps
        .iter()
        .filter_map(|step| match step {
            Baked::Layer(layer) => Some(
                baked_params(layer, tensors)
                    .map(|(_, _, v)| v.len())
                    .sum::<usize>(),
            ),
            Baked::Merge { .. } => None,
        })
        .sum::<usize>()
        * 4
}

/// Reads and writes of one step: the distinct buffers it touches, as one `regions` call, and
/// the expression of each location.
pub(super) struct Regions<'a> {
    at: Vec<(usize, usize)>,
    idents: Vec<Ident>,
    /// The parameters that hold the network's inputs, in order.
    inputs: &'a [Ident],
}

impl<'a> Regions<'a> {
    pub(super) fn new(inputs: &'a [Ident]) -> Self {
        Regions {
            at: Vec::new(),
            idents: Vec::new(),
            inputs,
        }
    }

    /// The region of buffer `b`'s place, added once.
    pub(super) fn of(&mut self, memory: &Memory, b: usize) -> Ident {
        let buffer = &memory.buffers[b];
        let at = (buffer.offset, buffer.len);
        if let Some(i) = self.at.iter().position(|&a| a == at) {
            return self.idents[i].clone();
        }
        let ident = format_ident!("__r{}", self.at.len());
        self.at.push(at);
        self.idents.push(ident.clone());
        ident
    }

    /// `&[f32]` of a location.
    pub(super) fn read(&mut self, memory: &Memory, loc: Loc) -> TokenStream {
        match loc {
            Loc::Input(i) => {
                let x = &self.inputs[i.min(self.inputs.len().saturating_sub(1))];
                quote!(&#x[..])
            }
            Loc::Buf(b) => {
                let r = self.of(memory, b);
                quote!(&*#r)
            }
        }
    }

    /// `let [..] = regions(work, [..]);` then `body`.
    pub(super) fn wrap(&self, nn: &TokenStream, body: TokenStream) -> TokenStream {
        let idents = &self.idents;
        let at = self.at.iter().map(|&(offset, len)| quote!((#offset, #len)));
        quote! {{
            let [#(#idents),*] = #nn::baked::regions(&mut work[..], [#(#at),*]);
            #body
        }}
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one expansion, gathered by `bake`"
)]
pub(super) fn emit(
    network: &Network,
    weights: &Weights,
    flat: &Flat,
    nn: &TokenStream,
    steps: &[Baked],
    memory: &Memory,
    full_path: &str,
    tensors: &BTreeMap<String, Vec<f32>>,
) -> TokenStream {
    let name = &network.name;
    let vis = &network.vis;
    let baked = format_ident!("{}Baked", name);
    let len = |node: usize| flat.dims[node].iter().product::<u64>() as usize;
    let inputs: Vec<(Option<Ident>, usize)> = flat
        .inputs
        .iter()
        .map(|(name, node)| (name.clone(), len(*node)))
        .collect();
    let (params, input_consts) = inputs_api(&inputs);
    let names = input_names(&inputs);
    let outputs = len(flat.output);
    let work_len = memory.work_len;

    let mut statics = Vec::new();
    let mut used = HashSet::new();
    let mut body = Vec::new();
    let mut param_count = 0usize;
    for (step, at) in steps.iter().zip(&memory.steps) {
        let mut regions = Regions::new(&names);
        // What `infer_probed` reports after the step: its name, and its multiply-accumulates.
        let mut probe: (String, usize) = (String::new(), 0);
        let code = match step {
            Baked::Merge { kind, outer } => {
                probe.0 = match kind {
                    MergeKind::Add => "add".to_string(),
                    MergeKind::Stack => "stack".to_string(),
                    MergeKind::Pack => "pack".to_string(),
                    _ => "concat".to_string(),
                };
                let parts: Vec<TokenStream> = at
                    .inputs
                    .iter()
                    .map(|&loc| regions.read(memory, loc))
                    .collect();
                let Loc::Buf(out) = at.output else { continue };
                let y = regions.of(memory, out);
                match kind {
                    MergeKind::Add => quote!(#nn::baked::add(&[#(#parts),*], #y);),
                    _ => {
                        let outer = *outer as usize;
                        quote!(#nn::baked::concat(#outer, &[#(#parts),*], #y);)
                    }
                }
            }
            Baked::Layer(layer) => {
                if layer.baking.run == Run::Identity {
                    continue;
                }
                let mut params = Vec::new();
                for (name, param, values) in baked_params(layer, tensors) {
                    let ident = static_ident(&name, &mut used);
                    let count = values.len();
                    param_count += count;
                    let literals = values.iter().map(|&v| literal(v));
                    let doc = format!("`{name}`");
                    match layer.spec.target_layout(&layer.cx(), param, values) {
                        None => statics.push(quote! {
                            #[doc = #doc]
                            static #ident: #nn::baked::Aligned<#count> = #nn::baked::Aligned([#(#literals),*]);
                        }),
                        // The kind's layout on the targets `cfg(#targets)` selects, as stored
                        // on the others.
                        Some((targets, laid_out)) => {
                            let laid_out_count = laid_out.len();
                            let laid_out = laid_out.iter().map(|&v| literal(v));
                            statics.push(quote! {
                                #[doc = #doc]
                                #[cfg(#targets)]
                                static #ident: #nn::baked::Aligned<#laid_out_count> = #nn::baked::Aligned([#(#laid_out),*]);
                                #[doc = #doc]
                                #[cfg(not(#targets))]
                                static #ident: #nn::baked::Aligned<#count> = #nn::baked::Aligned([#(#literals),*]);
                            });
                        }
                    }
                    params.push(quote!(&#ident.0[..]));
                }
                let Loc::Buf(out) = at.output else { continue };
                let macs = layer.baking.multiply_accumulates;
                probe = (
                    layer
                        .layer
                        .name
                        .as_ref()
                        .map_or_else(|| layer.layer.text(), ToString::to_string),
                    macs,
                );
                let input = at.inputs.first().copied().unwrap_or(Loc::Input(0));
                let (x, y, copy) = if layer.baking.run == Run::InPlace {
                    let y = regions.of(memory, out);
                    let copy = at.copy_first.then(|| {
                        let x = regions.read(memory, input);
                        quote!(#y.copy_from_slice(#x);)
                    });
                    (quote!(#y), y, copy)
                } else {
                    let x = regions.read(memory, input);
                    (x, regions.of(memory, out), None)
                };
                let scratch = match at.scratch {
                    Some(b) => {
                        let r = regions.of(memory, b);
                        quote!(#r)
                    }
                    None => quote!(&mut []),
                };
                let io = BakeIo {
                    nn,
                    span: layer.layer.span(),
                    params,
                    x,
                    y: quote!(#y),
                    scratch,
                };
                let call = layer.spec.bake_code(&layer.cx(), &io);
                quote_spanned!(io.span=> #copy #call)
            }
        };
        body.push(regions.wrap(nn, code));
        let (label, macs) = probe;
        body.push(quote!(probe(#label, #macs);));
    }
    let output = &memory.buffers[memory.output];
    if let Some(i) = memory.copy_output {
        let (offset, end) = (output.offset, output.offset + output.len);
        let x = &names[i.min(names.len().saturating_sub(1))];
        body.push(quote!(work[#offset..#end].copy_from_slice(&#x[..]);));
    }
    let output_at = output.offset;
    let weight_bytes = param_count * 4;
    let peak = memory.peak_activations * 4;
    let file = weights.path.value();
    let plan_doc = plan_doc(memory);
    let doc = format!(
        "`{name}` with the weights of `{file}` baked in as `static` data, generated by `network!`.\n\n\
         [`infer`](Self::infer) runs one sample with no heap and no allocator; its activations and \
         scratch live in a `[f32; {work_len}]` (`{baked}::WORK_LEN`, {} bytes) the caller owns. The \
         weights are {param_count} `f32`s ({weight_bytes} bytes) of read-only data.\n\n\
         The work arena, as the macro planned it (offset, length in `f32`, steps alive):\n\n{plan_doc}",
        work_len * 4
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #baked;

        #[allow(dead_code, reason = "generated API: a program may use only part of it")]
        impl #baked {
            #input_consts
            /// Values per output sample.
            pub const OUTPUTS: usize = #outputs;
            /// The length, in `f32`, of the work arena [`infer`](Self::infer) takes: every
            /// activation and scratch buffer, placed by the macro's memory plan.
            pub const WORK_LEN: usize = #work_len;
            /// The number of scalar parameters baked in (after folding batch norms).
            pub const PARAM_COUNT: usize = #param_count;
            /// The bytes of read-only data the weights take, as the file stores them (as a
            /// Cortex-M FPU reads them; on x86-64 a recurrent layer's `W_hh` is padded to
            /// blocks of 16 × 16).
            pub const WEIGHT_BYTES: usize = #weight_bytes;
            /// The same as [`WEIGHT_BYTES`](Self::WEIGHT_BYTES) (its earlier name).
            pub const WEIGHTS_BYTES: usize = #weight_bytes;
            /// The most bytes of activations alive at one step (scratch not included): the
            /// floor of any memory plan for this network.
            pub const PEAK_ACTIVATION_BYTES: usize = #peak;
            /// The weights file, as the macro read it.
            pub const WEIGHTS_FILE: &'static str = #full_path;
            /// The file's bytes, through `include_bytes!`: that is what makes cargo rebuild the
            /// crate when the file changes. Only in the binary if a program uses it.
            pub const WEIGHTS_FILE_BYTES: &'static [u8] = ::core::include_bytes!(#full_path);

            /// Runs one sample through the baked network and returns its output, which lives
            /// in `work`. Allocates nothing.
            #[inline]
            pub fn infer<'w>(#params work: &'w mut [f32; #work_len]) -> &'w [f32; #outputs] {
                Self::infer_probed(#(#names,)* work, &mut |_, _| {})
            }

            /// [`infer`](Self::infer), calling `probe(layer, multiply_accumulates)` after each
            /// step that runs code: the layer's name (or its text when unnamed, `add`/`concat`
            /// for a merge) and its multiply-accumulates (0 for the steps without weights). A
            /// profiler reads a clock there; `infer` passes a probe that does nothing, which
            /// compiles away.
            pub fn infer_probed<'w>(
                #params
                work: &'w mut [f32; #work_len],
                probe: &mut impl FnMut(&'static str, usize),
            ) -> &'w [f32; #outputs] {
                #(#statics)*
                #(#body)*
                let work: &'w [f32] = work;
                #nn::baked::output::<#outputs>(&work[#output_at..])
            }
        }
    }
}

/// The parameters that hold the inputs: `x` for one, the inputs' names for several.
fn input_names<L>(inputs: &[(Option<Ident>, L)]) -> Vec<Ident> {
    inputs
        .iter()
        .map(|(name, _)| name.clone().unwrap_or_else(|| format_ident!("x")))
        .collect()
}

/// The input parameters of `infer` (`x: &[f32; 784],` or one per named input, in order) and
/// the constants of their lengths: `INPUTS` for one input, `INPUTS_IMAGE` for an input
/// `image` of several, as the heap network has them.
pub(super) fn inputs_api<L: quote::ToTokens>(
    inputs: &[(Option<Ident>, L)],
) -> (TokenStream, TokenStream) {
    let names = input_names(inputs);
    let lens = inputs.iter().map(|(_, len)| len);
    let params = quote!(#(#names: &[f32; #lens],)*);
    let consts = match inputs {
        [(None, len)] => quote! {
            /// Values per input sample.
            pub const INPUTS: usize = #len;
        },
        _ => inputs
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, ((_, len), name))| {
                let konst = crate::expand::input_const(name, i);
                let doc = format!("Values per sample of the input `{name}`.");
                quote!(#[doc = #doc] pub const #konst: usize = #len;)
            })
            .collect(),
    };
    (params, consts)
}

/// The memory plan as a Markdown list, for the struct's docs.
pub(super) fn plan_doc(memory: &Memory) -> String {
    let mut buffers: Vec<_> = memory.buffers.iter().collect();
    buffers.sort_by_key(|b| (b.first, b.offset));
    buffers
        .iter()
        .map(|b| {
            format!(
                "- {}: {}..{} ({} `f32`), steps {} to {}\n",
                b.label.replace('`', ""),
                b.offset,
                b.offset + b.len,
                b.len,
                b.first,
                b.last
            )
        })
        .collect()
}
