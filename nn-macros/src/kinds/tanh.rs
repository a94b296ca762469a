//! `tanh`: the hyperbolic tangent, elementwise on any shape.

use proc_macro2::{Ident, TokenStream};

use super::bake::{self, Alpha, BakeCx, BakeIo, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, no_args};

pub const KIND: Kind = Kind {
    keyword: "tanh",
    parse,
    takes: ANY_RANK,
};

struct Tanh;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Tanh))
}

impl Spec for Tanh {
    fn text(&self) -> String {
        "tanh".into()
    }

    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Tanh)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::InPlace))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        bake::elementwise("tanh", &Alpha::None, io)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Tanh", None)
    }
}
