//! `upsample(S)` or `upsample(S, bilinear)`: every image `S` times higher and wider, by
//! repeating pixels (`nearest`, the default) or by bilinear interpolation (PyTorch's
//! `align_corners=False`).

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::args::{Arg, once, parse_args, unexpected, whole_number, word_of};
use super::bake::{BakeCx, BakeIo, Baking, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::shape::{SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "upsample",
    parse,
    takes: &[3],
};

const USAGE: &str = "`upsample` takes a whole scale and optionally `nearest` (the default) or `bilinear`, e.g. `upsample(2)` or `upsample(2, bilinear)`";

struct Upsample {
    scale: u64,
    bilinear: bool,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`upsample` needs its scale; {USAGE}"),
        ));
    };
    let (mut scale, mut mode) = (None, None);
    for arg in parse_args(args.content, USAGE)? {
        match &arg {
            Arg::Positional(value) if scale.is_none() => {
                scale = Some(whole_number(value, "the scale", "upsample(2)")?);
            }
            Arg::Keyed { key, value } if key == "scale" || key == "scale_factor" => {
                let s = whole_number(value, "the scale", "upsample(2)")?;
                once(&mut scale, s, &arg, "the scale")?;
            }
            Arg::Word(word) if word == "nearest" || word == "bilinear" => {
                once(&mut mode, word == "bilinear", &arg, "the interpolation")?;
            }
            Arg::Keyed { key, value }
                if key == "mode"
                    && matches!(word_of(value).as_deref(), Some("nearest" | "bilinear")) =>
            {
                let bilinear = word_of(value).as_deref() == Some("bilinear");
                once(&mut mode, bilinear, &arg, "the interpolation")?;
            }
            _ => {
                return Err(unexpected(
                    &arg,
                    "upsample",
                    "a scale and `nearest` or `bilinear`",
                ));
            }
        }
    }
    let Some(scale) = scale else {
        return Err(syn::Error::new_spanned(
            args.group,
            format!("`upsample` needs its scale; {USAGE}"),
        ));
    };
    Ok(Box::new(Upsample {
        scale,
        bilinear: mode.unwrap_or(false),
    }))
}

impl Spec for Upsample {
    fn text(&self) -> String {
        if self.bilinear {
            format!("upsample({}, bilinear)", self.scale)
        } else {
            format!("upsample({})", self.scale)
        }
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (&[_, h, w], &[_, oh, ow]) = (cx.input, cx.output) else {
            return TokenStream::new();
        };
        let [h, w, oh, ow, factor] = [h, w, oh, ow, self.scale].map(usize_lit);
        let (nn, x, y, bilinear) = (io.nn, &io.x, &io.y, self.bilinear);
        quote_spanned!(io.span=> {
            const SHAPE: #nn::baked::UpsampleShape = #nn::baked::UpsampleShape {
                h: #h, w: #w, oh: #oh, ow: #ow, factor: #factor,
            };
            #nn::baked::upsample(&SHAPE, #bilinear, #x, #y);
        })
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        let scale = Width::known(self.scale);
        let height = Width::product(&[image.height.clone(), scale.clone()]);
        let width = Width::product(&[image.width.clone(), scale]);
        let output = [image.channels.clone(), height.clone(), width.clone()];
        if cx.too_large(&output) {
            return None;
        }
        let nn = cx.nn;
        let (c, h, w) = (
            &image.channels.tokens,
            &image.height.tokens,
            &image.width.tokens,
        );
        let (oh, ow) = (&height.tokens, &width.tokens);
        let mode = if self.bilinear {
            quote_spanned!(cx.span()=> #nn::layers::Bilinear)
        } else {
            quote_spanned!(cx.span()=> #nn::layers::Nearest)
        };
        let ty = quote_spanned!(cx.span()=> #nn::layers::Upsample<#c, #h, #w, #oh, #ow, #mode>);
        Some(Built::new(
            ty,
            SampleShape::known(output.to_vec(), cx.reference()),
        ))
    }
}
