//! `global_avg_pool`: the mean of every channel, `(C, H, W)` → `(C)`.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::bake::{BakeCx, BakeIo, Baking, Run, usize_lit};
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

    fn quant_op(&self, cx: &BakeCx) -> Option<nn_core::quant::Op> {
        let plane = cx.input.iter().skip(1).product::<u64>() as usize;
        Some(nn_core::quant::Op::GlobalAvgPool { plane })
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let plane = usize_lit(cx.input.iter().skip(1).product());
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        quote_spanned!(io.span=> #nn::baked::global_avg_pool(#plane, #x, #y);)
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
