//! The grammar of `network!`:
//!
//! ```text
//! networks := ("#![nn(crate = " Path ")]")? network+
//! network  := attribute* visibility "struct" IDENT "<" (layer ("," layer)* ","?)? ">" ";"?
//! layer    := (IDENT ":")? (IDENT ("(" args ")")? | TypePath | fork)
//! fork     := "fork" "{" ((IDENT ":" (IDENT "=>")? | IDENT "=>") ("[" layer ("," layer)* ","? "]" | "skip") ","?)* "}"
//!             "=>" ("concat" ("(" INT ")")? | "stack" | "add")
//! input    := "input" "(" (IDENT ":")? size ("," size)* ","? ")" "tokens"?
//! ```
//!
//! `input(image: 784)` is one of several named inputs; `img: image => [..]` is a branch that
//! reads one of them, and `image => [..]` the same branch named after its input.
//!
//! ```text
//! ```
//!
//! A `TypePath` (a name that starts with a capital, or a path with `::`) is a layer type the
//! macro did not make, such as another network.
//!
//! A layer's arguments are read inside their own parentheses, so a mistake there is recorded and
//! parsing goes on with the next layer: one build reports every bad layer.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Ident, LitInt, Token, Visibility, parenthesized, token};

use crate::ast::{
    Branch, Dim, Fork, Layer, LayerKind, Merge, MergeKind, Network, Networks, Weights,
};
use crate::kinds::{self, Args};

impl Parse for Networks {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let krate = crate_path(input)?;
        let mut networks = Vec::new();
        while !input.is_empty() {
            networks.push(input.parse()?);
            while input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
            }
        }
        if networks.is_empty() {
            return Err(input
                .error("expected a network declaration, e.g. `pub struct Net< dense(4 -> 2) >`"));
        }
        Ok(Networks { krate, networks })
    }
}

/// `#![nn(crate = path)]`: where the `nn` crate is, for a crate that re-exports `network!`
/// (its users may not depend on `nn` themselves). Without it, `expand` finds `nn` in the
/// calling crate's manifest, renamed or not.
fn crate_path(input: ParseStream) -> syn::Result<Option<syn::Path>> {
    let mut krate = None;
    for attr in input.call(Attribute::parse_inner)? {
        if !attr.path().is_ident("nn") {
            return Err(syn::Error::new_spanned(
                attr,
                "the only inner attribute `network!` takes is `#![nn(crate = path::to::nn)]`",
            ));
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let value = meta.value()?;
                krate = Some(value.call(syn::Path::parse_mod_style)?);
                Ok(())
            } else {
                Err(meta.error("expected `crate = path::to::nn`"))
            }
        })?;
    }
    Ok(krate)
}

impl Parse for Network {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let mut parse_errors = Vec::new();
        let weights = weights_attributes(&mut attrs, &mut parse_errors);
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![struct]) {
            return Err(input.error(
                "expected `struct`: a network is declared as `struct Name< layer, layer, ... >`",
            ));
        }
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        if !input.peek(Token![<]) {
            return Err(input.error(format!(
                "expected `<` and the layers of `{name}`, e.g. `struct {name}< dense(4 -> 2) >`"
            )));
        }
        let open: Token![<] = input.parse()?;

        let mut layers = Vec::new();
        while !input.peek(Token![>]) {
            if input.is_empty() {
                return Err(input.error(format!("expected `>` to close the layers of `{name}`")));
            }
            layers.push(parse_layer(input, layers.len(), &mut parse_errors)?);
            if input.peek(Token![>]) {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between layers, or `>` to end the network"));
            }
            input.parse::<Token![,]>()?;
        }
        let close: Token![>] = input.parse()?;

        Ok(Network {
            attrs,
            weights,
            vis,
            name,
            list_tokens: quote!(#open #close),
            layers,
            parse_errors,
        })
    }
}

