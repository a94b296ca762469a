//! `global_avg_pool`: the mean of every channel, `(C, H, W)` → `(C)`.

use proc_macro2::Ident;
use quote::quote_spanned;

use super::{Args, Built, Kind, LayerCx, Spec, no_args};
use crate::shape::SampleShape;

pub const KIND: Kind = Kind {
    keyword: "global_avg_pool",
    parse,
    takes: &[3],
};

struct GlobalAvgPool;

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    no_args(keyword, args)?;
    Ok(Box::new(GlobalAvgPool))
}

impl Spec for GlobalAvgPool {
    fn text(&self) -> String {
        "global_avg_pool".into()
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        let nn = cx.nn;
        let (c, h, w) = (
            &image.channels.tokens,
            &image.height.tokens,
            &image.width.tokens,
        );
        let ty = quote_spanned!(cx.span()=> #nn::layers::GlobalAvgPool<#c, #h, #w>);
        let output = SampleShape::known(vec![image.channels.clone()], cx.reference());
        Some(Built::new(ty, output))
    }
}
