//! The IR of a `network!` declaration. Every node keeps the tokens it came from, so errors and
//! generated code can point at the user's own text.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, Expr, Ident, LitInt, Visibility};

/// Everything inside one `network! { ... }` call: one or more declarations.
pub struct Networks {
    pub networks: Vec<Network>,
}

/// One declaration: `/// docs  pub struct Name< layer, layer, ... >`.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The `<` ... `>` delimiters, for errors about the list as a whole.
    pub list_tokens: TokenStream,
    pub layers: Vec<Layer>,
    /// Problems found while reading layer arguments; reported with the validation errors.
    pub parse_errors: Vec<syn::Error>,
}

/// One layer of the chain, e.g. `fc1: dense(784 -> 128)` or `relu`.
pub struct Layer {
    /// The user's name, if any (`fc1` in `fc1: dense(..)`).
    pub name: Option<Ident>,
    /// The layer keyword (`dense`).
    pub keyword: Ident,
    pub kind: LayerKind,
    /// Position in the chain, from 0.
    pub position: usize,
    /// The layer's whole text, for spans that cover it.
    pub tokens: TokenStream,
}

/// What a layer is, with its arguments.
pub enum LayerKind {
    Dense {
        input: Dim,
        output: Dim,
    },
    Relu,
    LeakyRelu {
        alpha: Option<Expr>,
    },
    Sigmoid,
    Tanh,
    Softmax,
    /// A layer whose keyword or arguments were wrong; the error is already recorded.
    Invalid,
}

/// A size in a layer's arguments.
pub enum Dim {
    /// An integer literal, evaluated by the macro.
    Literal { value: u64, lit: LitInt },
    /// A named constant or const expression, checked by the compiler through a const assert.
    Named(Expr),
}

impl Dim {
    /// The size as a const generic argument: `784`, `HIDDEN` or `{ 2 * HIDDEN }`.
    pub fn as_const_arg(&self) -> TokenStream {
        match self {
            Dim::Literal { value, lit } => {
                let value = *value as usize;
                quote::quote_spanned!(lit.span()=> #value)
            }
            // A one-segment path is a valid const argument as it is (braces would be linted);
            // a longer path needs braces; a block already has them.
            Dim::Named(Expr::Path(path)) if path.path.segments.len() > 1 => quote!({ #path }),
            Dim::Named(expr) => quote!(#expr),
        }
    }

    /// The size as a `usize` expression (a block loses its braces, which would be linted).
    pub fn as_value(&self) -> TokenStream {
        match self {
            Dim::Named(Expr::Path(path)) => quote!(#path),
            Dim::Named(Expr::Block(block)) => match block.block.stmts.as_slice() {
                [syn::Stmt::Expr(inner, None)] => quote!((#inner)),
                _ => quote!(#block),
            },
            _ => self.as_const_arg(),
        }
    }

    /// The size as the user wrote it.
    pub fn text(&self) -> String {
        match self {
            Dim::Literal { value, .. } => value.to_string(),
            Dim::Named(expr) => tokens_text(expr),
        }
    }

    pub fn literal(&self) -> Option<u64> {
        match self {
            Dim::Literal { value, .. } => Some(*value),
            Dim::Named(_) => None,
        }
    }
}

impl ToTokens for Dim {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Dim::Literal { lit, .. } => lit.to_tokens(tokens),
            Dim::Named(expr) => expr.to_tokens(tokens),
        }
    }
}

impl Layer {
    /// The struct field that holds this layer: the user's name, or `<keyword>_<position>`.
    pub fn field(&self) -> Ident {
        match &self.name {
            Some(name) => name.clone(),
            None => format_ident!(
                "{}_{}",
                self.keyword,
                self.position,
                span = self.keyword.span()
            ),
        }
    }

    /// The layer as the user wrote it, e.g. `dense(784 -> 128)`.
    pub fn text(&self) -> String {
        match &self.kind {
            LayerKind::Dense { input, output } => {
                format!("dense({} -> {})", input.text(), output.text())
            }
            LayerKind::LeakyRelu { alpha: Some(alpha) } => {
                format!("leaky_relu({})", tokens_text(alpha))
            }
            _ => self.keyword.to_string(),
        }
    }

    /// How errors refer to this layer: its name if it has one, else its text.
    pub fn reference(&self) -> String {
        match &self.name {
            Some(name) => format!("`{name}`"),
            None => format!("`{}`", self.text()),
        }
    }

    pub fn span(&self) -> Span {
        self.keyword.span()
    }
}

/// Tokens as compact text: `HIDDEN`, `2 * H`, `consts::IN`.
pub fn tokens_text(tokens: &impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    text.replace(" :: ", "::")
}
