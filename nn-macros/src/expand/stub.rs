//! What a declaration with an error expands to, beside the error: the struct, its tape and the
//! methods users call, with signatures loose enough to accept any use. One mistake then stays
//! one error, instead of also giving "no function `seeded`" at every use.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use syn::Ident;

use crate::ast::{LayerKind, Network};

pub fn stub(network: &Network, nn: &TokenStream) -> TokenStream {
    let Network {
        attrs, vis, name, ..
    } = network;
    let tape = format_ident!("{}Tape", name);
    let never = quote!(::core::unreachable!(
        "`network!` reported an error for this network"
    ));
    // Several named inputs: the methods take one argument per input, as the real ones would.
    let names: Vec<&Ident> = network
        .layers
        .iter()
        .filter_map(|layer| match &layer.kind {
            LayerKind::Input {
                name: Some(name), ..
            } => Some(name),
            _ => None,
        })
        .collect();
    let (args, generics, consts, grads, returned) = if names.len() > 1 {
        // Arguments of the stub's own names: the inputs' may clash (the error said so).
        let generics: Vec<Ident> = (0..names.len()).map(|i| format_ident!("X{}", i)).collect();
        let args: Vec<Ident> = (0..names.len()).map(|i| format_ident!("x_{}", i)).collect();
        let mut consts: Vec<Ident> = names
            .iter()
            .enumerate()
            .map(|(i, name)| super::input_const(name, i))
            .collect();
        consts.sort();
        consts.dedup();
        (
            quote!(#(#args: &#generics),*),
            quote!(#(#generics,)*),
            quote!(#(pub const #consts: usize = 0;)*),
            quote!(pub fn input_grads<G>(&self) -> G { #never }),
            quote!(G),
        )
    } else {
        (
            quote!(x: &X),
            quote!(X,),
            quote!(
                pub const INPUTS: usize = 0;
            ),
            quote!(pub fn input_grad<X>(&self) -> &X { #never }),
            quote!(&'t G),
        )
    };
    quote! {
        #(#attrs)*
        #[derive(Clone, Debug)]
        #vis struct #name {}

        #[allow(dead_code, unused_variables, clippy::extra_unused_type_parameters, reason = "stands in for a network with an error")]
        impl #name {
            #consts
            pub const OUTPUTS: usize = 0;
            pub const PARAM_COUNT: usize = 0;
            pub const LAYER_NAMES: &'static [&'static str] = &[];
            pub fn new(rng: &mut #nn::init::Rng) -> Self { Self {} }
            pub fn seeded(seed: u64) -> Self { Self {} }
            pub fn forward<#generics Y>(&self, #args) -> Y { #never }
            pub fn infer<'t, #generics T, Y>(&self, #args, tape: &'t mut T) -> &'t Y { #never }
            pub fn forward_train<'t, #generics T, Y>(&mut self, #args, tape: &'t mut T) -> &'t Y { #never }
            pub fn backward<'t, T, D, G>(&mut self, tape: &'t mut T, dy: &D) -> #returned { #never }
            pub fn backward_with<'t, T, D, I, G>(&mut self, tape: &'t mut T, dy: &D, extra: &I) -> #returned { #never }
            pub fn backward_params<T, D>(&mut self, tape: &mut T, dy: &D) {}
            pub fn backward_params_with<T, D, I>(&mut self, tape: &mut T, dy: &D, extra: &I) {}
            pub fn zero_grad(&mut self) {}
        }

        impl #nn::param::HasParams for #name {
            fn visit_params<V: #nn::param::ParamVisitor>(&mut self, path: &#nn::param::ParamPath<'_>, visitor: &mut V) {}
        }

        #[allow(dead_code, reason = "stands in for a network with an error")]
        #vis struct #tape<const __B: usize, __M = ()>(::core::marker::PhantomData<__M>);

        #[allow(dead_code, reason = "stands in for a network with an error")]
        impl<const __B: usize, __M> #tape<__B, __M> {
            pub fn new() -> Self { Self(::core::marker::PhantomData) }
            pub fn output<Y>(&self) -> &Y { #never }
            #grads
        }

        impl<const __B: usize, __M> ::core::default::Default for #tape<__B, __M> {
            fn default() -> Self { Self::new() }
        }
    }
}
