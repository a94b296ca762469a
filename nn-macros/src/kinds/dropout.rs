//! `dropout(P)` or `dropout` (P = 0.5): in training, zeroes each value with probability `P`
//! and scales the rest by `1 / (1 − P)`; at inference, the identity.

use proc_macro2::Ident;
use quote::quote;
use syn::{Expr, Lit};

use super::bake::{BakeCx, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, optional_scalar};
use crate::ast::tokens_text;
use crate::ctxt::{ConstCheck, Message};

pub const KIND: Kind = Kind {
    keyword: "dropout",
    parse,
    takes: ANY_RANK,
};

struct Dropout {
    p: Option<Expr>,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let p = optional_scalar(args, "probability", "dropout(0.5)")
        .map_err(|e| syn::Error::new(e.span(), format!("`{keyword}` {e}")))?;
    if let Some(p) = &p
        && let Some(value) = literal(p)
        && !(0.0..1.0).contains(&value)
    {
        return Err(syn::Error::new_spanned(
            p,
            format!(
                "`dropout({})` drops each value with probability {value}, which must be at least 0 and below 1",
                tokens_text(p)
            ),
        ));
    }
    Ok(Box::new(Dropout { p }))
}

// The value of a float or integer literal, negated or not.
fn literal(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Float(f) => f.base10_parse().ok(),
            Lit::Int(i) => i.base10_parse().ok(),
            _ => None,
        },
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => literal(expr).map(|v| -v),
        _ => None,
    }
}

impl Spec for Dropout {
    fn text(&self) -> String {
        match &self.p {
            Some(p) => format!("dropout({})", tokens_text(p)),
            None => "dropout".into(),
        }
    }

    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Identity)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Identity))
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let mut built = cx.elementwise("Dropout", None)?;
        let ty = &built.ty;
        if let Some(p) = self.p.as_ref().filter(|p| literal(p).is_none()) {
            // A named probability: the compiler checks its range.
            cx.ctxt.check(ConstCheck {
                span: cx.span(),
                condition: quote!({ let p: f32 = #p; p >= 0.0 && p < 1.0 }),
                message: Message::default().text(format!(
                    "`{}`: the probability must be at least 0 and below 1",
                    self.text()
                )),
            });
        }
        // Without a probability, `Composable::build` makes it with PyTorch's default of 0.5.
        built.init = self.p.as_ref().map(|p| quote!(<#ty>::new(#p, rng)));
        Some(built)
    }
}