/// Takes `#[weights = "file.safetensors"]`, `#[baked_only]` and `#[budget(..)]` out of a declaration's
/// attributes; a malformed one is recorded in `errors`.
fn weights_attributes(attrs: &mut Vec<Attribute>, errors: &mut Vec<syn::Error>) -> Option<Weights> {
    let mut weights = None;
    let mut baked_only = None;
    let mut budget = None;
    let mut kept = Vec::new();
    for attr in attrs.drain(..) {
        if attr.path().is_ident("weights") {
            let path = match &attr.meta {
                syn::Meta::NameValue(syn::MetaNameValue {
                    value:
                        Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Str(path),
                            ..
                        }),
                    ..
                }) => path.clone(),
                _ => {
                    errors.push(syn::Error::new_spanned(
                        &attr,
                        "expected `#[weights = \"path/to/file.safetensors\"]`, a path relative to the crate's manifest directory",
                    ));
                    continue;
                }
            };
            if weights.is_some() {
                errors.push(syn::Error::new_spanned(
                    &attr,
                    "a network takes one `#[weights = ..]` file",
                ));
                continue;
            }
            weights = Some((path, attr));
        } else if attr.path().is_ident("baked_only") {
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                errors.push(syn::Error::new_spanned(
                    &attr,
                    "`#[baked_only]` takes no arguments",
                ));
            }
            baked_only = Some(attr);
        } else if attr.path().is_ident("budget") {
            match crate::baked::budget::parse(&attr) {
                Ok(parsed) => budget = Some(parsed),
                Err(error) => errors.push(error),
            }
        } else {
            kept.push(attr);
        }
    }
    *attrs = kept;
    if let (None, Some(budget)) = (&weights, &budget) {
        errors.push(syn::Error::new_spanned(
            &budget.attr,
            "`#[budget(..)]` limits a baked network, which needs `#[weights = \"file.safetensors\"]`",
        ));
    }
    match (weights, baked_only) {
        (Some((path, attr)), baked_only) => Some(Weights {
            path,
            attr,
            baked_only: baked_only.is_some(),
            budget,
        }),
        (None, Some(attr)) => {
            errors.push(syn::Error::new_spanned(
                attr,
                "`#[baked_only]` needs `#[weights = \"file.safetensors\"]`: there is nothing to bake without weights",
            ));
            None
        }
        (None, None) => None,
    }
}

fn parse_layer(
    input: ParseStream,
    position: usize,
    errors: &mut Vec<syn::Error>,
) -> syn::Result<Layer> {
    let mut tokens = TokenStream::new();
    let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        let name: Ident = input.parse()?;
        let colon: Token![:] = input.parse()?;
        name.to_tokens(&mut tokens);
        colon.to_tokens(&mut tokens);
        Some(name)
    } else {
        None
    };
    // Before the `Ident` check: a path may start with `crate`, `self`, `super` or `::`.
    if is_type_path(input) {
        let path = syn::Path::parse_mod_style(input)?;
        if input.peek(Token![<]) {
            return Err(input.error(format!(
                "a layer type with generic arguments cannot be written here; name it with an alias, e.g. `type MyLayer = {}<..>;`, and write `MyLayer`",
                crate::ast::tokens_text(&path)
            )));
        }
        path.to_tokens(&mut tokens);
        let keyword = match path.segments.last() {
            Some(last) => last.ident.clone(),
            None => return Err(input.error("expected a layer type")),
        };
        return Ok(Layer {
            name,
            keyword,
            kind: LayerKind::Custom { path },
            position,
            tokens,
        });
    }
    if !input.peek(Ident) {
        return Err(input.error(
            "expected a layer, such as `dense(784 -> 128)`, `relu` or `fc1: dense(784 -> 128)`",
        ));
    }
    let keyword: Ident = input.parse()?;
    keyword.to_tokens(&mut tokens);

    if keyword == "fork" {
        let kind = parse_fork(input, &keyword, &mut tokens, errors)?;
        return Ok(Layer {
            name,
            keyword,
            kind,
            position,
            tokens,
        });
    }

    let kind = if input.peek(token::Paren) {
        let content;
        let paren = parenthesized!(content in input);
        let mut group = Group::new(Delimiter::Parenthesis, TokenStream::new());
        group.set_span(paren.span.join());
        group.to_tokens(&mut tokens);
        let kind = read_kind(
            &keyword,
            Some(Args {
                content: &content,
                group: &group,
            }),
        );
        // Drain what a failed read left, so the error above is the only one.
        let _rest: TokenStream = content.parse()?;
        kind
    } else {
        read_kind(&keyword, None)
    };
    let mut kind = kind.unwrap_or_else(|error| {
        errors.push(error);
        LayerKind::Invalid
    });
    // `input(T) tokens`: the word after the parentheses says the values are token ids.
    if let LayerKind::Input {
        tokens: token_ids, ..
    } = &mut kind
        && input.peek(Ident)
        && input
            .fork()
            .parse::<Ident>()
            .is_ok_and(|word| word == "tokens")
    {
        let word: Ident = input.parse()?;
        word.to_tokens(&mut tokens);
        *token_ids = true;
    }
    Ok(Layer {
        name,
        keyword,
        kind,
        position,
        tokens,
    })
}

