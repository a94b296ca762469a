//! Code generation: the network struct, its tape, its named points, and their impls. Codegen
//! only: every decision about shapes was made in `validate`, which hands over a graph of buffers
//! and steps.
//!
//! Generated code names the core through `::nn::__private`, a path the facade guarantees, and
//! uses `quote_spanned!` with the layer's span so that a type error lands on the user's layer.
//! Every layer is called from exactly two generated functions (`__forward` and `__backward`),
//! so a type error at a layer boundary is reported at most twice.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{MergeKind, Network, Networks};
use crate::validate::{Plan, Step, StepKind, validate};

/// Expands every declaration of one `network!` call.
pub fn network(networks: Networks) -> TokenStream {
    networks.networks.iter().map(expand_one).collect()
}

fn expand_one(network: &Network) -> TokenStream {
    let (plan, error) = validate(network);
    let error = error.map(syn::Error::into_compile_error);
    match plan {
        Some(plan) => {
            let code = Generator::new(network, &plan).generate();
            quote!(#error #code)
        }
        None => {
            // Still declare the struct, so that one mistake does not cascade into "cannot find
            // type" errors at every use.
            let Network {
                attrs, vis, name, ..
            } = network;
            quote! {
                #(#attrs)*
                #vis struct #name {}
                #error
            }
        }
    }
}

struct Generator<'a> {
    network: &'a Network,
    plan: &'a Plan,
    nn: TokenStream,
    tape: Ident,
    buffers: Ident,
    points: Ident,
    inject: Ident,
}

impl<'a> Generator<'a> {
    fn new(network: &'a Network, plan: &'a Plan) -> Self {
        let name = &network.name;
        Self {
            network,
            plan,
            nn: quote!(::nn::__private),
            tape: format_ident!("{}Tape", name),
            buffers: format_ident!("{}Buffers", name),
            points: format_ident!("{}Points", name),
            inject: format_ident!("{}Inject", name),
        }
    }

    fn act(k: usize) -> Ident {
        format_ident!("act_{}", k)
    }
    fn grad(k: usize) -> Ident {
        format_ident!("grad_{}", k)
    }
    fn cache(s: usize) -> Ident {
        format_ident!("cache_{}", s)
    }
    /// Where step `s` writes the gradient of its `j`-th input before it is summed.
    fn split(s: usize, j: usize) -> Ident {
        format_ident!("split_{}_{}", s, j)
    }

    fn batch_type(&self, node: usize) -> TokenStream {
        self.plan.nodes[node].shape.batch_type(&self.nn)
    }
    fn input_type(&self) -> TokenStream {
        self.batch_type(0)
    }
    fn output_type(&self) -> TokenStream {
        self.batch_type(self.plan.output)
    }
    fn is_inner(&self, node: usize) -> bool {
        node != 0 && node != self.plan.output
    }
    fn output_is_point(&self) -> bool {
        self.plan.points.iter().any(|p| p.node == self.plan.output)
    }
    /// Whether the `j`-th input of step `s` sends its gradient through a scratch buffer: when
    /// its node feeds several steps (the gradients are summed) or it is the network input
    /// read by a merge (whose gradient is optional).
    fn needs_split(&self, step: &Step, j: usize) -> bool {
        let node = step.inputs[j];
        self.plan.nodes[node].consumers > 1
            || (node == 0 && matches!(step.kind, StepKind::Merge { .. }))
    }

