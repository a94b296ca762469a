//! `leaky_relu(ALPHA)` or `leaky_relu`: `x`, or `ALPHA · x` below zero (default 0.01).

use proc_macro2::Ident;
use quote::quote;
use syn::Expr;

use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::tokens_text;

pub const KIND: Kind = Kind {
    keyword: "leaky_relu",
    parse,
};

struct LeakyRelu {
    alpha: Option<Expr>,
}

fn parse(_keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Ok(Box::new(LeakyRelu { alpha: None }));
    };
    let alpha = args
        .content
        .parse::<Expr>()
        .ok()
        .filter(|_| args.content.is_empty());
    match alpha {
        Some(alpha) => Ok(Box::new(LeakyRelu { alpha: Some(alpha) })),
        None => Err(syn::Error::new_spanned(
            args.group,
            "`leaky_relu` takes one negative slope, e.g. `leaky_relu(0.01)`",
        )),
    }
}

impl Spec for LeakyRelu {
    fn text(&self) -> String {
        match &self.alpha {
            Some(alpha) => format!("leaky_relu({})", tokens_text(alpha)),
            None => "leaky_relu".into(),
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let mut built = cx.elementwise("LeakyRelu", None)?;
        if let Some(alpha) = &self.alpha {
            let ty = &built.ty;
            built.init = Some(quote!(<#ty>::new(#alpha)));
        }
        Some(built)
    }
}