/// A layer type rather than a keyword: `Encoder` or `nets::Encoder`, not followed by arguments
/// (a capitalised keyword such as `Dense(..)` is a misspelt keyword).
fn is_type_path(input: ParseStream) -> bool {
    if input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super])
    {
        return true;
    }
    let fork = input.fork();
    match fork.parse::<Ident>() {
        Ok(ident) => {
            let word = ident.to_string();
            // `Relu` alone is the keyword `relu` with a capital, not the prelude's `Relu<S>`:
            // read it as a keyword so the error suggests `relu`.
            let lower = word.to_ascii_lowercase();
            let capitalised_keyword =
                kinds::keywords(None).any(|k| k == lower) && !fork.peek(Token![<]);
            fork.peek(Token![::])
                || (word.starts_with(char::is_uppercase)
                    && !fork.peek(token::Paren)
                    && !capitalised_keyword)
        }
        Err(_) => false,
    }
}

/// `fork { branch, ... } => merge`, after the `fork` keyword.
fn parse_fork(
    input: ParseStream,
    keyword: &Ident,
    tokens: &mut TokenStream,
    errors: &mut Vec<syn::Error>,
) -> syn::Result<LayerKind> {
    if !input.peek(token::Brace) {
        return Err(syn::Error::new_spanned(
            keyword,
            "`fork` needs its branches in braces, e.g. `fork { left: [dense(3 -> 3)], right: skip } => concat`",
        ));
    }
    let content;
    let brace = syn::braced!(content in input);
    let mut group = Group::new(Delimiter::Brace, TokenStream::new());
    group.set_span(brace.span.join());
    group.to_tokens(tokens);
    let brace_tokens = group.to_token_stream();

    let mut branches = Vec::new();
    while !content.is_empty() {
        let name: Ident = content.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a branch, e.g. `left: [dense(3 -> 3), relu]` or `shortcut: skip`",
            )
        })?;
        // `image => [..]`: the branch reads the named input `image` and takes its name.
        let shorthand = content.peek(Token![=>]);
        if !shorthand && !content.peek(Token![:]) {
            return Err(content.error(format!(
                "expected `:` after the branch name `{name}`, then `[layers]` or `skip`"
            )));
        }
        // `img: image => [..]`: the branch reads the named input `image`.
        let source = if shorthand {
            content.parse::<Token![=>]>()?;
            Some(name.clone())
        } else {
            content.parse::<Token![:]>()?;
            if content.peek(Ident) && content.peek2(Token![=>]) {
                let source: Ident = content.parse()?;
                content.parse::<Token![=>]>()?;
                Some(source)
            } else {
                None
            }
        };
        let layers = if content.peek(token::Bracket) {
            let inner;
            syn::bracketed!(inner in content);
            let mut layers = Vec::new();
            while !inner.is_empty() {
                layers.push(parse_layer(&inner, layers.len(), errors)?);
                if inner.is_empty() {
                    break;
                }
                if !inner.peek(Token![,]) {
                    return Err(inner.error("expected `,` between the layers of a branch"));
                }
                inner.parse::<Token![,]>()?;
            }
            Some(layers)
        } else {
            let skip: Ident = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected `[layers]` or `skip` for branch `{name}`"),
                )
            })?;
            if skip != "skip" {
                let hint = if content.peek(token::Bracket) {
                    format!("; to read the input `{skip}`, write `{name}: {skip} => [..]`")
                } else {
                    String::new()
                };
                return Err(syn::Error::new_spanned(
                    &skip,
                    format!(
                        "expected `[layers]` or `skip` for branch `{name}`, found `{skip}`{hint}"
                    ),
                ));
            }
            None
        };
        branches.push(Branch {
            name,
            source,
            layers,
        });
        if content.is_empty() {
            break;
        }
        if !content.peek(Token![,]) {
            return Err(content.error("expected `,` between branches"));
        }
        content.parse::<Token![,]>()?;
    }

    if !input.peek(Token![=>]) {
        return Err(input.error("expected `=>` and a merge after the branches: `=> concat`, `=> concat(AXIS)`, `=> stack` or `=> add`"));
    }
    let arrow: Token![=>] = input.parse()?;
    arrow.to_tokens(tokens);
    let merge_keyword: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected a merge: `concat`, `concat(AXIS)`, `stack` or `add`",
        )
    })?;
    let mut merge_tokens = merge_keyword.to_token_stream();
    if merge_keyword == "multi_head_attention" {
        let attention =
            crate::kinds::attention::read_merge(&merge_keyword, input, &mut merge_tokens)?;
        merge_tokens.to_tokens(tokens);
        return Ok(LayerKind::Fork(Fork {
            branches,
            merge: Merge {
                keyword: merge_keyword,
                kind: MergeKind::Attention,
                tokens: merge_tokens,
                attention: Some(attention),
            },
            brace_tokens,
        }));
    }
    let axis = if input.peek(token::Paren) {
        let args;
        let paren = parenthesized!(args in input);
        let mut group = Group::new(Delimiter::Parenthesis, TokenStream::new());
        group.set_span(paren.span.join());
        group.to_tokens(&mut merge_tokens);
        let axis = args
            .parse::<LitInt>()
            .ok()
            .filter(|_| args.is_empty())
            .and_then(|lit| lit.base10_parse::<usize>().ok());
        let _rest: TokenStream = args.parse()?;
        Some((axis, group))
    } else {
        None
    };
    merge_tokens.to_tokens(tokens);
    let word = merge_keyword.to_string();
    let kind = match (word.as_str(), axis) {
        ("concat", None) => MergeKind::Concat(None),
        ("concat", Some((Some(axis), _))) => MergeKind::Concat(Some(axis)),
        ("concat", Some((None, group))) => {
            errors.push(syn::Error::new_spanned(
                group,
                "`concat` takes one axis, a whole number such as `concat(0)`; without it, it joins the feature axis (the channels of an image)",
            ));
            MergeKind::Invalid
        }
        ("stack" | "add", Some((_, group))) => {
            errors.push(syn::Error::new_spanned(
                group,
                format!("`{word}` takes no arguments; write just `{word}`"),
            ));
            MergeKind::Invalid
        }
        ("stack", None) => MergeKind::Stack,
        ("add", None) => MergeKind::Add,
        _ => {
            errors.push(syn::Error::new_spanned(
                &merge_keyword,
                format!(
                    "unknown merge `{word}`; expected `concat`, `concat(AXIS)`, `stack`, `add` or `multi_head_attention(D, heads = H)`"
                ),
            ));
            MergeKind::Invalid
        }
    };
    Ok(LayerKind::Fork(Fork {
        branches,
        merge: Merge {
            keyword: merge_keyword,
            kind,
            tokens: merge_tokens,
            attention: None,
        },
        brace_tokens,
    }))
}

