//! The argument grammar the vision kinds share: a comma-separated list of positional values,
//! `key = value` options and bare words, e.g. `2, stride = 1, floor` or `kernel = 5, padding = same`.

use proc_macro2::{Span, TokenStream};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Lit, Token};

/// One argument as written.
pub enum Arg {
    /// A value without a key: the `2` of `max_pool(2)`.
    Positional(Expr),
    /// `kernel = 5`.
    Keyed { key: Ident, value: Expr },
    /// A bare word: `floor`, `bilinear`, `same`.
    Word(Ident),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Positional(value) => value.span(),
            Arg::Keyed { key, value } => key.span().join(value.span()).unwrap_or(key.span()),
            Arg::Word(word) => word.span(),
        }
    }
}

/// Reads the rest of `input` as arguments; `usage` (e.g. "`max_pool(2, stride = 1)`") ends
/// every syntax error.
pub fn parse_args(input: ParseStream, usage: &str) -> syn::Result<Vec<Arg>> {
    let mut args = Vec::new();
    while !input.is_empty() {
        let arg = if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value = input.parse::<Expr>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("expected a value after `{key} =`; {usage}"),
                )
            })?;
            Arg::Keyed { key, value }
        } else if input.peek(Ident) && (input.peek2(Token![,]) || peek_end(input)) {
            Arg::Word(input.parse()?)
        } else {
            let value = input
                .parse::<Expr>()
                .map_err(|e| syn::Error::new(e.span(), format!("{e}; {usage}")))?;
            Arg::Positional(value)
        };
        args.push(arg);
        if input.is_empty() {
            break;
        }
        if !input.peek(Token![,]) {
            return Err(input.error(format!("expected `,` between arguments; {usage}")));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(args)
}

// Whether one ident is all that is left.
fn peek_end(input: ParseStream) -> bool {
    let fork = input.fork();
    fork.parse::<Ident>().is_ok() && fork.is_empty()
}

/// A whole number written out, e.g. the `5` of `kernel = 5`: the macro computes output sizes
/// from it, so a constant's name is not enough.
pub fn whole_number(value: &Expr, what: &str, example: &str) -> syn::Result<u64> {
    let number = match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(int), ..
        }) if matches!(int.suffix(), "" | "usize") => int.base10_parse::<u64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if n >= 1 => Ok(n),
        Some(_) => Err(syn::Error::new_spanned(
            value,
            format!("{what} must be at least 1, e.g. `{example}`"),
        )),
        None => Err(syn::Error::new_spanned(
            value,
            format!(
                "{what} must be a whole number written out, e.g. `{example}`: `network!` computes the output size from it"
            ),
        )),
    }
}

/// A padding, which may be 0.
pub fn padding_number(value: &Expr, example: &str) -> syn::Result<u64> {
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(int), ..
    }) = value
        && matches!(int.suffix(), "" | "usize")
        && let Ok(n) = int.base10_parse::<u64>()
    {
        return Ok(n);
    }
    Err(syn::Error::new_spanned(
        value,
        format!(
            "the padding must be a whole number written out or `same`, e.g. `{example}`: `network!` computes the output size from it"
        ),
    ))
}

/// The word a value is, if it is one: `same` in `padding = same` (or `padding = "same"`).
pub fn word_of(value: &Expr) -> Option<String> {
    match value {
        Expr::Path(path) => path.path.get_ident().map(Ident::to_string),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// An error on an argument this kind does not take.
pub fn unexpected(arg: &Arg, keyword: &str, takes: &str) -> syn::Error {
    let what = match arg {
        Arg::Positional(value) => format!("unexpected argument `{}`", text(value)),
        Arg::Keyed { key, .. } => format!("`{keyword}` has no option `{key}`"),
        Arg::Word(word) => format!("`{keyword}` has no option `{word}`"),
    };
    syn::Error::new(arg.span(), format!("{what}; it takes {takes}"))
}

/// Tokens as compact text.
pub fn text(tokens: &impl quote::ToTokens) -> String {
    crate::ast::tokens_text(tokens)
}

/// An error unless `slot` is still empty (an option given twice).
pub fn once<T>(slot: &mut Option<T>, value: T, arg: &Arg, what: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            arg.span(),
            format!("{what} is given twice"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// A size or id written as a value, `4` or `HEADS`; otherwise an error saying that `what`
/// (`the number of heads`) is a whole number or a constant, then `usage`.
pub fn whole_or_constant(value: &Expr, what: &str, usage: &str) -> syn::Result<crate::ast::Dim> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(lit), ..
        }) if matches!(lit.suffix(), "" | "usize") => Ok(crate::ast::Dim::Literal {
            value: lit.base10_parse::<u64>().unwrap_or(u64::MAX),
            lit: lit.clone(),
        }),
        Expr::Path(_) | Expr::Block(_) => Ok(crate::ast::Dim::Named(Box::new(value.clone()))),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("{what} is a whole number or a constant; {usage}"),
        )),
    }
}

/// The arguments of a kind that takes nothing or `key_padding = PAD_ID` (`mean_pool`, `last`):
/// the padding id, if given.
pub fn key_padding_only(
    keyword: &Ident,
    args: Option<super::Args>,
    usage: &str,
) -> syn::Result<Option<crate::ast::Dim>> {
    let Some(args) = args else {
        return Ok(None);
    };
    let mut key_padding = None;
    for arg in parse_args(args.content, usage)? {
        match &arg {
            Arg::Keyed { key, value } if key == "key_padding" => {
                let pad = whole_or_constant(value, "the padding id", usage)?;
                once(&mut key_padding, pad, &arg, "`key_padding`")?
            }
            _ => {
                return Err(unexpected(
                    &arg,
                    &keyword.to_string(),
                    "`key_padding = PAD_ID`",
                ));
            }
        }
    }
    if key_padding.is_none() {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("empty parentheses; {usage}"),
        ));
    }
    Ok(key_padding)
}

/// The tokens of a `usize` written by the macro.
pub fn usize_tokens(value: u64) -> TokenStream {
    let value = value as usize;
    quote::quote!(#value)
}
