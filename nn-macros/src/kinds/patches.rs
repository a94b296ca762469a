//! `patches(P)`: a `(C, H, W)` image cut into `P × P` patches in reading order, each one step
//! of `C · P · P` features: `(C, H, W)` → `((H / P) · (W / P), C · P · P)`, the sequence a vision
//! transformer reads. Baked, it runs `nn::baked::patches` (`linalg::sequence::patches`).

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;

use super::args::whole_number;
use super::bake::{BakeCx, BakeIo, Baking, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::shape::{SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "patches",
    parse,
    takes: &[3],
};

struct Patches {
    size: u64,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let example = "patches(7)";
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`patches` needs the patch size, e.g. `{example}`"),
        ));
    };
    let value: syn::Expr = args.content.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{e}; `patches` takes one size, e.g. `{example}`"),
        )
    })?;
    if !args.content.is_empty() {
        return Err(args
            .content
            .error(format!("`patches` takes one size, e.g. `{example}`")));
    }
    Ok(Box::new(Patches {
        size: whole_number(&value, "the patch size", example)?,
    }))
}

impl Spec for Patches {
    fn text(&self) -> String {
        format!("patches({})", self.size)
    }

    /// A permutation into a buffer of its own (`nn::baked::patches`).
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        match cx.input {
            [_, _, _] => Ok(Baking::plain(Run::Fresh)),
            _ => Err(format!("`{}` needs a `(C, H, W)` image", self.text())),
        }
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        let &[c, h, w] = cx.input else {
            return TokenStream::new();
        };
        let (c, h, w, p) = (
            usize_lit(c),
            usize_lit(h),
            usize_lit(w),
            usize_lit(self.size),
        );
        quote_spanned!(io.span=> #nn::baked::patches([#c, #h, #w], #p, #x, #y);)
    }

    /// Rule: the patch size divides the image's height and width.
    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        let layer = cx.layer.text();
        let p = self.size;
        let (Some(c), Some(h), Some(w)) =
            (image.channels.value, image.height.value, image.width.value)
        else {
            cx.error(format!(
                "`{layer}` needs the image's sizes as numbers to count its patches, but {} gives {}",
                image.shape.source,
                image.shape.text()
            ));
            return None;
        };
        let misfits: Vec<String> = [("height", h), ("width", w)]
            .iter()
            .filter(|(_, size)| size % p != 0)
            .map(|(axis, size)| format!("{axis} {size} ({size} % {p} = {})", size % p))
            .collect();
        if !misfits.is_empty() {
            let fits: Vec<String> = (2..=h.min(w))
                .filter(|k| h % k == 0 && w % k == 0)
                .map(|k| k.to_string())
                .collect();
            let fix = match fits.as_slice() {
                [] => "pad the image".to_string(),
                fits => format!(
                    "pick a patch size that divides both ({} for {h} x {w}), or pad the image",
                    fits.join(", ")
                ),
            };
            let (verb, noun) = if misfits.len() == 1 {
                ("is", "a multiple")
            } else {
                ("are", "multiples")
            };
            cx.error(format!(
                "`{layer}` cuts {p} x {p} patches, but {} gives {}, whose {} {verb} not {noun} of {p}; {fix}",
                image.shape.source,
                image.shape.text(),
                misfits.join(" and "),
            ));
            return None;
        }
        let (steps, features) = (Width::known((h / p) * (w / p)), Width::known(c * p * p));
        let nn = cx.nn;
        let (cc, hh, ww) = (
            &image.channels.tokens,
            &image.height.tokens,
            &image.width.tokens,
        );
        let (pp, n, f) = (p as usize, &steps.tokens, &features.tokens);
        let ty = quote_spanned!(cx.span()=> #nn::layers::Patches<#cc, #hh, #ww, #pp, #n, #f>);
        let output = SampleShape {
            note: Some(format!(
                "({} x {} patches of {c} x {p} x {p})",
                h / p,
                w / p
            )),
            ..SampleShape::known(vec![steps, features], cx.reference())
        };
        Some(Built::new(ty, output))
    }
}
