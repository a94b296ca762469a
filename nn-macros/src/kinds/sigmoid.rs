//! `sigmoid`: `1 / (1 + e⁻ˣ)`, elementwise on any shape.

use proc_macro2::{Ident, TokenStream};

use super::bake::{self, Alpha, BakeCx, BakeIo, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, no_args};

pub const KIND: Kind = Kind {
    keyword: "sigmoid",
    parse,
    takes: ANY_RANK,
};

struct Sigmoid;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Sigmoid))
}

impl Spec for Sigmoid {
    fn text(&self) -> String {
        "sigmoid".into()
    }

    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Sigmoid)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::InPlace))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        bake::elementwise("sigmoid", &Alpha::None, io)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Sigmoid", None)
    }
}
