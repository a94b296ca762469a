//! The grammar of `network!`:
//!
//! ```text
//! networks := network+
//! network  := attribute* visibility "struct" IDENT "<" (layer ("," layer)* ","?)? ">" ";"?
//! layer    := (IDENT ":")? IDENT ("(" args ")")?
//! ```
//!
//! A layer's arguments are read inside their own parentheses, so a mistake there is recorded and
//! parsing goes on with the next layer: one build reports every bad layer.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Ident, LitInt, Token, Visibility, parenthesized, token};

use crate::ast::{Dim, Layer, LayerKind, Network, Networks};
use crate::kw;

impl Parse for Networks {
    fn parse(input: ParseStream) -> syn::Result<Self> {
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
        Ok(Networks { networks })
    }
}

impl Parse for Network {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
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
        let mut parse_errors = Vec::new();
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
            vis,
            name,
            list_tokens: quote!(#open #close),
            layers,
            parse_errors,
        })
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
    if !input.peek(Ident) {
        return Err(input.error(
            "expected a layer, such as `dense(784 -> 128)`, `relu` or `fc1: dense(784 -> 128)`",
        ));
    }
    let keyword: Ident = input.parse()?;
    keyword.to_tokens(&mut tokens);

    let kind = if input.peek(token::Paren) {
        let content;
        let paren = parenthesized!(content in input);
        let mut group = Group::new(Delimiter::Parenthesis, TokenStream::new());
        group.set_span(paren.span.join());
        group.to_tokens(&mut tokens);
        let kind = read_kind(&keyword, Some((&content, &group)));
        // Drain what a failed read left, so the error above is the only one.
        let _rest: TokenStream = content.parse()?;
        kind
    } else {
        read_kind(&keyword, None)
    };
    let kind = kind.unwrap_or_else(|error| {
        errors.push(error);
        LayerKind::Invalid
    });
    Ok(Layer {
        name,
        keyword,
        kind,
        position,
        tokens,
    })
}

fn read_kind(keyword: &Ident, args: Option<(ParseStream, &Group)>) -> syn::Result<LayerKind> {
    let word = keyword.to_string();
    let no_args = |kind: LayerKind| match args {
        None => Ok(kind),
        Some((_, group)) => Err(syn::Error::new_spanned(
            group,
            format!("`{word}` takes no arguments; write just `{word}`"),
        )),
    };
    match word.as_str() {
        "dense" => match args {
            Some((content, _)) => dense_args(content).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("{e}; `dense` takes `(IN -> OUT)`, e.g. `dense(784 -> 128)`"),
                )
            }),
            None => Err(syn::Error::new_spanned(
                keyword,
                "`dense` needs its sizes, e.g. `dense(784 -> 128)`",
            )),
        },
        "relu" => no_args(LayerKind::Relu),
        "sigmoid" => no_args(LayerKind::Sigmoid),
        "tanh" => no_args(LayerKind::Tanh),
        "softmax" => no_args(LayerKind::Softmax),
        "leaky_relu" => match args {
            None => Ok(LayerKind::LeakyRelu { alpha: None }),
            Some((content, group)) => {
                let alpha = content.parse::<Expr>().ok().filter(|_| content.is_empty());
                match alpha {
                    Some(alpha) => Ok(LayerKind::LeakyRelu { alpha: Some(alpha) }),
                    None => Err(syn::Error::new_spanned(
                        group,
                        "`leaky_relu` takes one negative slope, e.g. `leaky_relu(0.01)`",
                    )),
                }
            }
        },
        _ => Err(syn::Error::new_spanned(
            keyword,
            match kw::suggest(&word) {
                Some(known) => format!("unknown layer `{word}`; did you mean `{known}`?"),
                None => format!(
                    "unknown layer `{word}`; expected one of {}",
                    kw::LAYER_KINDS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        )),
    }
}

fn dense_args(input: ParseStream) -> syn::Result<LayerKind> {
    let input_dim = parse_dim(input)?;
    if !input.peek(Token![->]) {
        return Err(input.error("expected `->` between the input and output sizes"));
    }
    input.parse::<Token![->]>()?;
    let output = parse_dim(input)?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the output size"));
    }
    Ok(LayerKind::Dense {
        input: input_dim,
        output,
    })
}

fn parse_dim(input: ParseStream) -> syn::Result<Dim> {
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        let value = lit
            .base10_parse::<u64>()
            .map_err(|_| syn::Error::new(lit.span(), "a size must be a whole number"))?;
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
        return Ok(Dim::Named(Expr::Block(block)));
    }
    if input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![crate])
        || input.peek(Token![self])
        || input.peek(Token![super])
    {
        let path: syn::ExprPath = input.parse()?;
        return Ok(Dim::Named(Expr::Path(path)));
    }
    Err(input.error("expected a size: an integer such as `128`, a constant such as `HIDDEN`, or `{ 2 * HIDDEN }`"))
}
