//! Code generation: the network struct, its tape, its named points, and their impls. Codegen
//! only: every decision about shapes was made in `validate`, which hands over a graph of buffers
//! and steps.
//!
//! Generated code names the core through `<nn>::__private`, a path the facade guarantees, where
//! `<nn>` is the `nn` crate as the calling crate knows it (see [`core_path`]). It uses
//! `quote_spanned!` with the layer's span (resolved at the call site, see `ast::located`) so
//! that a type error lands on the user's layer. The batch size is the const parameter `__B`
//! and the mode the type parameter `__M`: names a user's constants and types cannot take.

mod api;
mod decode;
mod passes;
mod stub;
mod tape;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ast::{Network, Networks};
use crate::validate::{Plan, Step, StepKind, validate};

/// Expands every declaration of one `network!` call.
pub fn network(networks: Networks) -> TokenStream {
    let nn = core_path(networks.krate.as_ref());
    networks
        .networks
        .iter()
        .map(|network| expand_one(network, &networks.networks, &nn))
        .collect()
}

/// `<nn>::__private`: the crate named by `#![nn(crate = ..)]`, else (feature `renamed`) `nn`
/// under the name the calling crate's manifest gives it (a renamed dependency), else `::nn`.
fn core_path(krate: Option<&syn::Path>) -> TokenStream {
    if let Some(path) = krate {
        return quote!(#path::__private);
    }
    #[cfg(not(feature = "renamed"))]
    return quote!(::nn::__private);
    #[cfg(feature = "renamed")]
    match proc_macro_crate::crate_name("nn") {
        // `Itself` is `nn`'s own tests, examples and doc tests: separate crates that see `nn`
        // as an external crate.
        Ok(proc_macro_crate::FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            quote!(::#name::__private)
        }
        _ => quote!(::nn::__private),
    }
}

fn expand_one(network: &Network, siblings: &[Network], nn: &TokenStream) -> TokenStream {
    let (plan, error) = validate(network, siblings, nn);
    let Some(weights) = &network.weights else {
        return expand_heap(network, siblings, plan, error, nn);
    };
    // `#[weights = ..]`: the baked network, and the heap one unless `#[baked_only]` (a crate
    // without `alloc` cannot build the heap network).
    // A plan resumed after an error has no weights to bake in the skipped layers.
    let complete = plan.as_ref().filter(|plan| !plan.has_unchecked());
    let (baked, baked_error) = crate::baked::expand(network, siblings, weights, complete, nn);
    let baked_error = baked_error.map(syn::Error::into_compile_error);
    if weights.baked_only {
        let error = error.map(syn::Error::into_compile_error);
        return quote!(#error #baked_error #baked);
    }
    let heap = expand_heap(network, siblings, plan, error, nn);
    quote!(#heap #baked_error #baked)
}

fn expand_heap(
    network: &Network,
    siblings: &[Network],
    plan: Option<Plan>,
    error: Option<syn::Error>,
    nn: &TokenStream,
) -> TokenStream {
    let error = error.map(syn::Error::into_compile_error);
    match plan {
        Some(plan) => {
            let mut generator = Generator::new(network, &plan, nn);
            // Only a network that compiles gets the int8 plan: one error stays one error.
            let quantize = if error.is_none() {
                generator.fake_quant = crate::baked::fake_quant_hooks(network, siblings, &plan, nn);
                crate::baked::quantize_impl(network, siblings, &plan, nn)
            } else {
                TokenStream::new()
            };
            let code = generator.generate();
            quote!(#error #code #quantize)
        }
        // Still declare the struct and its API, so that one mistake stays one error.
        None => {
            let stub = stub::stub(network, nn);
            quote!(#stub #error)
        }
    }
}

/// The two forward passes: eval mode (inference, `&self`) and train mode (`&mut self`).
#[derive(Clone, Copy, PartialEq)]
enum Pass {
    Eval,
    Train,
}

struct Generator<'a> {
    network: &'a Network,
    plan: &'a Plan,
    nn: &'a TokenStream,
    tape: Ident,
    buffers: Ident,
    points: Ident,
    inject: Ident,
    /// `<Name>InputGrads`, the gradients of several inputs.
    input_grads: Ident,
    batch: Ident,
    /// For quantization-aware training: the fake-quantization point each step's output is,
    /// when the network has an int8 plan (`nn::quant::fake_quant_points`); `None` otherwise.
    fake_quant: Option<Vec<Option<usize>>>,
}

impl<'a> Generator<'a> {
    fn new(network: &'a Network, plan: &'a Plan, nn: &'a TokenStream) -> Self {
        let name = &network.name;
        Self {
            network,
            plan,
            nn,
            tape: format_ident!("{}Tape", name),
            buffers: format_ident!("{}Buffers", name),
            points: format_ident!("{}Points", name),
            inject: format_ident!("{}Inject", name),
            input_grads: format_ident!("{}InputGrads", name),
            batch: format_ident!("__B"),
            fake_quant: None,
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
        self.plan.nodes[node].shape.batch_type(self.nn, &self.batch)
    }
    /// The batch type of the `i`-th input.
    fn input_type(&self, i: usize) -> TokenStream {
        self.batch_type(self.plan.inputs[i].node)
    }
    fn output_type(&self) -> TokenStream {
        self.batch_type(self.plan.output)
    }
    /// Whether the network has several (named) inputs.
    fn several_inputs(&self) -> bool {
        self.plan.inputs.len() > 1
    }
    /// Which input `node` is, if it is one.
    fn input_index(&self, node: usize) -> Option<usize> {
        self.plan.inputs.iter().position(|input| input.node == node)
    }
    /// The `i`-th input in the passes: `x`, or `x_0`, `x_1`, ... for several.
    fn input_var(&self, i: usize) -> Ident {
        if self.several_inputs() {
            format_ident!("x_{}", i)
        } else {
            format_ident!("x")
        }
    }
    /// The gradient of the `i`-th input in `__backward`: `dx`, or `dx_0`, `dx_1`, ...
    fn input_grad_var(&self, i: usize) -> Ident {
        if self.several_inputs() {
            format_ident!("dx_{}", i)
        } else {
            format_ident!("dx")
        }
    }
    /// The tape field holding the `i`-th input, and its gradient.
    fn input_fields(&self, i: usize) -> (Ident, Ident) {
        if self.several_inputs() {
            (
                format_ident!("input_{}", i),
                format_ident!("input_grad_{}", i),
            )
        } else {
            (format_ident!("input"), format_ident!("input_grad"))
        }
    }
    fn is_inner(&self, node: usize) -> bool {
        self.input_index(node).is_none() && node != self.plan.output
    }
    fn output_is_point(&self) -> bool {
        self.plan.points.iter().any(|p| p.node == self.plan.output)
    }
    /// Whether the `j`-th input of step `s` sends its gradient through a scratch buffer: when
    /// its node feeds several steps (the gradients are summed) or it is a network input read
    /// by a merge or bridge (whose gradient is optional).
    fn needs_split(&self, step: &Step, j: usize) -> bool {
        let node = step.inputs[j];
        self.plan.nodes[node].consumers > 1
            || (self.input_index(node).is_some() && !matches!(step.kind, StepKind::Layer(_)))
    }

    /// A node read in the passes, spanned on the step that reads it so that a type error
    /// lands on the user's layer.
    fn read(&self, node: usize, span: Span) -> TokenStream {
        if let Some(i) = self.input_index(node) {
            let x = respan(self.input_var(i), span);
            quote!(#x)
        } else if node == self.plan.output {
            quote_spanned!(span=> &*y)
        } else {
            let a = respan(Self::act(node), span);
            quote_spanned!(span=> &t.#a)
        }
    }

    /// A node written in the forward passes.
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
        let checks = self.plan.checks.iter().map(|check| check.to_item(self.nn));
        let network_struct = self.network_struct();
        let tape = self.tape_structs();
        let points = self.point_structs();
        let inherent = self.inherent_impl();
        let traits = self.trait_impls();
        let decode = self.decode_impl();
        quote! {
            #(#checks)*
            #network_struct
            #tape
            #points
            #inherent
            #traits
            #decode
        }
    }
}

/// `INPUTS_IMAGE` for the input `image`: its elements per sample. A name with no upper-case
/// identifier (`r#type` unraws to `TYPE`; a rare Unicode letter may not map) falls back to
/// `INPUTS_<index>`, so the macro never builds an invalid identifier.
pub(crate) fn input_const(name: &Ident, index: usize) -> Ident {
    use syn::ext::IdentExt;
    let wanted = format!("INPUTS_{}", name.unraw().to_string().to_uppercase());
    match syn::parse_str::<Ident>(&wanted) {
        Ok(ident) => ident,
        Err(_) => format_ident!("INPUTS_{}", index),
    }
}

/// `ident` with `span`: a generated field name inside an expression spanned on a user's layer
/// must carry that span too, or the compiler cannot point the expression at the layer.
fn respan(mut ident: Ident, span: Span) -> Ident {
    ident.set_span(span);
    ident
}