fn read_kind(keyword: &Ident, args: Option<Args>) -> syn::Result<LayerKind> {
    let word = keyword.to_string();
    if word == "input" {
        // `input(image: 784)`: a named input (a size never has a lone `:` after its name).
        let name = match &args {
            Some(Args { content, .. })
                if content.peek(Ident)
                    && content.peek2(Token![:])
                    && !content.peek2(Token![::]) =>
            {
                let name: Ident = content.parse()?;
                content.parse::<Token![:]>()?;
                Some(name)
            }
            _ => None,
        };
        return Ok(LayerKind::Input {
            name,
            dims: dim_list(keyword, args)?,
            tokens: false,
        });
    }
    match kinds::find(&word) {
        Some(kind) => (kind.parse)(keyword, args).map(LayerKind::Spec),
        // Reported by validation, which knows what the layer reads.
        None => Ok(LayerKind::Unknown),
    }
}

/// The sizes of `input(..)` or `reshape(..)`: at least one.
pub fn dim_list(keyword: &Ident, args: Option<Args>) -> syn::Result<Vec<Dim>> {
    let Some(Args { content, group }) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`{keyword}` needs the per-sample sizes, e.g. `{keyword}(4, 7)`"),
        ));
    };
    let dims = sizes(content).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{e}; `{keyword}` takes sizes, e.g. `{keyword}(4, 7)`"),
        )
    })?;
    if dims.is_empty() {
        return Err(syn::Error::new_spanned(
            group,
            format!("`{keyword}` needs at least one size, e.g. `{keyword}(4, 7)`"),
        ));
    }
    Ok(dims)
}

/// `d1, d2, ...` with an optional trailing comma.
fn sizes(input: ParseStream) -> syn::Result<Vec<Dim>> {
    let mut dims = Vec::new();
    while !input.is_empty() {
        dims.push(parse_dim(input)?);
        if input.is_empty() {
            break;
        }
        if !input.peek(Token![,]) {
            return Err(input.error("expected `,` between sizes"));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(dims)
}

/// One size: an integer, a constant or path, or a const block.
pub fn parse_dim(input: ParseStream) -> syn::Result<Dim> {
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        let value = match lit.base10_parse::<u64>() {
            Ok(value) => value,
            // Digits beyond `u64`: kept saturated, so validation reports them as too large.
            Err(_) if lit.base10_digits().bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
            Err(_) => return Err(syn::Error::new(lit.span(), "a size must be a whole number")),
        };
        if !matches!(lit.suffix(), "" | "usize") {
            return Err(syn::Error::new(
                lit.span(),
                "a size is a `usize`; drop the suffix",
            ));
        }
        return Ok(Dim::Literal { value, lit });
    }
    if input.peek(token::Brace) {
        let block: syn::ExprBlock = input.parse()?;
        return Ok(Dim::Named(Box::new(Expr::Block(block))));
    }
    if input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super])
    {
        let path: syn::ExprPath = input.parse()?;
        return Ok(Dim::Named(Box::new(Expr::Path(path))));
    }
    Err(input.error("expected a size: an integer such as `128`, a constant such as `HIDDEN`, or `{ 2 * HIDDEN }`"))
}
