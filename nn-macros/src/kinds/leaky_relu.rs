//! `leaky_relu(ALPHA)` or `leaky_relu`: `x`, or `ALPHA · x` below zero (default 0.01).

use proc_macro2::{Ident, TokenStream};
use syn::Expr;

use super::bake::{self, Alpha, BakeCx, BakeIo, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, optional_scalar};
use crate::ast::tokens_text;

pub const KIND: Kind = Kind {
    keyword: "leaky_relu",
    parse,
    takes: ANY_RANK,
};

struct LeakyRelu {
    alpha: Option<Expr>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let alpha = optional_scalar(args, "negative slope", "leaky_relu(0.01)")
        .map_err(|e| syn::Error::new(e.span(), format!("`{keyword}` {e}")))?;
    Ok(Box::new(LeakyRelu { alpha }))
}

impl Spec for LeakyRelu {
    fn text(&self) -> String {
        match &self.alpha {
            Some(alpha) => format!("leaky_relu({})", tokens_text(alpha)),
            None => "leaky_relu".into(),
        }
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::InPlace))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let alpha = match &self.alpha {
            Some(alpha) => Alpha::Given(Box::new(alpha.clone())),
            None => Alpha::Default("LEAKY_RELU_ALPHA"),
        };
        bake::elementwise("leaky_relu", &alpha, io)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("LeakyRelu", self.alpha.as_ref())
    }
}
