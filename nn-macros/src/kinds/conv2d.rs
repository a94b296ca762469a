//! `conv2d(IN -> OUT, kernel = K)`, with optional `stride = S`, `padding = P` or
//! `padding = same`, and `floor`: a 2-D convolution with bias on `(C, H, W)` images.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;
use syn::Token;
use syn::parse::ParseStream;

use super::args::{
    Arg, once, padding_number, parse_args, unexpected, usize_tokens, whole_number, word_of,
};
use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run, usize_lit};
use super::image::Window;
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::Dim;
use crate::parse::parse_dim;
use crate::shape::{SampleShape, Width};

pub const KIND: Kind = Kind {
    keyword: "conv2d",
    parse,
    takes: &[3],
};

const USAGE: &str = "`conv2d` takes `(IN -> OUT, kernel = K)` and optionally `stride = S`, `padding = P` or `padding = same`, and `floor`, e.g. `conv2d(1 -> 6, kernel = 5)`";

/// How the input is padded.
#[derive(Clone, Copy)]
enum Padding {
    Zeros(u64),
    /// The output keeps the input's size (stride 1, odd kernel): `(K − 1) / 2` on each side.
    Same,
}

struct Conv2d {
    input: Dim,
    output: Dim,
    kernel: u64,
    stride: u64,
    padding: Padding,
    floor: bool,
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`conv2d` needs its channels and kernel; {USAGE}"),
        ));
    };
    let conv = read(args.content)?;
    let Some(conv) = conv else {
        return Err(syn::Error::new_spanned(
            args.group,
            format!("`conv2d` needs its kernel size, e.g. `kernel = 3`; {USAGE}"),
        ));
    };
    Ok(Box::new(conv))
}

// `None` when no kernel size was given.
fn read(input: ParseStream) -> syn::Result<Option<Conv2d>> {
    let channels_in =
        parse_dim(input).map_err(|e| syn::Error::new(e.span(), format!("{e}; {USAGE}")))?;
    if !input.peek(Token![->]) {
        return Err(input.error(format!(
            "expected `->` between the input and output channels; {USAGE}"
        )));
    }
    input.parse::<Token![->]>()?;
    let channels_out =
        parse_dim(input).map_err(|e| syn::Error::new(e.span(), format!("{e}; {USAGE}")))?;
    if !input.is_empty() {
        input.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `,` after the channels; {USAGE}"),
            )
        })?;
    }
    let (mut kernel, mut stride, mut padding, mut floor) = (None, None, None, None);
    let mut padding_span = input.span();
    for arg in parse_args(input, USAGE)? {
        match &arg {
            Arg::Keyed { key, value } if key == "kernel" || key == "kernel_size" => {
                let k = whole_number(value, "the kernel size", "kernel = 3")?;
                once(&mut kernel, k, &arg, "the kernel size")?;
            }
            Arg::Positional(value) if kernel.is_none() => {
                let k = whole_number(value, "the kernel size", "kernel = 3")?;
                kernel = Some(k);
            }
            Arg::Keyed { key, value } if key == "stride" => {
                let s = whole_number(value, "the stride", "stride = 2")?;
                once(&mut stride, s, &arg, "the stride")?;
            }
            Arg::Keyed { key, value } if key == "padding" => {
                let p = match word_of(value).as_deref() {
                    Some("same") => Padding::Same,
                    Some("valid") => Padding::Zeros(0),
                    _ => Padding::Zeros(padding_number(value, "padding = 1")?),
                };
                once(&mut padding, p, &arg, "the padding")?;
                padding_span = arg.span();
            }
            Arg::Word(word) if word == "floor" => once(&mut floor, true, &arg, "`floor`")?,
            _ => {
                return Err(unexpected(
                    &arg,
                    "conv2d",
                    "`kernel = K`, `stride = S`, `padding = P` or `padding = same`, and `floor`",
                ));
            }
        }
    }
    let Some(kernel) = kernel else {
        return Ok(None);
    };
    let stride = stride.unwrap_or(1);
    let padding = padding.unwrap_or(Padding::Zeros(0));
    if let Padding::Same = padding {
        if stride != 1 {
            return Err(syn::Error::new(
                padding_span,
                "`padding = same` keeps the input's size, which needs `stride = 1` (as in PyTorch); give the padding as a number instead",
            ));
        }
        if kernel % 2 == 0 {
            return Err(syn::Error::new(
                padding_span,
                format!(
                    "`padding = same` needs an odd kernel to pad both sides equally, but the kernel is {kernel}; give the padding as a number instead"
                ),
            ));
        }
    }
    Ok(Some(Conv2d {
        input: channels_in,
        output: channels_out,
        kernel,
        stride,
        padding,
        floor: floor.unwrap_or(false),
    }))
}

/// The fewest output positions per tile of the column matrix in a baked network: `nn-core`'s
/// `linalg::conv::TILE` (the generated code asserts that the scratch agrees with `nn-core`'s).
const TILE: u64 = 16;