    /// A node read in `__forward` / `__backward`, spanned on the step that reads it so that a
    /// type error lands on the user's layer.
    fn read(&self, node: usize, span: Span) -> TokenStream {
        if node == 0 {
            quote_spanned!(span=> x)
        } else if node == self.plan.output {
            quote_spanned!(span=> &*y)
        } else {
            let a = respan(Self::act(node), span);
            quote_spanned!(span=> &t.#a)
        }
    }

    /// A node written in `__forward`.
    fn write(&self, node: usize, span: Span) -> TokenStream {
        if node == self.plan.output {
            quote_spanned!(span=> &mut *y)
        } else {
            let a = respan(Self::act(node), span);
            quote_spanned!(span=> &mut t.#a)
        }
    }

    /// The gradient of a node that is a step's output, in `__backward`.
    fn grad_of(&self, node: usize, span: Span) -> TokenStream {
        if node == self.plan.output {
            if self.output_is_point() {
                quote_spanned!(span=> &t.out_grad)
            } else {
                quote_spanned!(span=> dy)
            }
        } else {
            let g = respan(Self::grad(node), span);
            quote_spanned!(span=> &t.#g)
        }
    }

    fn generate(&self) -> TokenStream {
        let checks = self.const_checks();
        let network_struct = self.network_struct();
        let tape = self.tape_structs();
        let points = self.point_structs();
        let inherent = self.inherent_impl();
        let traits = self.trait_impls();
        quote! {
            #checks
            #network_struct
            #tape
            #points
            #inherent
            #traits
        }
    }

    fn const_checks(&self) -> TokenStream {
        self.plan
            .checks
            .iter()
            .map(|check| {
                let condition = &check.condition;
                // The message is a format string: escape the braces of `{ 2 * H }` sizes.
                let message = check.message.replace('{', "{{").replace('}', "}}");
                quote_spanned!(check.span=> const _: () = ::core::assert!(#condition, #message);)
            })
            .collect()
    }

    fn network_struct(&self) -> TokenStream {
        let Network {
            attrs, vis, name, ..
        } = self.network;
        let default_doc = if attrs.iter().any(|a| a.path().is_ident("doc")) {
            quote!()
        } else {
            let doc = format!("The network `{name}`, generated by `network!`.");
            quote!(#[doc = #doc])
        };
        let fields = self.plan.layer_steps().map(|(_, layer)| {
            let (field, ty) = (&layer.field, &layer.ty);
            let doc = format!(
                "`{}`; its parameters are named `{}.*`.",
                layer.text,
                layer.path.join(".")
            );
            quote!(#[doc = #doc] pub #field: #ty,)
        });
        quote! {
            #(#attrs)*
            #default_doc
            #[derive(Clone, Debug)]
            #vis struct #name {
                #(#fields)*
            }
        }
    }

    fn tape_structs(&self) -> TokenStream {
        let nn = &self.nn;
        let Network { vis, name, .. } = self.network;
        let (tape, buffers) = (&self.tape, &self.buffers);
        let (input, output) = (self.input_type(), self.output_type());
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
                fields.push((
                    Self::cache(s),
                    quote!(<#ty as #nn::layers::Layer>::Cache<B>),
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
        let doc = format!(
            "The training tape of [`{name}`] for batches of `B`: every activation, gradient and \
             cache, allocated once by [`{tape}::new`] and reused by every step."
        );
        let buffers_doc = format!(
            "The inner activations, gradients and caches of [`{name}`]: the working part of \
             [`{tape}`]."
        );
        quote! {
            #[doc = #buffers_doc]
            #vis struct #buffers<const B: usize> {
                #(#fields)*
            }

            impl<const B: usize> #nn::tensor::Zeroed for #buffers<B> {
                fn zeroed() -> Self {
                    Self { #(#inits)* }
                }
            }

            #[doc = #doc]
            #vis struct #tape<const B: usize> {
                input: #input,
                output: #output,
                input_grad: #input,
                buffers: #buffers<B>,
            }

            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            impl<const B: usize> #tape<B> {
                /// Allocates every buffer, zeroed. Make it once per batch size and reuse it.
                pub fn new() -> Self {
                    Self {
                        input: #nn::tensor::Zeroed::zeroed(),
                        output: #nn::tensor::Zeroed::zeroed(),
                        input_grad: #nn::tensor::Zeroed::zeroed(),
                        buffers: #nn::tensor::Zeroed::zeroed(),
                    }
                }

                /// The output of the last forward pass.
                pub fn output(&self) -> &#output {
                    &self.output
                }

                /// The input gradient of the last `backward` or `backward_with`; the `backward_params`
                /// methods skip it and leave what was there.
                pub fn input_grad(&self) -> &#input {
                    &self.input_grad
                }
            }

            impl<const B: usize> ::core::default::Default for #tape<B> {
                fn default() -> Self {
                    Self::new()
                }
            }

            impl<const B: usize> #nn::tensor::Zeroed for #tape<B> {
                fn zeroed() -> Self {
                    Self::new()
                }
            }
        }
    }

    /// `<Name>Points` (the outputs, or the gradients, at the named points) and `<Name>Inject`
    /// (extra gradients to add there), plus the tape methods that fill the first.
    fn point_structs(&self) -> TokenStream {
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
            #vis struct #points<'t, const B: usize> {
                #(#[doc = #field_docs] pub #names: &'t #types,)*
                #[doc(hidden)]
                pub __tape: ::core::marker::PhantomData<&'t ()>,
            }

            #[doc = #inject_doc]
            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            #vis struct #inject<'g, const B: usize> {
                #(#[doc = #field_docs2] pub #names: ::core::option::Option<&'g #types>,)*
                #[doc(hidden)]
                pub __grads: ::core::marker::PhantomData<&'g ()>,
            }

            impl<const B: usize> ::core::default::Default for #inject<'_, B> {
                fn default() -> Self {
                    Self {
                        #(#names: ::core::option::Option::None,)*
                        __grads: ::core::marker::PhantomData,
                    }
                }
            }

            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            impl<const B: usize> #tape<B> {
                /// The output of every named layer after the last forward pass.
                pub fn outputs(&self) -> #points<'_, B> {
                    #points { #(#names: #outputs,)* __tape: ::core::marker::PhantomData }
                }

                /// The loss gradient at every named layer's output after the last backward pass,
                /// injected gradients included.
                pub fn gradients(&self) -> #points<'_, B> {
                    #points { #(#names: #grads,)* __tape: ::core::marker::PhantomData }
                }
            }
        }
    }

    /// The body of `__forward`: every step, first to last.
    fn forward_body(&self) -> TokenStream {
        let nn = &self.nn;
        self.plan
            .steps
            .iter()
            .enumerate()
            .map(|(s, step)| {
                let out = self.write(step.output, step.span);
                match &step.kind {
                    StepKind::Layer(layer) => {
                        let (ty, field) = (&layer.ty, &layer.field);
                    let cache = respan(Self::cache(s), step.span);
                        let x = self.read(step.inputs[0], step.span);
                        let nn = quote_spanned!(step.span=> ::nn::__private);
                        quote_spanned!(step.span=>
                            #nn::layers::run_forward::<#ty, B>(&self.#field, #x, #out, &mut t.#cache, train);
                        )
                    }
                    StepKind::Merge { kind, outer } => {
                        let parts = step.inputs.iter().map(|&k| {
                            let r = self.read(k, step.span);
                            quote!(#nn::tensor::Tensor::as_slice(#r))
                        });
                        let out = quote!(#nn::tensor::Tensor::as_mut_slice(#out));
                        match kind {
                            MergeKind::Add => quote_spanned!(step.span=> #nn::ops::sum_into(&[#(#parts),*], #out);),
                            _ => quote_spanned!(step.span=> #nn::ops::concat_chunks(B * #outer, &[#(#parts),*], #out);),
                        }
                    }
                }
            })
            .collect()
    }

    /// The body of `__backward`: every step, last to first, summing the gradients of nodes
    /// that feed several steps and adding injected gradients before a node's producer runs.
    fn backward_body(&self) -> TokenStream {
        let nn = &self.nn;
        let mut code = Vec::new();
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
            let dy = self.grad_of(step.output, step.span);
            let mut sums = Vec::new();
            let targets: Vec<TokenStream> = (0..step.inputs.len())
                .map(|j| {
                    let node = step.inputs[j];
                    if self.needs_split(step, j) {
                        let split = respan(Self::split(s, j), step.span);
                        let first = started.insert(node);
                        sums.push(self.sum_into_grad(node, &quote!(&t.#split), first));
                        quote_spanned!(step.span=> &mut t.#split)
                    } else if node == 0 {
                        // The only reader of the input gradient: take it as it is.
                        quote_spanned!(step.span=> dx)
                    } else {
                        let g = respan(Self::grad(node), step.span);
                        quote_spanned!(step.span=> &mut t.#g)
                    }
                })
                .collect();
            match &step.kind {
                StepKind::Layer(layer) => {
                    let (ty, field) = (&layer.ty, &layer.field);
                    let cache = respan(Self::cache(s), step.span);
                    let x = self.read(step.inputs[0], step.span);
                    let y = self.read(step.output, step.span);
                    let call = if step.inputs[0] == 0 && !self.needs_split(step, 0) {
                        let dx = &targets[0];
                        quote_spanned!(step.span=>
                            <#ty as #nn::layers::Layer>::backward(&mut self.#field, #x, #y, &mut t.#cache, #dy, #dx);
                        )
                    } else {
                        let dx = &targets[0];
                        let nn = quote_spanned!(step.span=> ::nn::__private);
                        quote_spanned!(step.span=>
                            #nn::layers::run_backward::<#ty, B>(&mut self.#field, #x, #y, &mut t.#cache, #dy, #dx);
                        )
                    };
                    code.push(call);
                }
                StepKind::Merge { kind, outer } => {
                    let slices = targets
                        .iter()
                        .map(|t| quote!(#nn::tensor::Tensor::as_mut_slice(#t)));
                    match kind {
                        MergeKind::Add => {
                            for target in slices {
                                code.push(quote_spanned!(step.span=>
                                    #target.copy_from_slice(#nn::tensor::Tensor::as_slice(#dy));
                                ));
                            }
                        }
                        _ => code.push(quote_spanned!(step.span=>
                            #nn::ops::split_chunks(B * #outer, #nn::tensor::Tensor::as_slice(#dy), &mut [#(#slices),*]);
                        )),
                    }
                }
            }
            code.extend(sums);
        }
        quote!(#(#code)*)
    }

    /// Copies (`first`) or adds a scratch gradient into the gradient of `node`.
    fn sum_into_grad(&self, node: usize, scratch: &TokenStream, first: bool) -> TokenStream {
        let nn = &self.nn;
        let target = if node == 0 {
            quote!(&mut **dx)
        } else {
            let g = Self::grad(node);
            quote!(&mut t.#g)
        };
        let apply = if first {
            quote!(#nn::tensor::Tensor::copy_from(target, #scratch);)
        } else {
            quote!(#nn::ops::accumulate(#nn::tensor::Tensor::as_mut_slice(target), #nn::tensor::Tensor::as_slice(#scratch));)
        };
        if node == 0 {
            quote! {
                if let ::core::option::Option::Some(dx) = &mut dx {
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

    fn param_visits(&self) -> TokenStream {
        let nn = &self.nn;
        self.plan
            .layer_steps()
            .map(|(_, layer)| {
                let field = &layer.field;
                let segments = &layer.path;
                quote!(#nn::param::HasParams::visit_params(&mut self.#field, &path #(.child(#segments))*, visitor);)
            })
            .collect()
    }

    fn inherent_impl(&self) -> TokenStream {
        let nn = &self.nn;
        let name = &self.network.name;
        let (tape, buffers, inject) = (&self.tape, &self.buffers, &self.inject);
        let (input, output) = (self.input_type(), self.output_type());
        let in_len = self.plan.nodes[0].shape.len_value(nn);
        let out_len = self.plan.nodes[self.plan.output].shape.len_value(nn);
        let inits = self.plan.layer_steps().map(|(_, layer)| {
            let (field, init) = (&layer.field, &layer.init);
            quote!(#field: #init,)
        });
        let param_counts = self
            .plan
            .layer_steps()
            .filter_map(|(_, l)| l.param_count.as_ref());
        let layer_names = self.plan.layer_steps().map(|(_, l)| l.field.to_string());
        let forward_body = self.forward_body();
        let backward_body = self.backward_body();
        let span = Span::call_site();

        quote_spanned! {span=>
            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            impl #name {
                /// Input elements per sample.
                pub const INPUTS: usize = #in_len;
                /// Output elements per sample.
                pub const OUTPUTS: usize = #out_len;
                /// The number of scalar parameters.
                pub const PARAM_COUNT: usize = 0 #(+ #param_counts)*;
                /// The layer fields, in order; parameters are named `<layer>.weight`,
                /// `<layer>.bias`, with branch layers under `<branch>.<index>`.
                pub const LAYER_NAMES: &'static [&'static str] = &[#(#layer_names),*];

                /// A network initialised from `rng`: Glorot-uniform weights and zero biases.
                pub fn new(rng: &mut #nn::init::Rng) -> Self {
                    Self { #(#inits)* }
                }

                /// A network initialised from a seed; the same seed gives the same weights.
                pub fn seeded(seed: u64) -> Self {
                    Self::new(&mut #nn::init::seeded(seed))
                }

                /// Inference on a batch, returning a new tensor. Allocates a tape on every call;
                /// use [`Self::infer`] with a reused tape in a loop.
                pub fn forward<const B: usize>(&self, x: &#input) -> #output {
                    let mut tape = #tape::<B>::new();
                    self.infer(x, &mut tape);
                    tape.output
                }

                /// Inference on a batch, using `tape` as working space (no allocation).
                pub fn infer<'t, const B: usize>(&self, x: &#input, tape: &'t mut #tape<B>) -> &'t #output {
                    self.__forward(x, &mut tape.output, &mut tape.buffers, false);
                    &tape.output
                }

                /// Training forward: records the input and every activation on `tape` for
                /// [`Self::backward`], and returns the output (no allocation).
                pub fn forward_train<'t, const B: usize>(&self, x: &#input, tape: &'t mut #tape<B>) -> &'t #output {
                    #nn::tensor::Tensor::copy_from(&mut tape.input, x);
                    self.__forward(&tape.input, &mut tape.output, &mut tape.buffers, true);
                    &tape.output
                }

                /// Backward from `dy`, the loss gradient of the output of the last
                /// [`Self::forward_train`] on `tape`: adds every parameter gradient to the
                /// accumulated ones and returns the input gradient.
                pub fn backward<'t, const B: usize>(&mut self, tape: &'t mut #tape<B>, dy: &#output) -> &'t #input {
                    self.backward_with(tape, dy, &::core::default::Default::default())
                }

                /// Like [`Self::backward`], and also adds each gradient in `extra` to the loss
                /// gradient at that named layer's output before backpropagating through it, as
                /// for a second loss term on an intermediate output (a VAE's KL term).
                pub fn backward_with<'t, const B: usize>(&mut self, tape: &'t mut #tape<B>, dy: &#output, extra: &#inject<'_, B>) -> &'t #input {
                    self.__backward(&tape.input, &tape.output, &mut tape.buffers, dy, ::core::option::Option::Some(&mut tape.input_grad), extra);
                    &tape.input_grad
                }

                /// Like [`Self::backward`], but skips the input gradient, which training does
                /// not need.
                pub fn backward_params<const B: usize>(&mut self, tape: &mut #tape<B>, dy: &#output) {
                    self.backward_params_with(tape, dy, &::core::default::Default::default());
                }

                /// [`Self::backward_with`] without the input gradient: parameter gradients
                /// only, with the gradients in `extra` added at their named layers.
                pub fn backward_params_with<const B: usize>(&mut self, tape: &mut #tape<B>, dy: &#output, extra: &#inject<'_, B>) {
                    self.__backward(&tape.input, &tape.output, &mut tape.buffers, dy, ::core::option::Option::None, extra);
                }

                /// Sets every parameter gradient to zero.
                pub fn zero_grad(&mut self) {
                    #nn::param::HasParams::zero_grad(self);
                }

                #[doc(hidden)]
                pub fn __forward<const B: usize>(&self, x: &#input, y: &mut #output, t: &mut #buffers<B>, train: bool) {
                    #forward_body
                }

                #[doc(hidden)]
                pub fn __backward<const B: usize>(
                    &mut self,
                    x: &#input,
                    y: &#output,
                    t: &mut #buffers<B>,
                    dy: &#output,
                    mut dx: ::core::option::Option<&mut #input>,
                    inject: &#inject<'_, B>,
                ) {
                    // Networks without named points or a forked input use neither; this keeps
                    // them free of unused-variable and needless-`mut` warnings.
                    let _ = (&mut dx, inject);
                    #backward_body
                }
            }
        }
    }

    fn trait_impls(&self) -> TokenStream {
        let nn = &self.nn;
        let name = &self.network.name;
        let tape = &self.tape;
        let (input, output) = (self.input_type(), self.output_type());
        let visits = self.param_visits();
        quote! {
            impl #nn::param::HasParams for #name {
                fn visit_params<V: #nn::param::ParamVisitor>(&mut self, path: &#nn::param::ParamPath<'_>, visitor: &mut V) {
                    #visits
                }

                fn param_count(&mut self) -> usize {
                    Self::PARAM_COUNT
                }
            }

            impl #nn::layers::Layer for #name {
                type Input<const B: usize> = #input;
                type Output<const B: usize> = #output;
                // The whole tape, so a nested network's named points stay readable; only its
                // buffers are used here.
                type Cache<const B: usize> = #tape<B>;

                fn forward<const B: usize>(&self, x: &#input, y: &mut #output, scratch: &mut #tape<B>) {
                    self.__forward(x, y, &mut scratch.buffers, false);
                }

                fn forward_train<const B: usize>(&self, x: &#input, y: &mut #output, cache: &mut #tape<B>) {
                    self.__forward(x, y, &mut cache.buffers, true);
                }

                fn backward<const B: usize>(
                    &mut self,
                    x: &#input,
                    y: &#output,
                    cache: &mut #tape<B>,
                    dy: &#output,
                    dx: ::core::option::Option<&mut #input>,
                ) {
                    self.__backward(x, y, &mut cache.buffers, dy, dx, &::core::default::Default::default());
                }
            }

            impl #nn::layers::Composable for #name {
                const PARAM_COUNT: usize = #name::PARAM_COUNT;
                fn build(rng: &mut #nn::init::Rng) -> Self {
                    Self::new(rng)
                }
            }
        }
    }
}

/// `ident` with `span`: a generated field name inside an expression spanned on a user's layer
/// must carry that span too, or the compiler cannot point the expression at the layer.
fn respan(mut ident: Ident, span: Span) -> Ident {
    ident.set_span(span);
    ident
}
