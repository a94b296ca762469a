//! `sigmoid`: `1 / (1 + e⁻ˣ)`, elementwise on any shape.

use proc_macro2::Ident;

use super::{ANY_RANK, Alpha, Args, Bake, Built, Kind, LayerCx, Spec, no_args};

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

    fn bake(&self) -> Bake {
        Bake::Elementwise {
            function: "sigmoid",
            alpha: Alpha::None,
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Sigmoid", None)
    }
}
