//! The tape of a network (`<Name>Tape<B, M>`, its buffers) and the views of its named points
//! (`<Name>Points`, `<Name>Inject`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::Generator;
use crate::ast::Network;
use crate::validate::StepKind;

impl Generator<'_> {
    pub(super) fn tape_structs(&self) -> TokenStream {
        let nn = self.nn;
        let Network { vis, name, .. } = self.network;
        let (tape, buffers) = (&self.tape, &self.buffers);
        let output = self.output_type();
        // (field, type) of every buffer.
        let mut fields: Vec<(Ident, TokenStream)> = Vec::new();
        for k in 0..self.plan.nodes.len() {
            if self.is_inner(k) {
                let ty = self.batch_type(k);
                fields.push((Self::act(k), ty.clone()));
                fields.push((Self::grad(k), ty));
            }
        }
        for (s, step) in self.plan.steps.iter().enumerate() {
            if let StepKind::Layer(layer) = &step.kind {
                let ty = &layer.ty;
                // On the layer, so a type that is not a layer is reported there.
                let span = step.span;
                fields.push((
                    Self::cache(s),
                    quote_spanned!(span=> <__M as #nn::layers::Mode>::State<#ty, __B>),
                ));
            }
            for j in 0..step.inputs.len() {
                if self.needs_split(step, j) {
                    fields.push((Self::split(s, j), self.batch_type(step.inputs[j])));
                }
            }
        }
        if self.output_is_point() {
            fields.push((format_ident!("out_grad"), output.clone()));
        }
        let inits = fields
            .iter()
            .map(|(f, _)| quote!(#f: #nn::tensor::Zeroed::zeroed(),));
        let fields = fields.iter().map(|(f, ty)| quote!(#f: #ty,));
        let count = self.plan.inputs.len();
        let input_types: Vec<TokenStream> = (0..count).map(|i| self.input_type(i)).collect();
        let input_fields: Vec<Ident> = (0..count).map(|i| self.input_fields(i).0).collect();
        let grad_fields: Vec<Ident> = (0..count).map(|i| self.input_fields(i).1).collect();
        let (input_grads, input_grad_method) = if self.several_inputs() {
            let grads = &self.input_grads;
            let names: Vec<&Ident> = self
                .plan
                .inputs
                .iter()
                .filter_map(|input| input.name.as_ref())
                .collect();
            let docs = names
                .iter()
                .map(|name| format!("The loss gradient of the input `{name}`."));
            let grads_doc = format!(
                "The loss gradients of the inputs of [`{name}`], one per input under its name: \
                 what [`{name}::backward`] returns and [`{tape}::input_grads`] gives."
            );
            (
                quote! {
                    #[doc = #grads_doc]
                    #[allow(dead_code, reason = "generated API: a program may use only part of it")]
                    #vis struct #grads<'t, const __B: usize> {
                        #(#[doc = #docs] pub #names: &'t #input_types,)*
                    }
                },
                quote! {
                    /// The gradient of every input after the last `backward` or
                    /// `backward_with`; the `backward_params` methods skip them and leave what
                    /// was there.
                    pub fn input_grads(&self) -> #grads<'_, __B> {
                        #grads { #(#names: &self.#grad_fields,)* }
                    }
                },
            )
        } else {
            let input = &input_types[0];
            (
                quote!(),
                quote! {
                    /// The input gradient of the last `backward` or `backward_with`; the
                    /// `backward_params` methods skip it and leave what was there.
                    pub fn input_grad(&self) -> &#input {
                        &self.input_grad
                    }
                },
            )
        };
        let doc = format!(
            "The tape of [`{name}`] for batches of `__B` in mode `__M`: every activation, \
             gradient and layer cache, allocated once by [`{tape}::new`] and reused by every \
             pass.\n\n`{tape}<B>` is a training tape (`{tape}<B, Train>`), for \
             [`{name}::forward_train`] and the backward passes; `{tape}<B, Eval>` is an \
             inference tape, for [`{name}::infer`]. A layer that behaves differently in \
             training (dropout, batch norm) runs in the mode of the tape it is given, so the \
             wrong mode is a type error."
        );
        let buffers_doc = format!(
            "The inner activations, gradients and caches of [`{name}`]: the working part of \
             [`{tape}`]."
        );
        quote! {
            #[doc = #buffers_doc]
            #vis struct #buffers<const __B: usize, __M: #nn::layers::Mode> {
                #(#fields)*
                __mode: ::core::marker::PhantomData<__M>,
            }

            impl<const __B: usize, __M: #nn::layers::Mode> #nn::tensor::Zeroed for #buffers<__B, __M> {
                fn zeroed() -> Self {
                    Self { #(#inits)* __mode: ::core::marker::PhantomData }
                }
            }

            #[doc = #doc]
            #vis struct #tape<const __B: usize, __M: #nn::layers::Mode = #nn::layers::Train> {
                #(#input_fields: #input_types,)*
                output: #output,
                #(#grad_fields: #input_types,)*
                buffers: #buffers<__B, __M>,
            }

            #input_grads

            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            impl<const __B: usize, __M: #nn::layers::Mode> #tape<__B, __M> {
                /// Allocates every buffer, zeroed. Make it once per batch size and reuse it.
                pub fn new() -> Self {
                    Self {
                        #(#input_fields: #nn::tensor::Zeroed::zeroed(),)*
                        output: #nn::tensor::Zeroed::zeroed(),
                        #(#grad_fields: #nn::tensor::Zeroed::zeroed(),)*
                        buffers: #nn::tensor::Zeroed::zeroed(),
                    }
                }

                /// The output of the last forward pass.
                pub fn output(&self) -> &#output {
                    &self.output
                }

                #input_grad_method
            }

            impl<const __B: usize, __M: #nn::layers::Mode> ::core::default::Default for #tape<__B, __M> {
                fn default() -> Self {
                    Self::new()
                }
            }

            impl<const __B: usize, __M: #nn::layers::Mode> #nn::tensor::Zeroed for #tape<__B, __M> {
                fn zeroed() -> Self {
                    Self::new()
                }
            }
        }
    }

    /// `<Name>Points` (the outputs, or the gradients, at the named points) and `<Name>Inject`
    /// (extra gradients to add there), plus the tape methods that fill the first.
    pub(super) fn point_structs(&self) -> TokenStream {
        let nn = self.nn;
        let Network { vis, name, .. } = self.network;
        let (tape, points, inject) = (&self.tape, &self.points, &self.inject);
        let names: Vec<&Ident> = self.plan.points.iter().map(|p| &p.name).collect();
        let types: Vec<TokenStream> = self
            .plan
            .points
            .iter()
            .map(|p| self.batch_type(p.node))
            .collect();
        let outputs = self.plan.points.iter().map(|p| {
            if p.node == self.plan.output {
                quote!(&self.output)
            } else {
                let a = Self::act(p.node);
                quote!(&self.buffers.#a)
            }
        });
        let grads = self.plan.points.iter().map(|p| {
            if p.node == self.plan.output {
                quote!(&self.buffers.out_grad)
            } else {
                let g = Self::grad(p.node);
                quote!(&self.buffers.#g)
            }
        });
        let field_docs = self.plan.points.iter().map(|p| format!("At `{}`.", p.name));
        let field_docs2 = field_docs.clone();
        let points_doc = format!(
            "One tensor per named layer of [`{name}`]: its outputs ([`{tape}::outputs`]) or the \
             loss gradients at them ([`{tape}::gradients`])."
        );
        let inject_doc = format!(
            "Extra loss gradients to add at named layers of [`{name}`] during \
             [`{name}::backward_with`]; leave a field `None` to add nothing there. A name that \
             is not a named layer is a compile error (no such field)."
        );
        quote! {
            #[doc = #points_doc]
            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            #vis struct #points<'t, const __B: usize> {
                #(#[doc = #field_docs] pub #names: &'t #types,)*
                #[doc(hidden)]
                pub __tape: ::core::marker::PhantomData<&'t ()>,
            }

            #[doc = #inject_doc]
            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            #vis struct #inject<'g, const __B: usize> {
                #(#[doc = #field_docs2] pub #names: ::core::option::Option<&'g #types>,)*
                #[doc(hidden)]
                pub __grads: ::core::marker::PhantomData<&'g ()>,
            }

            impl<const __B: usize> ::core::default::Default for #inject<'_, __B> {
                fn default() -> Self {
                    Self {
                        #(#names: ::core::option::Option::None,)*
                        __grads: ::core::marker::PhantomData,
                    }
                }
            }

            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            impl<const __B: usize, __M: #nn::layers::Mode> #tape<__B, __M> {
                /// The output of every named layer after the last forward pass.
                pub fn outputs(&self) -> #points<'_, __B> {
                    #points { #(#names: #outputs,)* __tape: ::core::marker::PhantomData }
                }

                /// The loss gradient at every named layer's output after the last backward
                /// pass, injected gradients included.
                pub fn gradients(&self) -> #points<'_, __B> {
                    #points { #(#names: #grads,)* __tape: ::core::marker::PhantomData }
                }
            }
        }
    }
}
