//! One place that gathers every problem of a declaration, as serde_derive's `Ctxt` does: the
//! errors the macro finds itself, and the checks it leaves to the compiler.

use std::cell::RefCell;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

/// Errors and compiler checks, collected in order. Shared by `&` reference, so every rule can
/// report without threading `&mut Vec`s through the code.
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
    checks: RefCell<Vec<ConstCheck>>,
}

impl Ctxt {
    /// An error spanned on `tokens`.
    pub fn error(&self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn push(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// A condition the compiler must check (it involves named constants or layer types).
    pub fn check(&self, check: ConstCheck) {
        self.checks.borrow_mut().push(check);
    }

    /// The checks, and every error combined into one (so one build shows every mistake).
    pub fn finish(self) -> (Vec<ConstCheck>, Option<syn::Error>) {
        let error = self
            .errors
            .into_inner()
            .into_iter()
            .reduce(|mut all, next| {
                all.combine(next);
                all
            });
        (self.checks.into_inner(), error)
    }
}

/// A condition the compiler must check, and the message it fails with: an item-level
/// `const _: () = assert!(..)`, which `cargo check` evaluates because it is not generic.
pub struct ConstCheck {
    pub span: Span,
    /// A `bool` const expression.
    pub condition: TokenStream,
    pub message: Message,
}

/// A compile-time error message whose values the compiler fills in, so an error about named
/// constants still shows their values (`HIDDEN = 128`).
#[derive(Clone, Default)]
pub struct Message(Vec<Part>);

#[derive(Clone)]
enum Part {
    Text(String),
    /// A `usize` const expression.
    Value(TokenStream),
    /// A `&'static [usize]` of a batch of 1: printed as the sample shape `(d1, d2)`.
    Shape(TokenStream),
}

impl Message {
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.0.push(Part::Text(text.into()));
        self
    }

    pub fn value(mut self, value: TokenStream) -> Self {
        self.0.push(Part::Value(value));
        self
    }

    pub fn shape(mut self, shape: TokenStream) -> Self {
        self.0.push(Part::Shape(shape));
        self
    }

    /// A const expression of the finished message, a `&'static str`.
    fn to_tokens(&self, nn: &TokenStream) -> TokenStream {
        let calls = self.0.iter().map(|part| match part {
            Part::Text(text) => quote!(.text(#text)),
            Part::Value(value) => quote!(.value(#value)),
            Part::Shape(shape) => quote!(.sample_shape(#shape)),
        });
        quote!(#nn::check::Message::new() #(#calls)*)
    }
}

impl ConstCheck {
    /// The item that makes the compiler evaluate this check.
    pub fn to_item(&self, nn: &TokenStream) -> TokenStream {
        let condition = &self.condition;
        let message = self.message.to_tokens(nn);
        quote_spanned! {self.span=>
            const _: () = {
                const MESSAGE: #nn::check::Message = #message;
                ::core::assert!(#condition, "{}", MESSAGE.as_str());
            };
        }
    }
}
