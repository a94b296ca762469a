//! What `max_pool` and `avg_pool` share: `(K)` with optional `stride = S` (default: the
//! kernel) and `floor`, on `(C, H, W)` images.

use proc_macro2::TokenStream;
use quote::{format_ident, quote_spanned};

use super::args::{Arg, once, parse_args, unexpected, usize_tokens, whole_number};
use super::bake::{BakeCx, BakeIo, Baking, Run, usize_lit};
use super::image::Window;
use super::{Args, Built, LayerCx, Spec};
use crate::shape::SampleShape;

/// A pooling layer as written.
pub struct Pool {
    keyword: &'static str,
    /// The nn-core type: `MaxPool2d` or `AvgPool2d`.
    ty: &'static str,
    kernel: u64,
    stride: Option<u64>,
    floor: bool,
}

/// Reads `(K)`, `(K, stride = S)`, `(K, floor)` or `(kernel = K, ..)`; without arguments the
/// window is 2, as in Keras.
pub fn parse(
    keyword: &'static str,
    ty: &'static str,
    args: Option<Args>,
) -> syn::Result<Box<dyn Spec>> {
    let usage = format!(
        "`{keyword}` takes a window size and optionally `stride = S` and `floor`, e.g. `{keyword}(2)`"
    );
    let mut pool = Pool {
        keyword,
        ty,
        kernel: 2,
        stride: None,
        floor: false,
    };
    let Some(args) = args else {
        return Ok(Box::new(pool));
    };
    let (mut kernel, mut stride, mut floor) = (None, None, None);
    for arg in parse_args(args.content, &usage)? {
        match &arg {
            Arg::Positional(value) if kernel.is_none() => {
                kernel = Some(whole_number(
                    value,
                    "the window size",
                    &format!("{keyword}(2)"),
                )?);
            }
            Arg::Keyed { key, value } if key == "kernel" || key == "kernel_size" => {
                let k = whole_number(value, "the window size", &format!("{keyword}(2)"))?;
                once(&mut kernel, k, &arg, "the window size")?;
            }
            Arg::Keyed { key, value } if key == "stride" => {
                let s = whole_number(value, "the stride", "stride = 2")?;
                once(&mut stride, s, &arg, "the stride")?;
            }
            Arg::Word(word) if word == "floor" => once(&mut floor, true, &arg, "`floor`")?,
            _ => {
                return Err(unexpected(
                    &arg,
                    keyword,
                    "a window size, `stride = S` and `floor` (no padding)",
                ));
            }
        }
    }
    if let Some(kernel) = kernel {
        pool.kernel = kernel;
    }
    pool.stride = stride;
    pool.floor = floor.unwrap_or(false);
    Ok(Box::new(pool))
}

impl Pool {
    fn stride(&self) -> u64 {
        self.stride.unwrap_or(self.kernel)
    }

    fn written(&self, floor: bool) -> String {
        let mut text = format!("{}({}", self.keyword, self.kernel);
        if let Some(stride) = self.stride {
            text += &format!(", stride = {stride}");
        }
        if floor {
            text += ", floor";
        }
        text + ")"
    }
}

impl Spec for Pool {
    fn text(&self) -> String {
        self.written(self.floor)
    }

    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Ok(Baking::plain(Run::Fresh))
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (&[_, h, w], &[_, oh, ow]) = (cx.input, cx.output) else {
            return TokenStream::new();
        };
        let [h, w, oh, ow, k, stride] = [h, w, oh, ow, self.kernel, self.stride()].map(usize_lit);
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        // `max_pool` runs `baked::max_pool`, `avg_pool` `baked::avg_pool`.
        let kernel = format_ident!("{}", self.keyword);
        quote_spanned!(io.span=> {
            const SHAPE: #nn::baked::PoolShape = #nn::baked::PoolShape {
                h: #h, w: #w, oh: #oh, ow: #ow, k: #k, stride: #stride,
            };
            #nn::baked::#kernel(&SHAPE, #x, #y);
        })
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        let window = Window::square(self.kernel, self.stride(), 0, self.floor);
        let example = self.written(true);
        let (height, width) = cx.window(&image, &window, &example)?;
        let nn = cx.nn;
        let ident = format_ident!("{}", self.ty);
        let (c, h, w) = (
            &image.channels.tokens,
            &image.height.tokens,
            &image.width.tokens,
        );
        let (oh, ow) = (&height.tokens, &width.tokens);
        let (k, s) = (usize_tokens(self.kernel), usize_tokens(self.stride()));
        let ty = quote_spanned!(cx.span()=> #nn::layers::#ident<#c, #h, #w, #oh, #ow, #k, #s>);
        let output =
            SampleShape::known(vec![image.channels.clone(), height, width], cx.reference());
        Some(Built::new(ty, output))
    }
}
