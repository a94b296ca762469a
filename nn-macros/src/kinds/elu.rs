//! `elu(ALPHA)` or `elu`: `x`, or `ALPHA · (eˣ − 1)` below zero (default 1.0).

use proc_macro2::{Ident, TokenStream};
use syn::Expr;

use super::bake::{self, Alpha, BakeCx, BakeIo, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, optional_scalar};
use crate::ast::tokens_text;

pub const KIND: Kind = Kind {
    keyword: "elu",
    parse,
    takes: ANY_RANK,
};

struct Elu {
    alpha: Option<Expr>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let alpha = optional_scalar(args, "alpha", "elu(1.0)")
        .map_err(|e| syn::Error::new(e.span(), format!("`{keyword}` {e}")))?;
    Ok(Box::new(Elu { alpha }))
}

impl Spec for Elu {
    fn text(&self) -> String {
        match &self.alpha {
            Some(alpha) => format!("elu({})", tokens_text(alpha)),
            None => "elu".into(),
        }
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::InPlace))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let alpha = match &self.alpha {
            Some(alpha) => Alpha::Given(Box::new(alpha.clone())),
            None => Alpha::Default("ELU_ALPHA"),
        };
        bake::elementwise("elu", &alpha, io)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Elu", self.alpha.as_ref())
    }
}