impl Conv2d {
    /// The scratch of a baked convolution, what `ConvShape::forward_tiled_workspace_len` gives
    /// (on every target: the tile's product goes straight into the output, on the host and on
    /// a Cortex-M alike): the column matrix of a tile of whole output rows (the fewest that
    /// hold [`TILE`] positions and a multiple of 4), `IN · K · K · rows · OW` values, or the
    /// whole column matrix (`IN · K · K · OH · OW`) when that is no larger; none for a 1 × 1
    /// kernel with stride 1 and no padding. `None` when the shapes are not `(C, H, W)`.
    fn scratch(&self, cx: &BakeCx) -> Option<u64> {
        let (&[c_in, _, _], &[_, oh, ow]) = (cx.input, cx.output) else {
            return None;
        };
        let k = self.kernel;
        if k == 1 && self.stride == 1 && self.padding() == 0 {
            return Some(0);
        }
        let taps = c_in * k * k;
        let mut rows = TILE.div_ceil(ow.max(1));
        while !(rows * ow).is_multiple_of(4) {
            rows += 1;
        }
        Some(taps * ow * rows.min(oh))
    }

    fn padding(&self) -> u64 {
        match self.padding {
            Padding::Zeros(p) => p,
            Padding::Same => (self.kernel - 1) / 2,
        }
    }

    fn written(&self, floor: bool) -> String {
        let mut text = format!(
            "conv2d({} -> {}, kernel = {}",
            self.input.text(),
            self.output.text(),
            self.kernel
        );
        if self.stride != 1 {
            text += &format!(", stride = {}", self.stride);
        }
        match self.padding {
            Padding::Zeros(0) => {}
            Padding::Zeros(p) => text += &format!(", padding = {p}"),
            Padding::Same => text += ", padding = same",
        }
        if floor {
            text += ", floor";
        }
        text + ")"
    }
}

impl Spec for Conv2d {
    fn text(&self) -> String {
        self.written(self.floor)
    }

    fn sizes(&self) -> Vec<&Dim> {
        vec![&self.input, &self.output]
    }

    /// `weight (OUT, IN, K, K)` and `bias (OUT)`; the scratch is the shared kernel's tiled
    /// workspace (`ConvShape::forward_tiled_workspace_len`, see [`Conv2d::scratch`]).
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let (&[c_in, ..], &[c_out, oh, ow]) = (cx.input, cx.output) else {
            return Err("`conv2d` needs a (C, H, W) input".into());
        };
        let scratch = self.scratch(cx).ok_or("`conv2d` needs a (C, H, W) input")?;
        let (c_in, c_out, k) = (c_in as usize, c_out as usize, self.kernel as usize);
        Ok(Baking {
            params: vec![
                Param {
                    name: "weight",
                    shape: vec![c_out, c_in, k, k],
                },
                Param {
                    name: "bias",
                    shape: vec![c_out],
                },
            ],
            scratch: scratch as usize,
            run: Run::Fresh,
            fold: Fold::Target,
            multiply_accumulates: c_out * c_in * k * k * (oh * ow) as usize,
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (&[c_in, h, w], &[c_out, oh, ow]) = (cx.input, cx.output) else {
            return TokenStream::new();
        };
        let [weight, bias] = io.params.as_slice() else {
            return TokenStream::new();
        };
        let scratch_len = usize_lit(self.scratch(cx).unwrap_or(0));
        let [c_in, c_out, h, w, oh, ow] = [c_in, c_out, h, w, oh, ow].map(usize_lit);
        let [k, stride, pad] = [self.kernel, self.stride, self.padding()].map(usize_lit);
        let (nn, x, y, scratch) = (io.nn, &io.x, &io.y, &io.scratch);
        quote_spanned!(io.span=> {
            const SHAPE: #nn::baked::ConvShape = #nn::baked::ConvShape {
                c_in: #c_in, c_out: #c_out, h: #h, w: #w, oh: #oh, ow: #ow,
                k: #k, stride: #stride, pad: #pad,
            };
            const _: () = ::core::assert!(
                SHAPE.forward_tiled_workspace_len() == #scratch_len,
                "the macro's scratch for a convolution is not nn's tiled workspace"
            );
            #nn::baked::conv2d(&SHAPE, #weight, #bias, #x, #y, #scratch);
        })
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        let (c_in, c_out) = (&self.input, &self.output);
        cx.matching_size(c_in, "channels", &image.channels, &image.shape, |given| {
            let mut fixed = self.written(self.floor);
            fixed = fixed.replacen(
                &format!("conv2d({} ->", c_in.text()),
                &format!("conv2d({given} ->"),
                1,
            );
            Some(fixed)
        });
        let window = Window {
            kernel: self.kernel,
            stride: self.stride,
            padding: self.padding(),
            floor: self.floor,
        };
        let example = self.written(true);
        let (height, width) = cx.window(&image, &window, &example)?;
        let nn = cx.nn;
        // Typed by the channels that came, so that a mismatch (already reported) does not
        // cascade into type errors.
        let (ci, co) = (&image.channels.tokens, c_out.as_const_arg());
        let (h, w) = (&image.height.tokens, &image.width.tokens);
        let (oh, ow) = (&height.tokens, &width.tokens);
        let (k, s, p) = (
            usize_tokens(self.kernel),
            usize_tokens(self.stride),
            usize_tokens(self.padding()),
        );
        let ty =
            quote_spanned!(cx.span()=> #nn::layers::Conv2d<#ci, #co, #h, #w, #oh, #ow, #k, #s, #p>);
        let output = SampleShape::known(vec![Width::of(c_out), height, width], cx.reference());
        Some(Built::new(ty, output))
    }
}
