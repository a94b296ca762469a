//! The bodies of the generated passes: `__forward_eval`, `__forward_train` (every step, first
//! to last) and `__backward` (last to first).

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};

use super::{Generator, Pass, respan};
use crate::ast::MergeKind;
use crate::validate::StepKind;

impl Generator<'_> {
    /// The core path with every token on `span`, so that an error inside a call it starts
    /// points at the user's layer.
    fn nn_at(&self, span: Span) -> TokenStream {
        respan_tokens(self.nn.clone(), span)
    }

    /// The body of a forward pass: every step, first to last; with `fake_quant`, each
    /// fake-quantization point is fake-quantized (`fake.observe` in training, `fake.apply` at
    /// inference) right after the step that writes it.
    pub(super) fn forward_body(&self, pass: Pass, fake_quant: bool) -> TokenStream {
        let nn = self.nn;
        self.plan
            .steps
            .iter()
            .enumerate()
            .map(|(s, step)| {
                let step_code = self.forward_step(pass, s, step);
                let point = self
                    .fake_quant
                    .as_ref()
                    .filter(|_| fake_quant)
                    .and_then(|points| points[s]);
                let Some(k) = point else { return step_code };
                let out = self.write(step.output, step.span);
                let hook = match pass {
                    Pass::Train => {
                        quote!(fake.observe(#k, #nn::tensor::Tensor::as_mut_slice(#out));)
                    }
                    Pass::Eval => quote!(fake.apply(#k, #nn::tensor::Tensor::as_mut_slice(#out));),
                };
                quote!(#step_code #hook)
            })
            .collect()
    }

    /// One step of a forward pass.
    fn forward_step(&self, pass: Pass, s: usize, step: &crate::validate::Step) -> TokenStream {
        let nn = self.nn;
        {
            {
                let out = self.write(step.output, step.span);
                let span = step.span;
                match &step.kind {
                    StepKind::Layer(layer) => {
                        let (ty, field) = (&layer.ty, &layer.field);
                        let cache = respan(Self::cache(s), span);
                        let x = self.read(step.inputs[0], span);
                        let nn = self.nn_at(span);
                        match pass {
                            Pass::Eval => quote_spanned!(span=>
                                #nn::layers::run_forward::<#ty, __B>(&self.#field, #x, #out, &mut t.#cache);
                            ),
                            Pass::Train => quote_spanned!(span=>
                                #nn::layers::run_forward_train::<#ty, __B>(&mut self.#field, #x, #out, &mut t.#cache);
                            ),
                        }
                    }
                    StepKind::Merge { kind, outer, .. } => {
                        let parts = step.inputs.iter().map(|&k| {
                            let r = self.read(k, span);
                            quote!(#nn::tensor::Tensor::as_slice(#r))
                        });
                        let out = quote!(#nn::tensor::Tensor::as_mut_slice(#out));
                        match kind {
                            MergeKind::Add => {
                                quote_spanned!(span=> #nn::ops::sum_into(&[#(#parts),*], #out);)
                            }
                            _ => quote_spanned!(span=>
                                #nn::ops::concat_chunks(__B * #outer, &[#(#parts),*], #out);
                            ),
                        }
                    }
                    StepKind::Bridge => {
                        let x = self.read(step.inputs[0], span);
                        quote_spanned!(span=>
                            #nn::tensor::Tensor::as_mut_slice(#out).copy_from_slice(#nn::tensor::Tensor::as_slice(#x));
                        )
                    }
                    StepKind::Unchecked => {
                        // Never runs (the network's error stops the build): only reads its
                        // inputs, so that they do not look unused.
                        let reads = step.inputs.iter().map(|&k| self.read(k, span));
                        quote!(let _ = (#(#reads,)* #out);)
                    }
                }
            }
        }
    }

    /// The body of `__backward`: every step, last to first, summing the gradients of nodes
    /// that feed several steps and adding injected gradients before a node's producer runs.
    pub(super) fn backward_body(&self, fake_quant: bool) -> TokenStream {
        let nn = self.nn;
        let mut code = Vec::new();
        let hooks = self.fake_quant.as_ref().filter(|_| fake_quant);
        let point_at = |node: usize| {
            self.plan
                .points
                .iter()
                .find(|p| p.node == node)
                .map(|p| &p.name)
        };
        if let Some(name) = point_at(self.plan.output) {
            code.push(quote! {
                #nn::tensor::Tensor::copy_from(&mut t.out_grad, dy);
                if let ::core::option::Option::Some(extra) = inject.#name {
                    #nn::ops::accumulate(#nn::tensor::Tensor::as_mut_slice(&mut t.out_grad), #nn::tensor::Tensor::as_slice(extra));
                }
            });
        }
        // Nodes whose gradient has been started (copied) by a later step, in backward order.
        let mut started: HashSet<usize> = HashSet::new();
        for (s, step) in self.plan.steps.iter().enumerate().rev() {
            let span = step.span;
            if step.output != self.plan.output
                && let Some(name) = point_at(step.output)
            {
                let g = Self::grad(step.output);
                code.push(quote! {
                    if let ::core::option::Option::Some(extra) = inject.#name {
                        #nn::ops::accumulate(#nn::tensor::Tensor::as_mut_slice(&mut t.#g), #nn::tensor::Tensor::as_slice(extra));
                    }
                });
            }
            // The straight-through gradient of a fake-quantized inner node: stopped where its
            // value was clamped. (The output's gradient is the caller's, and passes as it is.)
            if let Some(k) = hooks.and_then(|points| points[s])
                && self.is_inner(step.output)
            {
                let (a, g) = (Self::act(step.output), Self::grad(step.output));
                code.push(quote! {
                    fake.mask(#k, #nn::tensor::Tensor::as_slice(&t.#a), #nn::tensor::Tensor::as_mut_slice(&mut t.#g));
                });
            }
            let dy = self.grad_of(step.output, span);
            let mut sums = Vec::new();
            let targets: Vec<TokenStream> = (0..step.inputs.len())
                .map(|j| {
                    let node = step.inputs[j];
                    if self.needs_split(step, j) {
                        let split = respan(Self::split(s, j), span);
                        let first = started.insert(node);
                        sums.push(self.sum_into_grad(node, &quote!(&t.#split), first));
                        quote_spanned!(span=> &mut t.#split)
                    } else if let Some(i) = self.input_index(node) {
                        // The only reader of the input gradient: take it as it is.
                        let dx = respan(self.input_grad_var(i), span);
                        quote!(#dx)
                    } else {
                        let g = respan(Self::grad(node), span);
                        quote_spanned!(span=> &mut t.#g)
                    }
                })
                .collect();
            match &step.kind {
                StepKind::Layer(layer) => {
                    let (ty, field) = (&layer.ty, &layer.field);
                    let cache = respan(Self::cache(s), span);
                    let x = self.read(step.inputs[0], span);
                    let y = self.read(step.output, span);
                    let dx = &targets[0];
                    let reads_input = self.input_index(step.inputs[0]).is_some();
                    let call = if reads_input && !self.needs_split(step, 0) {
                        quote_spanned!(span=>
                            <#ty as #nn::layers::Layer>::backward(&mut self.#field, #x, #y, &mut t.#cache, #dy, #dx);
                        )
                    } else {
                        let nn = self.nn_at(span);
                        quote_spanned!(span=>
                            #nn::layers::run_backward::<#ty, __B>(&mut self.#field, #x, #y, &mut t.#cache, #dy, #dx);
                        )
                    };
                    code.push(call);
                }
                StepKind::Merge {
                    kind: MergeKind::Add,
                    ..
                }
                | StepKind::Bridge => {
                    for target in &targets {
                        code.push(quote_spanned!(span=>
                            #nn::tensor::Tensor::as_mut_slice(#target).copy_from_slice(#nn::tensor::Tensor::as_slice(#dy));
                        ));
                    }
                }
                StepKind::Unchecked => {
                    code.push(quote!(let _ = (#dy, #(#targets),*);));
                }
                StepKind::Merge { outer, .. } => {
                    let slices = targets
                        .iter()
                        .map(|t| quote!(#nn::tensor::Tensor::as_mut_slice(#t)));
                    code.push(quote_spanned!(span=>
                        #nn::ops::split_chunks(__B * #outer, #nn::tensor::Tensor::as_slice(#dy), &mut [#(#slices),*]);
                    ));
                }
            }
            code.extend(sums);
        }
        quote!(#(#code)*)
    }

    /// Copies (`first`) or adds a scratch gradient into the gradient of `node`.
    fn sum_into_grad(&self, node: usize, scratch: &TokenStream, first: bool) -> TokenStream {
        let nn = self.nn;
        let input = self.input_index(node).map(|i| self.input_grad_var(i));
        let target = match &input {
            Some(dx) => quote!(&mut **#dx),
            None => {
                let g = Self::grad(node);
                quote!(&mut t.#g)
            }
        };
        let apply = if first {
            quote!(#nn::tensor::Tensor::copy_from(target, #scratch);)
        } else {
            quote!(#nn::ops::accumulate(#nn::tensor::Tensor::as_mut_slice(target), #nn::tensor::Tensor::as_slice(#scratch));)
        };
        if let Some(dx) = input {
            quote! {
                if let ::core::option::Option::Some(#dx) = &mut #dx {
                    let target = #target;
                    #apply
                }
            }
        } else {
            quote! {
                {
                    let target = #target;
                    #apply
                }
            }
        }
    }

    /// One `HasParams::<method>(&mut self.field, path.child(..), visitor)` per layer:
    /// `visit_params` or `visit_buffers`.
    pub(super) fn visits(&self, method: &str) -> TokenStream {
        let nn = self.nn;
        let method = proc_macro2::Ident::new(method, Span::call_site());
        self.plan
            .layer_steps()
            .map(|(_, layer)| {
                let field = &layer.field;
                let segments = &layer.path;
                quote!(#nn::param::HasParams::#method(&mut self.#field, &path #(.child(#segments))*, visitor);)
            })
            .collect()
    }
}

/// `tokens` with every token, in groups too, on `span`.
fn respan_tokens(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan_tokens(group.stream(), span));
                inner.set_span(span);
                tree = TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}
