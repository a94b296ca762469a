//! Step-by-step inference: `impl nn::layers::Decode` for a network over a sequence whose every
//! layer decodes (see `Built::decodes`) and whose merges keep the steps apart (`add`, or
//! `concat` on the features). Each buffer of the plan then holds one step, and a step runs the
//! plan's steps in order, each layer through its own `Decode`. Any other network gets no impl:
//! calling `Decoder::new` on it is the trait's "cannot run one step at a time" error.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::Generator;
use crate::ast::MergeKind;
use crate::shape::{Dims, Width};
use crate::validate::StepKind;

impl Generator<'_> {
    /// The `Decode` impl and its state struct, or nothing when the network does not decode.
    pub(super) fn decode_impl(&self) -> TokenStream {
        let Some(widths) = self.step_widths() else {
            return TokenStream::new();
        };
        let nn = self.nn;
        let plan = self.plan;
        let (vis, name) = (&self.network.vis, &self.network.name);
        let state = format_ident!("{}DecodeState", name);
        let input = plan.inputs[0].node;
        let Dims::Known(input_dims) = &plan.nodes[input].shape.dims else {
            return TokenStream::new();
        };
        let steps = &input_dims[0].value_tokens;
        let (step_inputs, step_outputs) = (
            &widths[input].value_tokens,
            &widths[plan.output].value_tokens,
        );

        let node = |k: usize| format_ident!("node_{}", k);
        let inner: Vec<usize> = (0..plan.nodes.len())
            .filter(|&k| k != input && k != plan.output)
            .collect();
        let node_fields = inner.iter().map(|&k| {
            let (field, width) = (node(k), &widths[k].tokens);
            quote!(#field: #nn::tensor::Tensor1<#width>,)
        });
        let node_inits = inner.iter().map(|&k| {
            let field = node(k);
            quote!(#field: #nn::tensor::Zeroed::zeroed(),)
        });
        let layers: Vec<(&Ident, &TokenStream)> = plan
            .layer_steps()
            .map(|(_, layer)| (&layer.field, &layer.ty))
            .collect();
        let layer_fields = layers
            .iter()
            .map(|(field, ty)| quote!(#field: <#ty as #nn::layers::Decode>::DecodeState,));
        let layer_inits = layers
            .iter()
            .map(|(field, _)| quote!(#field: #nn::layers::Decode::decode_state(&self.#field),));

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
        let body = plan.steps.iter().map(|step| {
            let out = write(step.output);
            let span = step.span;
            match &step.kind {
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
                // `step_widths` lets no other step through.
                StepKind::Bridge | StepKind::Unchecked => TokenStream::new(),
            }
        });
        let doc = format!(
            "What [`{name}`] keeps between the steps of a sequence it decodes one step at a time (its \
             attention layers' keys and values), and one step of each of its buffers: made by \
             `Decode::decode_state`, used through `nn::layers::Decoder`."
        );
        quote! {
            #[doc = #doc]
            #vis struct #state {
                #(#layer_fields)*
                #(#node_fields)*
            }

            impl #nn::layers::Decode for #name {
                const STEPS: usize = #steps;
                const STEP_INPUTS: usize = #step_inputs;
                const STEP_OUTPUTS: usize = #step_outputs;
                type DecodeState = #state;

                fn decode_state(&self) -> #state {
                    #state {
                        #(#layer_inits)*
                        #(#node_inits)*
                    }
                }

                fn decode_step(&self, x: &[f32], y: &mut [f32], state: &mut #state, position: usize) {
                    #(#body)*
                }
            }
        }
    }

    /// The values in one step of each buffer when the network decodes step by step: one input
    /// of token ids `(T)` or features `(T, F)`, every layer one that decodes, merges that keep
    /// the steps apart, and every buffer a `(T, F)` sequence (the input's ids count 1 per step).
    fn step_widths(&self) -> Option<Vec<Width>> {
        let plan = self.plan;
        if plan.inputs.len() != 1 {
            return None;
        }
        let steps_decode = plan.steps.iter().all(|step| match &step.kind {
            StepKind::Layer(layer) => layer.decodes,
            StepKind::Merge { kind, .. } => {
                matches!(kind, MergeKind::Add | MergeKind::Concat(None | Some(1)))
            }
            StepKind::Bridge | StepKind::Unchecked => false,
        });
        if !steps_decode {
            return None;
        }
        let input = plan.inputs[0].node;
        plan.nodes
            .iter()
            .enumerate()
            .map(|(k, node)| match &node.shape.dims {
                Dims::Known(dims) if k == input && node.shape.tokens && dims.len() == 1 => {
                    Some(Width::known(1))
                }
                Dims::Known(dims) if dims.len() == 2 && !node.shape.tokens => Some(dims[1].clone()),
                _ => None,
            })
            .collect()
    }
}
