//! `relu`: `max(0, x)`, elementwise on any shape.

use proc_macro2::{Ident, TokenStream};

use super::bake::{self, Alpha, BakeCx, BakeIo, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, no_args};

pub const KIND: Kind = Kind {
    keyword: "relu",
    parse,
    takes: ANY_RANK,
};

struct Relu;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Relu))
}

impl Spec for Relu {
    fn text(&self) -> String {
        "relu".into()
    }

    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Relu)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::InPlace))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        bake::elementwise("relu", &Alpha::None, io)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Relu", None)
    }
}
