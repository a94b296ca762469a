//! `relu`: `max(0, x)`, elementwise on any shape.

use proc_macro2::Ident;

use super::{ANY_RANK, Alpha, Args, Bake, Built, Kind, LayerCx, Spec, no_args};

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

    fn bake(&self) -> Bake {
        Bake::Elementwise {
            function: "relu",
            alpha: Alpha::None,
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Relu", None)
    }
}
