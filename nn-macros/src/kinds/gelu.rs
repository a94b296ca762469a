//! `gelu`: the Gaussian error linear unit (tanh approximation, as PyTorch's `approximate='tanh'`), elementwise on any shape.

use proc_macro2::{Ident, TokenStream};

use super::bake::{self, Alpha, BakeCx, BakeIo, Baking, Run};
use super::{ANY_RANK, Args, Built, Kind, LayerCx, Spec, no_args};

pub const KIND: Kind = Kind {
    keyword: "gelu",
    parse,
    takes: ANY_RANK,
};

struct Gelu;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(Gelu))
}

impl Spec for Gelu {
    fn text(&self) -> String {
        "gelu".into()
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::InPlace))
    }

    fn bake_code(&self, _cx: &BakeCx, io: &BakeIo) -> TokenStream {
        bake::elementwise("gelu", &Alpha::None, io)
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        cx.elementwise("Gelu", None)
    }
}
