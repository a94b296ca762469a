//! Code generation: the network struct, its tape, and their impls. Codegen only: every decision
//! about shapes was made in `validate`.
//!
//! Generated code names the core through `::nn::__private`, a path the facade guarantees, and
//! uses `quote_spanned!` with the layer's span so that a type error lands on the user's layer.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{Layer, LayerKind, Network, Networks};
use crate::validate::{Plan, validate};

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
}

/// Which direction and mode a chain of layer calls runs in.
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Infer,
    Train,
}

impl<'a> Generator<'a> {
    fn new(network: &'a Network, plan: &'a Plan) -> Self {
        let tape = format_ident!("{}Tape", network.name);
        Self {
            network,
            plan,
            nn: quote!(::nn::__private),
            tape,
        }
    }

    fn layers(&self) -> &[Layer] {
        &self.network.layers
    }

    /// The struct field of layer `i`.
    fn field(&self, i: usize) -> &Ident {
        &self.plan.fields[i]
    }

    fn last(&self) -> usize {
        self.layers().len() - 1
    }

    /// The Rust type of layer `i`.
    fn layer_type(&self, i: usize) -> TokenStream {
        let nn = &self.nn;
        let layer = &self.layers()[i];
        let width = &self.plan.shapes[i].input.tokens;
        let features = quote!(#nn::layers::Features<#width>);
        let span = layer.span();
        match &layer.kind {
            LayerKind::Dense { output, .. } => {
                // The input is the width the previous layer gives. When the two are named
                // constants, `validate` emitted a const assert that they are equal, so this
                // only differs from the declared input in a program that does not compile,
                // and there the assert is the one error the user sees.
                let output = output.as_const_arg();
                quote_spanned!(span=> #nn::layers::Dense<#width, #output>)
            }
            LayerKind::Relu => quote_spanned!(span=> #nn::layers::Relu<#features>),
            LayerKind::LeakyRelu { .. } => quote_spanned!(span=> #nn::layers::LeakyRelu<#features>),
            LayerKind::Sigmoid => quote_spanned!(span=> #nn::layers::Sigmoid<#features>),
            LayerKind::Tanh => quote_spanned!(span=> #nn::layers::Tanh<#features>),
            LayerKind::Softmax => quote_spanned!(span=> #nn::layers::Softmax<#width>),
            LayerKind::Invalid => quote!(()),
        }
    }

    /// The expression that builds layer `i` from `rng`.
    fn layer_init(&self, i: usize) -> TokenStream {
        let ty = self.layer_type(i);
        let layer = &self.layers()[i];
        match &layer.kind {
            LayerKind::Dense { .. } => quote!(<#ty>::new(rng)),
            LayerKind::LeakyRelu { alpha: Some(alpha) } => quote!(<#ty>::new(#alpha)),
            _ => quote!(<#ty as ::core::default::Default>::default()),
        }
    }

    fn batch_tensor(&self, width: &TokenStream) -> TokenStream {
        let nn = &self.nn;
        quote!(#nn::tensor::Tensor2<B, #width>)
    }

    fn input_width(&self) -> &TokenStream {
        &self.plan.shapes[0].input.tokens
    }

    fn output_width(&self) -> &TokenStream {
        &self.plan.shapes[self.last()].output.tokens
    }

    fn input_value(&self) -> &TokenStream {
        &self.plan.shapes[0].input.value_tokens
    }

    fn output_value(&self) -> &TokenStream {
        &self.plan.shapes[self.last()].output.value_tokens
    }

    fn act(k: usize) -> Ident {
        format_ident!("act_{}", k)
    }
    fn grad(k: usize) -> Ident {
        format_ident!("grad_{}", k)
    }
    fn cache(i: usize) -> Ident {
        format_ident!("cache_{}", i)
    }

    fn generate(&self) -> TokenStream {
        let checks = self.const_checks();
        let network_struct = self.network_struct();
        let tape = self.tape_struct();
        let inherent = self.inherent_impl();
        let traits = self.trait_impls();
        quote! {
            #checks
            #network_struct
            #tape
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
        let fields = (0..self.layers().len()).map(|i| {
            let layer = &self.layers()[i];
            let field = self.field(i);
            let ty = self.layer_type(i);
            let doc = format!("Layer {i}: `{}`.", layer.text());
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

    fn tape_struct(&self) -> TokenStream {
        let nn = &self.nn;
        let Network { vis, name, .. } = self.network;
        let tape = &self.tape;
        let input = self.batch_tensor(self.input_width());
        let output = self.batch_tensor(self.output_width());
        let mut fields = Vec::new();
        let mut inits = Vec::new();
        for k in 1..=self.last() {
            let (act, grad) = (Self::act(k), Self::grad(k));
            let ty = self.batch_tensor(&self.plan.shapes[k].input.tokens);
            fields.push(quote!(#act: #ty, #grad: #ty,));
            inits.push(
                quote!(#act: #nn::tensor::Zeroed::zeroed(), #grad: #nn::tensor::Zeroed::zeroed(),),
            );
        }
        for i in 0..self.layers().len() {
            let cache = Self::cache(i);
            let ty = self.layer_type(i);
            fields.push(quote!(#cache: <#ty as #nn::layers::Layer>::Cache<B>,));
            inits.push(quote!(#cache: #nn::tensor::Zeroed::zeroed(),));
        }
        let doc = format!(
            "The training tape of [`{name}`] for batches of `B`: every layer's activations, \
             gradients and caches, allocated once by [`{tape}::new`] and reused by every step."
        );
        quote! {
            #[doc = #doc]
            #vis struct #tape<const B: usize> {
                input: #input,
                output: #output,
                input_grad: #input,
                #(#fields)*
            }

            impl<const B: usize> #tape<B> {
                /// Allocates every buffer, zeroed. Make it once per batch size and reuse it.
                pub fn new() -> Self {
                    Self {
                        input: #nn::tensor::Zeroed::zeroed(),
                        output: #nn::tensor::Zeroed::zeroed(),
                        input_grad: #nn::tensor::Zeroed::zeroed(),
                        #(#inits)*
                    }
                }

                /// The output of the last forward pass.
                pub fn output(&self) -> &#output {
                    &self.output
                }

                /// The input gradient of the last `backward` (zero after `backward_params`).
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

    /// The forward calls of every layer, first to last. `first_in` and `last_out` are the
    /// expressions for the chain's input and output; in between, activations live on tape `t`.
    fn forward_calls(
        &self,
        pass: Pass,
        first_in: &TokenStream,
        last_out: &TokenStream,
    ) -> TokenStream {
        let nn = &self.nn;
        let method = match pass {
            Pass::Infer => quote!(forward),
            Pass::Train => quote!(forward_train),
        };
        (0..self.layers().len())
            .map(|i| {
                let layer = &self.layers()[i];
                let (field, ty, cache) = (self.field(i), self.layer_type(i), Self::cache(i));
                let x = if i == 0 {
                    first_in.clone()
                } else {
                    let a = Self::act(i);
                    quote!(&t.#a)
                };
                let y = if i == self.last() {
                    last_out.clone()
                } else {
                    let a = Self::act(i + 1);
                    quote!(&mut t.#a)
                };
                quote_spanned!(layer.span()=>
                    <#ty as #nn::layers::Layer>::#method(&self.#field, #x, #y, &mut t.#cache);
                )
            })
            .collect()
    }

    /// The backward calls of every layer, last to first.
    fn backward_calls(
        &self,
        first_in: &TokenStream,
        last_out: &TokenStream,
        dy: &TokenStream,
        first_dx: &TokenStream,
    ) -> TokenStream {
        let nn = &self.nn;
        (0..self.layers().len())
            .rev()
            .map(|i| {
                let layer = &self.layers()[i];
                let (field, ty, cache) = (self.field(i), self.layer_type(i), Self::cache(i));
                let x = if i == 0 { first_in.clone() } else { let a = Self::act(i); quote!(&t.#a) };
                let (y, dy) = if i == self.last() {
                    (last_out.clone(), dy.clone())
                } else {
                    let (a, g) = (Self::act(i + 1), Self::grad(i + 1));
                    (quote!(&t.#a), quote!(&t.#g))
                };
                let dx = if i == 0 { first_dx.clone() } else { let g = Self::grad(i); quote!(::core::option::Option::Some(&mut t.#g)) };
                quote_spanned!(layer.span()=>
                    <#ty as #nn::layers::Layer>::backward(&mut self.#field, #x, #y, &mut t.#cache, #dy, #dx);
                )
            })
            .collect()
    }

    fn param_visits(&self) -> TokenStream {
        let nn = &self.nn;
        (0..self.layers().len())
            .map(|i| {
                let field = self.field(i);
                let name = field.to_string();
                quote!(#nn::param::HasParams::visit_params(&mut self.#field, &path.child(#name), visitor);)
            })
            .collect()
    }

    fn inherent_impl(&self) -> TokenStream {
        let nn = &self.nn;
        let name = &self.network.name;
        let tape = &self.tape;
        let (in_w, out_w) = (self.input_width(), self.output_width());
        let (in_value, out_value) = (self.input_value(), self.output_value());
        let input = self.batch_tensor(in_w);
        let output = self.batch_tensor(out_w);
        let inits = (0..self.layers().len()).map(|i| {
            let field = self.field(i);
            let init = self.layer_init(i);
            quote!(#field: #init,)
        });
        let param_counts = (0..self.layers().len()).filter_map(|i| match self.layers()[i].kind {
            LayerKind::Dense { .. } => {
                let ty = self.layer_type(i);
                Some(quote!(+ <#ty>::PARAM_COUNT))
            }
            _ => None,
        });
        let layer_names = self.plan.fields.iter().map(|f| f.to_string());

        let t_input = quote!(&t.input);
        let t_output = quote!(&t.output);
        let t_output_mut = quote!(&mut t.output);
        let infer_calls = self.forward_calls(Pass::Infer, &quote!(x), &t_output_mut);
        let train_calls = self.forward_calls(Pass::Train, &t_input, &t_output_mut);
        let backward_calls = self.backward_calls(
            &t_input,
            &t_output,
            &quote!(dy),
            &quote!(::core::option::Option::Some(&mut t.input_grad)),
        );
        let backward_params_calls = self.backward_calls(
            &t_input,
            &t_output,
            &quote!(dy),
            &quote!(::core::option::Option::None),
        );
        let span = Span::call_site();

        quote_spanned! {span=>
            #[allow(dead_code, reason = "generated API: a program may use only part of it")]
            impl #name {
                /// Input features per sample.
                pub const INPUTS: usize = #in_value;
                /// Output features per sample.
                pub const OUTPUTS: usize = #out_value;
                /// The number of scalar parameters.
                pub const PARAM_COUNT: usize = 0 #(#param_counts)*;
                /// The layer names, in order; parameters are named `<layer>.weight`, `<layer>.bias`.
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
                    let t = tape;
                    #infer_calls
                    &t.output
                }

                /// Training forward: records the input and every activation on `tape` for
                /// [`Self::backward`], and returns the output (no allocation).
                pub fn forward_train<'t, const B: usize>(&self, x: &#input, tape: &'t mut #tape<B>) -> &'t #output {
                    let t = tape;
                    #nn::tensor::Tensor::copy_from(&mut t.input, x);
                    #train_calls
                    &t.output
                }

                /// Backward from `dy`, the loss gradient of the output of the last
                /// [`Self::forward_train`] on `tape`: adds every parameter gradient to the
                /// accumulated ones and returns the input gradient.
                pub fn backward<'t, const B: usize>(&mut self, tape: &'t mut #tape<B>, dy: &#output) -> &'t #input {
                    let t = tape;
                    #backward_calls
                    &t.input_grad
                }

                /// Like [`Self::backward`], but skips the input gradient, which training does
                /// not need.
                pub fn backward_params<const B: usize>(&mut self, tape: &mut #tape<B>, dy: &#output) {
                    let t = tape;
                    #backward_params_calls
                }

                /// Sets every parameter gradient to zero.
                pub fn zero_grad(&mut self) {
                    #nn::param::HasParams::zero_grad(self);
                }
            }
        }
    }

    fn trait_impls(&self) -> TokenStream {
        let nn = &self.nn;
        let name = &self.network.name;
        let tape = &self.tape;
        let input = self.batch_tensor(self.input_width());
        let output = self.batch_tensor(self.output_width());
        let visits = self.param_visits();
        let infer_calls = self.forward_calls(Pass::Infer, &quote!(x), &quote!(y));
        let train_calls = self.forward_calls(Pass::Train, &quote!(x), &quote!(y));
        let backward_calls = self.backward_calls(&quote!(x), &quote!(y), &quote!(dy), &quote!(dx));
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
                type Cache<const B: usize> = #tape<B>;

                fn forward<const B: usize>(&self, x: &#input, y: &mut #output, scratch: &mut #tape<B>) {
                    let t = scratch;
                    #infer_calls
                }

                fn forward_train<const B: usize>(&self, x: &#input, y: &mut #output, cache: &mut #tape<B>) {
                    let t = cache;
                    #train_calls
                }

                fn backward<const B: usize>(
                    &mut self,
                    x: &#input,
                    y: &#output,
                    cache: &mut #tape<B>,
                    dy: &#output,
                    dx: ::core::option::Option<&mut #input>,
                ) {
                    let t = cache;
                    #backward_calls
                }
            }
        }
    }
}
