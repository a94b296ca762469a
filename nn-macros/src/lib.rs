//! The `network!` macro of the `nn` crate.
//!
//! The pipeline is parse → validate → expand: `parse` reads the declaration into the IR of
//! `ast` (every node keeps its span), `validate` walks it and lets each layer kind of `kinds`
//! apply its shape rule, collecting every error in one `ctxt`, and `expand` writes the struct,
//! its tape and its methods. The macro never panics on user input: every problem becomes a
//! spanned compile error. `ARCHITECTURE.md` at the repository root says how to add a kind.
//!
//! See the `nn` crate for the syntax and the generated API.

#![deny(missing_docs)]

mod ast;
mod baked;
mod ctxt;
mod expand;
mod kinds;
mod parse;
mod shape;
mod suggest;
mod validate;

use proc_macro::TokenStream;

/// Declares a network: a struct with statically shape-checked forward and backward code.
///
/// ```ignore
/// network! {
///     /// MNIST classifier
///     pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
/// }
/// ```
///
/// The full syntax and the generated API are documented in the `nn` crate.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let networks = syn::parse_macro_input!(input as ast::Networks);
    expand::network(networks).into()
}
