//! The IR of a `network!` declaration. Every node keeps the tokens it came from, so errors and
//! generated code can point at the user's own text.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, Expr, Ident, LitInt, Visibility};

use crate::kinds::Spec;

/// Everything inside one `network! { ... }` call: one or more declarations.
pub struct Networks {
    /// `#![nn(crate = path)]`: where the `nn` crate is, for crates that re-export it.
    pub krate: Option<syn::Path>,
    pub networks: Vec<Network>,
}

/// One declaration: `/// docs  pub struct Name< layer, layer, ... >`.
pub struct Network {
    /// The attributes that pass through to the struct (`#[weights]` and `#[baked_only]` taken out).
    pub attrs: Vec<Attribute>,
    /// `#[weights = "file.safetensors"]`: bake the file's weights in (see `baked`).
    pub weights: Option<Weights>,
    pub vis: Visibility,
    pub name: Ident,
    /// The `<` ... `>` delimiters, for errors about the list as a whole.
    pub list_tokens: TokenStream,
    pub layers: Vec<Layer>,
    /// Problems found while reading layer arguments; reported with the validation errors.
    pub parse_errors: Vec<syn::Error>,
}

/// `#[weights = "path"]`, and whether `#[baked_only]` came with it.
pub struct Weights {
    /// The path as written, relative to the calling crate's `CARGO_MANIFEST_DIR`.
    pub path: syn::LitStr,
    /// The whole attribute, for errors about the file.
    pub attr: Attribute,
    /// Emit only the baked network, not the heap one (for crates without `alloc`).
    pub baked_only: bool,
    /// `#[budget(ram = "..", flash = "..")]`: limits the baked network must fit.
    pub budget: Option<crate::baked::budget::Budget>,
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

/// What a layer is. Layer kinds (`dense`, `relu`, ...) are [`Spec`]s, each in its own module of
/// `kinds`; only the structural items are cases here.
pub enum LayerKind {
    /// A layer kind with its arguments, e.g. `dense(784 -> 128)`.
    Spec(Box<dyn Spec>),
    /// `input(d1, d2, ...)`: the per-sample input shape, before the first layer; or
    /// `input(name: d1, ...)`, one of several named inputs. `input(T) tokens` holds token ids,
    /// which only an `embedding` reads.
    Input {
        name: Option<Ident>,
        dims: Vec<Dim>,
        tokens: bool,
    },
    /// `fork { name: [layers], name: skip, ... } => merge`.
    Fork(Fork),
    /// A layer type the macro did not make, e.g. another `network!` struct: `encoder: Encoder`.
    Custom { path: syn::Path },
    /// A keyword no kind has. Validation reports it, because "did you mean" offers only kinds
    /// that take the input the layer gets, whose rank parsing cannot know.
    Unknown,
    /// A layer whose keyword or arguments were wrong; the error is already recorded.
    Invalid,
}

/// Branches that read the same input, and how their outputs merge.
pub struct Fork {
    pub branches: Vec<Branch>,
    pub merge: Merge,
    /// The `{ ... }` braces, for errors about the branches as a whole.
    pub brace_tokens: TokenStream,
}

/// One branch of a fork: `left: [dense(3 -> 3), relu]` or `shortcut: skip`; in the fork after
/// several named inputs, `img: image => [..]` names the input it reads.
pub struct Branch {
    pub name: Ident,
    /// The named input the branch reads (`image` in `img: image => [..]`).
    pub source: Option<Ident>,
    /// `None` for `skip`, the identity.
    pub layers: Option<Vec<Layer>>,
}

/// How a fork's branches merge: `concat`, `concat(axis)`, `stack`, `add`, or attention of the
/// first branch (the queries) over the others (the keys and values).
pub struct Merge {
    pub keyword: Ident,
    pub kind: MergeKind,
    /// The merge's whole text, for spans that cover it.
    pub tokens: TokenStream,
    /// The sizes of a `multi_head_attention(D, heads = H)` merge.
    pub attention: Option<AttentionMerge>,
}

/// `=> multi_head_attention(D, heads = H)` after a fork: cross-attention.
pub struct AttentionMerge {
    pub features: Dim,
    pub heads: Dim,
    /// Written `causal`, which a merge rejects (the queries and keys are different sequences).
    pub causal: bool,
    /// `key_padding = PAD_ID`: the keys whose token id is `PAD_ID` are masked.
    pub key_padding: Option<Dim>,
}

#[derive(Clone, Copy, PartialEq)]
pub enum MergeKind {
    /// Along this per-sample axis; `None` is the last axis.
    Concat(Option<usize>),
    /// Along a new leading per-sample axis.
    Stack,
    /// Elementwise sum.
    Add,
    /// Cross-attention: the first branch's steps attend to the other branches' (see
    /// [`AttentionMerge`]).
    Attention,
    /// Each sample's values one after another, whatever the parts' shapes: a padded
    /// cross-attention's input, its branches and then its keys' token ids. Never written.
    Pack,
    /// A merge whose keyword or arguments were wrong; the error is already recorded.
    Invalid,
}

impl Merge {
    pub fn text(&self) -> String {
        match self.kind {
            MergeKind::Concat(Some(axis)) => format!("concat({axis})"),
            MergeKind::Attention => match &self.attention {
                Some(a) => crate::kinds::Spec::text(a),
                None => self.keyword.to_string(),
            },
            _ => self.keyword.to_string(),
        }
    }
}

/// A size in a layer's arguments.
pub enum Dim {
    /// An integer literal, evaluated by the macro.
    Literal { value: u64, lit: LitInt },
    /// A named constant or const expression, checked by the compiler through a const assert.
    /// Boxed: an expression is large, and most dims are literals.
    Named(Box<Expr>),
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
            Dim::Named(expr) if matches!(&**expr, Expr::Path(path) if path.path.segments.len() > 1) =>
            {
                quote!({ #expr })
            }
            Dim::Named(expr) => quote!(#expr),
        }
    }

    /// The size as a `usize` expression (a block loses its braces, which would be linted).
    pub fn as_value(&self) -> TokenStream {
        let Dim::Named(expr) = self else {
            return self.as_const_arg();
        };
        match &**expr {
            Expr::Path(path) => quote!(#path),
            Expr::Block(block) => match block.block.stmts.as_slice() {
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

    /// The size when the macro knows it: a literal, or a named size whose value a weights
    /// file gave while the macro bakes (see [`with_resolved`]).
    pub fn literal(&self) -> Option<u64> {
        match self {
            Dim::Literal { value, .. } => Some(*value),
            Dim::Named(expr) => RESOLVED.with(|resolved| {
                let resolved = resolved.borrow();
                if resolved.is_empty() {
                    return None;
                }
                let text = tokens_text(expr);
                resolved
                    .iter()
                    .find(|(name, _)| *name == text)
                    .map(|&(_, value)| value)
            }),
        }
    }
}

thread_local! {
    /// The named sizes the macro reads as numbers while it bakes, by their text (`HIDDEN`).
    static RESOLVED: std::cell::RefCell<Vec<(String, u64)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with every named size of `values` known to the macro: a size written as a named
/// constant then validates and bakes as the number a weights file gave it (`baked::resolve`,
/// which also emits the `const` asserts that the constant has that value). Outside `f` a named
/// size is unknown again.
pub fn with_resolved<R>(values: &[(String, u64)], f: impl FnOnce() -> R) -> R {
    let previous = RESOLVED.with(|resolved| resolved.replace(values.to_vec()));
    let result = f();
    RESOLVED.with(|resolved| resolved.replace(previous));
    result
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
    /// The struct field that holds this layer: the user's name, or `<keyword>_<position>`
    /// (a type name such as `Encoder` in snake case).
    pub fn field(&self) -> Ident {
        match &self.name {
            Some(name) => name.clone(),
            None => format_ident!(
                "{}_{}",
                snake_case(&self.keyword.to_string()),
                self.position,
                span = self.keyword.span()
            ),
        }
    }

    /// The layer as the user wrote it, e.g. `dense(784 -> 128)`.
    pub fn text(&self) -> String {
        match &self.kind {
            LayerKind::Spec(spec) => spec.text(),
            LayerKind::Input { name, dims, tokens } => {
                let name = name.as_ref().map(|n| format!("{n}: ")).unwrap_or_default();
                let tokens = if *tokens { " tokens" } else { "" };
                format!("input({name}{}){tokens}", dims_text(dims))
            }
            LayerKind::Fork(fork) => format!("fork => {}", fork.merge.text()),
            LayerKind::Custom { path } => tokens_text(path),
            LayerKind::Unknown | LayerKind::Invalid => self.keyword.to_string(),
        }
    }

    /// How errors refer to this layer: its name if it has one, else its text.
    pub fn reference(&self) -> String {
        match &self.name {
            Some(name) => format!("`{name}`"),
            None => format!("`{}`", self.text()),
        }
    }

    /// Where generated code for this layer points (see [`located`]).
    pub fn span(&self) -> Span {
        located(self.keyword.span())
    }
}

/// `4, 7` for the dims of `reshape(4, 7)`.
pub fn dims_text(dims: &[Dim]) -> String {
    let dims: Vec<String> = dims.iter().map(Dim::text).collect();
    dims.join(", ")
}

/// Tokens as compact text: `HIDDEN`, `2 * H`, `consts::IN`.
pub fn tokens_text(tokens: &impl ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    text.replace(" :: ", "::")
}

/// `Encoder` → `encoder`, `TwoTower` → `two_tower`; snake case is left as it is.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A span that points at the user's `span` but resolves names at the macro's call site.
///
/// Generated code is spanned on the user's layer so that type errors land there; but the
/// identifiers the macro introduces itself (`self`, `x`, `rng`) must not inherit the hygiene of
/// a user token, or a `network!` written inside a `macro_rules!` would look them up in that
/// macro's context ("expected value, found module `self`").
pub fn located(span: Span) -> Span {
    Span::call_site().located_at(span)
}
