//! `tanh`: the hyperbolic tangent, elementwise on any shape.

use proc_macro2::Ident;

use super::{ANY_RANK, Alpha, Args, Bake, Built, Kind, LayerCx, Spec, no_args};

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

    fn bake(&self) -> Bake {
        Bake::Elementwise {
            function: "tanh",
            alpha: Alpha::None,
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Tanh", None)
    }
}
