//! Step-by-step inference: `impl nn::layers::Decode` for a network over a sequence whose every
//! layer decodes (see `Built::decodes`) and whose merges keep the steps apart (`add`, or
//! `concat` on the features). Each buffer of the plan then holds one step, and a step runs the
//! plan's steps in order, each layer through its own `Decode`. Any other network gets no impl:
//! calling `Decoder::new` on it is the trait's "cannot run one step at a time" error.
//!
//! A network of two inputs decodes when one of them (the decoded input) reaches the other's
//! branch only through cross-attentions whose queries it gives: the other is the memory. Its
//! branch runs once per sequence, as the full forward runs it (`decode_memory` runs the
//! inference forward at batch 1, the decoded input blank, into a tape the state keeps), each
//! cross-attention keeps its memory's keys and values (`nn::layers::CrossDecode`), and a step
//! runs only the steps that depend on the decoded input.

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::Generator;
use crate::ast::MergeKind;
use crate::shape::Dims;
use crate::validate::{DecodePlan, StepKind};

impl Generator<'_> {
    /// The `Decode` impl and its state struct (none when the network does not decode), and
    /// `WithoutMemory` for a network of one input.
    pub(super) fn decode_impl(&self) -> TokenStream {
        let nn = self.nn;
        // What `Decoder::new` takes besides `Decode`: a network of one input, which reads no
        // memory (implemented whether it decodes or not, so one that does not is one error).
        let without_memory = (self.plan.inputs.len() == 1).then(|| {
            let name = &self.network.name;
            quote!(impl #nn::layers::WithoutMemory for #name {})
        });
        let Some(decode) = (0..self.plan.inputs.len()).find_map(|i| self.plan.decode_plan(i))
        else {
            return quote!(#without_memory);
        };
        let plan = self.plan;
        let (vis, name) = (&self.network.vis, &self.network.name);
        let state = format_ident!("{}DecodeState", name);
        let input = plan.inputs[decode.decoded].node;
        let Dims::Known(input_dims) = &plan.nodes[input].shape.dims else {
            return quote!(#without_memory);
        };
        let width = |k: usize| decode.widths[k].as_ref();
        let (Some(step_inputs), Some(step_outputs)) = (width(input), width(plan.output)) else {
            return quote!(#without_memory);
        };
        let steps = &input_dims[0].value_tokens;
        let (step_inputs, step_outputs) = (&step_inputs.value_tokens, &step_outputs.value_tokens);

        let node = |k: usize| format_ident!("node_{}", k);
        // The buffers of one step: every node of the decoded branch but its input, its output
        // and the packed inputs of cross-attentions.
        let packed: HashSet<usize> = decode.packs.iter().map(|&s| plan.steps[s].output).collect();
        let inner: Vec<usize> = (0..plan.nodes.len())
            .filter(|&k| {
                width(k).is_some() && k != input && k != plan.output && !packed.contains(&k)
            })
            .collect();
        let node_fields = inner.iter().filter_map(|&k| {
            let (field, width) = (node(k), &width(k)?.tokens);
            Some(quote!(#field: #nn::tensor::Tensor1<#width>,))
        });
        let node_inits = inner.iter().map(|&k| {
            let field = node(k);
            quote!(#field: #nn::tensor::Zeroed::zeroed(),)
        });
        // The layers a step runs: `Decode` for most, `CrossDecode` for a cross-attention.
        let stepped: Vec<(usize, &crate::validate::LayerStep)> = plan
            .layer_steps()
            .filter(|&(s, _)| width(plan.steps[s].output).is_some())
            .collect();
        let layer_fields = stepped.iter().map(|(_, layer)| {
            let (field, ty) = (&layer.field, &layer.ty);
            if layer.merge {
                quote!(#field: <#ty as #nn::layers::CrossDecode>::CrossState,)
            } else {
                quote!(#field: <#ty as #nn::layers::Decode>::DecodeState,)
            }
        });
        let layer_inits = stepped.iter().map(|(_, layer)| {
            let field = &layer.field;
            if layer.merge {
                quote!(#field: #nn::layers::CrossDecode::cross_state(&self.#field),)
            } else {
                quote!(#field: #nn::layers::Decode::decode_state(&self.#field),)
            }
        });

        let read = |k: usize| {
            if k == input {
                quote!(x)
            } else if k == plan.output {
                quote!(&*y)
            } else {
                let field = node(k);
                quote!(#nn::tensor::Tensor::as_slice(&state.#field))
            }
        };
        let write = |k: usize| {
            if k == plan.output {
                quote!(&mut *y)
            } else {
                let field = node(k);
                quote!(#nn::tensor::Tensor::as_mut_slice(&mut state.#field))
            }
        };
        let body = plan.steps.iter().enumerate().map(|(s, step)| {
            if width(step.output).is_none() || decode.packs.contains(&s) {
                // The memory's branch ran in `decode_memory`; a pack's parts are read where
                // its cross-attention runs.
                return TokenStream::new();
            }
            let out = write(step.output);
            let span = step.span;
            match &step.kind {
                StepKind::Layer(layer) if layer.merge => {
                    let field = &layer.field;
                    let queries = self.plan.pack_parts(step.inputs[0]).first().copied();
                    let x = read(queries.unwrap_or(input));
                    quote_spanned!(span=>
                        #nn::layers::CrossDecode::attend(&self.#field, #x, #out, &mut state.#field);
                    )
                }
                StepKind::Layer(layer) => {
                    let (field, x) = (&layer.field, read(step.inputs[0]));
                    quote_spanned!(span=>
                        #nn::layers::Decode::decode_step(&self.#field, #x, #out, &mut state.#field, position);
                    )
                }
                StepKind::Merge { kind, .. } => {
                    let parts = step.inputs.iter().map(|&k| read(k));
                    match kind {
                        MergeKind::Add => quote!(#nn::ops::sum_into(&[#(#parts),*], #out);),
                        // On the features: one step of each part, side by side.
                        _ => quote!(#nn::ops::concat_chunks(1, &[#(#parts),*], #out);),
                    }
                }
                StepKind::Bridge => {
                    let x = read(step.inputs[0]);
                    quote_spanned!(span=> (#out).copy_from_slice(#x);)
                }
                // `decode_plan` lets no other step through.
                StepKind::Unchecked => TokenStream::new(),
            }
        });
        let vocab = |k: usize| {
            self.token_reader(k)
                .map(|ty| quote!(<#ty as #nn::layers::Layer>::TOKEN_VOCAB))
        };
        let step_vocab =
            vocab(input).map(|v| quote!(const STEP_VOCAB: ::core::option::Option<usize> = #v;));
        let memory = decode
            .memory
            .map(|m| self.memory_parts(&decode, m, &stepped, &state));
        let (memory_fields, memory_inits, memory_items) = match memory {
            Some((fields, inits, items)) => (fields, inits, items),
            None => Default::default(),
        };
        let doc = format!(
            "What [`{name}`] keeps between the steps of a sequence it decodes one step at a time (its \
             attention layers' keys and values, and what it read of its memory), and one step of \
             each of its buffers: made by `Decode::decode_state`, used through \
             `nn::layers::Decoder`."
        );
        quote! {
            #[doc = #doc]
            #vis struct #state {
                #memory_fields
                #(#layer_fields)*
                #(#node_fields)*
            }

            impl #nn::layers::Decode for #name {
                const STEPS: usize = #steps;
                const STEP_INPUTS: usize = #step_inputs;
                const STEP_OUTPUTS: usize = #step_outputs;
                #step_vocab
                #memory_items
                type DecodeState = #state;

                fn decode_state(&self) -> #state {
                    #state {
                        #memory_inits
                        #(#layer_inits)*
                        #(#node_inits)*
                    }
                }

                fn decode_step(&self, x: &[f32], y: &mut [f32], state: &mut #state, position: usize) {
                    #(#body)*
                }
            }

            #without_memory
        }
    }

    /// The state's fields and their initial values for the memory (the tape its branch runs
    /// into, and both inputs at batch 1), and the `Decode` items that read it.
    fn memory_parts(
        &self,
        decode: &DecodePlan,
        memory: usize,
        stepped: &[(usize, &crate::validate::LayerStep)],
        state: &Ident,
    ) -> (TokenStream, TokenStream, TokenStream) {
        let nn = self.nn;
        let plan = self.plan;
        let (tape, eval) = (&self.tape, quote!(#nn::layers::Eval));
        let one = |i: usize| self.sample_type(plan.inputs[i].node);
        let (memory_type, decoded_type) = (one(memory), one(decode.decoded));
        let memory_node = plan.inputs[memory].node;
        let fields = quote! {
            tape: #tape<1, #eval>,
            memory: #memory_type,
            blank: #decoded_type,
        };
        let inits = quote! {
            tape: #tape::<1, #eval>::new(),
            memory: #nn::tensor::Zeroed::zeroed(),
            blank: #nn::tensor::Zeroed::zeroed(),
        };
        // The inputs of the full forward, in order: the memory, and a blank decoded input.
        let args = (0..plan.inputs.len()).map(|i| {
            if i == memory {
                quote!(&state.memory)
            } else {
                quote!(&state.blank)
            }
        });
        let slice = |k: usize| {
            if k == memory_node {
                quote!(#nn::tensor::Tensor::as_slice(&state.memory))
            } else {
                let act = Self::act(k);
                quote!(#nn::tensor::Tensor::as_slice(&state.tape.buffers.#act))
            }
        };
        let remember = stepped.iter().filter(|(_, layer)| layer.merge).map(|(s, layer)| {
            let field = &layer.field;
            let parts = self.plan.pack_parts(plan.steps[*s].inputs[0]);
            let (keys, values) = (slice(parts[1]), slice(parts[2]));
            let ids = parts.get(3).map_or(quote!(&[]), |&k| slice(k));
            quote!(#nn::layers::CrossDecode::remember(&self.#field, #keys, #values, #ids, &mut state.#field);)
        });
        let len = plan.nodes[memory_node].shape.len_value(nn);
        let vocab = self
            .token_reader(memory_node)
            .map(|ty| quote!(const MEMORY_VOCAB: ::core::option::Option<usize> = <#ty as #nn::layers::Layer>::TOKEN_VOCAB;));
        let items = quote! {
            const MEMORY: usize = #len;
            #vocab

            fn decode_memory(&self, memory: &[f32], state: &mut #state) {
                #nn::tensor::Tensor::as_mut_slice(&mut state.memory).copy_from_slice(memory);
                self.__forward_eval(#(#args,)* &mut state.tape.output, &mut state.tape.buffers);
                #(#remember)*
            }
        };
        (fields, inits, items)
    }

    /// The type of one sample of `node` (a batch of 1).
    fn sample_type(&self, node: usize) -> TokenStream {
        let nn = self.nn;
        match &self.plan.nodes[node].shape.dims {
            Dims::Known(dims) => {
                let tokens: Vec<&TokenStream> = dims.iter().map(|d| &d.tokens).collect();
                let tensor = format_ident!("Tensor{}", dims.len() + 1);
                quote!(#nn::tensor::#tensor<1, #(#tokens),*>)
            }
            Dims::Of { .. } => quote!(()),
        }
    }

    /// The layer type that reads the token ids of input node `k`, when one does.
    pub(super) fn token_reader(&self, k: usize) -> Option<&TokenStream> {
        if !self.plan.nodes[k].shape.tokens {
            return None;
        }
        self.plan.steps.iter().find_map(|step| match &step.kind {
            StepKind::Layer(layer) if step.inputs.contains(&k) && !layer.merge => Some(&layer.ty),
            _ => None,
        })
    }
}
