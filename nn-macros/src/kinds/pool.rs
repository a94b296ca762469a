//! What `max_pool`, `avg_pool`, `max_pool1d` and `avg_pool1d` share: a window (`K`, or
//! `(KH, KW)` on images) with optional `stride` (default: the window), `padding = P |
//! (PH, PW) | same | valid`, `floor`, and for averages `count_include_pad`; the rule that
//! padding is at most half the window; the layer types and how they bake.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::args::{Arg, once, parse_args, unexpected, usize_tokens, word_of};
use super::bake::{BakeCx, BakeIo, Baking, Run, usize_lit};
use super::conv::{Padding, PerAxis, padding_per_axis, per_axis, sequence_of_channels};
use super::image::Window;
use super::{Args, Built, LayerCx, Spec};
use crate::shape::{AxisWindow, SampleShape};

/// Which statistic a pool takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    Max,
    Mean,
}

/// A pooling layer as written.
pub struct Pool {
    statistic: Statistic,
    /// Over `(C, L)` sequences instead of `(C, H, W)` images.
    one_d: bool,
    /// Height then width; a 1-D pool's height is 1.
    kernel: PerAxis,
    /// `None`: the window.
    stride: Option<PerAxis>,
    padding: Padding,
    /// As written; `None` counts the padding unless it is `same` (see [`Pool::counts_padding`]).
    count_include_pad: Option<bool>,
    floor: bool,
}

/// Reads `(K)`, `(K, stride = S, padding = P, floor)`, `(kernel = K, ..)` and, for averages,
/// `count_include_pad = true | false`; without arguments the window is 2, as in Keras.
pub fn parse(statistic: Statistic, one_d: bool, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let mut pool = Pool {
        statistic,
        one_d,
        kernel: PerAxis::one(2),
        stride: None,
        padding: Padding::Zeros(PerAxis::one(0)),
        count_include_pad: None,
        floor: false,
    };
    let keyword = pool.keyword();
    let usage = pool.usage();
    let Some(args) = args else {
        pool.one_row();
        return Ok(Box::new(pool));
    };
    let axes = if one_d { 1 } else { 2 };
    let (mut kernel, mut stride, mut padding) = (None, None, None);
    let (mut count_include_pad, mut floor) = (None, None);
    for arg in parse_args(args.content, &usage)? {
        let example = format!("{keyword}(2)");
        match &arg {
            Arg::Positional(value) if kernel.is_none() => {
                kernel = Some(per_axis(value, keyword, axes, "the window size", &example)?);
            }
            Arg::Keyed { key, value } if key == "kernel" || key == "kernel_size" => {
                let k = per_axis(value, keyword, axes, "the window size", &example)?;
                once(&mut kernel, k, &arg, "the window size")?;
            }
            Arg::Keyed { key, value } if key == "stride" => {
                let s = per_axis(value, keyword, axes, "the stride", "stride = 2")?;
                once(&mut stride, s, &arg, "the stride")?;
            }
            Arg::Keyed { key, value } if key == "padding" => {
                let p = match word_of(value).as_deref() {
                    Some("same") => Padding::Same,
                    Some("valid") => Padding::Zeros(PerAxis::one(0)),
                    _ => Padding::Zeros(padding_per_axis(value, axes)?),
                };
                once(&mut padding, p, &arg, "the padding")?;
            }
            Arg::Keyed { key, value }
                if key == "count_include_pad" && statistic == Statistic::Mean =>
            {
                let Some(counts) = bool_of(value) else {
                    return Err(syn::Error::new(
                        arg.span(),
                        "`count_include_pad` is `true` (divide by the whole window, PyTorch's default) or `false` (by its part inside the input, TensorFlow's rule)",
                    ));
                };
                once(&mut count_include_pad, counts, &arg, "`count_include_pad`")?;
            }
            Arg::Word(word) if word == "floor" => once(&mut floor, true, &arg, "`floor`")?,
            _ => {
                let takes = match statistic {
                    Statistic::Max => {
                        "a window size, `stride = S`, `padding = P` or `padding = same`, and `floor`"
                    }
                    Statistic::Mean => {
                        "a window size, `stride = S`, `padding = P` or `padding = same`, `count_include_pad = true | false`, and `floor`"
                    }
                };
                return Err(unexpected(&arg, keyword, takes));
            }
        }
    }
    if let Some(kernel) = kernel {
        pool.kernel = kernel;
    }
    pool.stride = stride;
    pool.padding = padding.unwrap_or(pool.padding);
    pool.count_include_pad = count_include_pad;
    pool.floor = floor.unwrap_or(false);
    pool.one_row();
    Ok(Box::new(pool))
}

/// `true` or `false` written out.
fn bool_of(value: &syn::Expr) -> Option<bool> {
    match value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => Some(b.value),
        _ => None,
    }
}

impl Pool {
    fn keyword(&self) -> &'static str {
        match (self.statistic, self.one_d) {
            (Statistic::Max, false) => "max_pool",
            (Statistic::Mean, false) => "avg_pool",
            (Statistic::Max, true) => "max_pool1d",
            (Statistic::Mean, true) => "avg_pool1d",
        }
    }

    fn usage(&self) -> String {
        let keyword = self.keyword();
        let window = if self.one_d {
            "a window size"
        } else {
            "a window size (one number or `(height, width)`)"
        };
        let counts = match self.statistic {
            Statistic::Max => "",
            Statistic::Mean => ", `count_include_pad = false`",
        };
        format!(
            "`{keyword}` takes {window} and optionally `stride = S`, `padding = P` or `padding = same`{counts}, and `floor`, e.g. `{keyword}(2)` or `{keyword}(3, stride = 2, padding = 1)`"
        )
    }

    /// A 1-D pool is a 2-D one of a single row.
    fn one_row(&mut self) {
        if !self.one_d {
            return;
        }
        self.kernel.values[0] = 1;
        if let Some(stride) = &mut self.stride {
            stride.values[0] = 1;
        }
        if let Padding::Zeros(p) = &mut self.padding {
            p.values[0] = 0;
        }
    }

    fn stride(&self) -> PerAxis {
        self.stride.unwrap_or(self.kernel)
    }

    /// Whether an average divides by the whole window: as written, else PyTorch's default
    /// (yes), except under `padding = same`, which is TensorFlow's and follows its rule (no).
    fn counts_padding(&self) -> bool {
        self.count_include_pad
            .unwrap_or(!matches!(self.padding, Padding::Same))
    }

    fn written(&self, floor: bool) -> String {
        let size = |v: &PerAxis| {
            if self.one_d {
                v.values[1].to_string()
            } else {
                v.text()
            }
        };
        let mut text = format!("{}({}", self.keyword(), size(&self.kernel));
        if let Some(stride) = &self.stride {
            text += &format!(", stride = {}", size(stride));
        }
        match self.padding {
            Padding::Zeros(p) if p.values == [0, 0] => {}
            Padding::Zeros(p) => text += &format!(", padding = {}", size(&p)),
            Padding::Same | Padding::Causal => text += ", padding = same",
        }
        if let Some(counts) = self.count_include_pad {
            text += &format!(", count_include_pad = {counts}");
        }
        if floor {
            text += ", floor";
        }
        text + ")"
    }

    /// The windows along height and width for inputs of `sizes`, or the message for a
    /// `padding = same` at a stride above 1 on a size the macro does not know.
    fn windows(&self, sizes: [Option<u64>; 2]) -> Result<Window, String> {
        let (kernel, stride) = (self.kernel.values, self.stride().values);
        let mut axes = [0, 1].map(|i| AxisWindow::plain(kernel[i], stride[i], 0));
        for (i, axis) in axes.iter_mut().enumerate() {
            let Some((before, after)) = self.padding.around(i, axis, sizes[i]) else {
                let noun = if self.one_d {
                    "length"
                } else {
                    ["height", "width"][i]
                };
                return Err(format!(
                    "`{}` pads `same` at stride {}, which needs the input's {noun} written out: the padding depends on it",
                    self.written(self.floor),
                    axis.stride
                ));
            };
            (axis.pad_before, axis.pad_after) = (before, after);
        }
        let [height, width] = axes;
        Ok(Window {
            height,
            width,
            // `same` may leave the last rows out, as TensorFlow does.
            floor: self.floor || matches!(self.padding, Padding::Same),
        })
    }

    /// Rule: no padding exceeds half its window (PyTorch's), so that every window holds an
    /// input value: a window all padding has no maximum, and an average of nothing.
    fn check_padding(&self, cx: &LayerCx, window: &Window) -> bool {
        let axes: &[(&str, &AxisWindow)] = if self.one_d {
            &[("", &window.width)]
        } else {
            &[
                (" of the height", &window.height),
                (" of the width", &window.width),
            ]
        };
        for (noun, axis) in axes {
            let most = axis.kernel / 2;
            let pad = axis.pad_before.max(axis.pad_after);
            if pad > most {
                let layer = self.written(self.floor);
                let (noun, window_text) = if self.one_d {
                    ("", format!("window of {}", axis.kernel))
                } else {
                    let (h, w) = (window.height.kernel, window.width.kernel);
                    let noun = if window.height == window.width {
                        ""
                    } else {
                        noun
                    };
                    (noun, format!("{h} x {w} window"))
                };
                cx.error(format!(
                    "`{layer}` pads {pad} on each side{noun}, but its {window_text} allows at most {most} (half of it, rounded down, as PyTorch requires): a window over more padding than input would hold no value to pool"
                ));
                return false;
            }
        }
        true
    }

    /// The layer type's const arguments after the sizes: the window, stride and padding of
    /// each axis (height first; one axis for a 1-D pool), then, for an average, whether it
    /// counts the padding.
    fn window_arguments(&self, window: &Window) -> Vec<TokenStream> {
        let axes: Vec<&AxisWindow> = if self.one_d {
            vec![&window.width]
        } else {
            vec![&window.height, &window.width]
        };
        let mut arguments: Vec<TokenStream> = axes.iter().map(|a| usize_tokens(a.kernel)).collect();
        arguments.extend(axes.iter().map(|a| usize_tokens(a.stride)));
        for a in &axes {
            arguments.extend([usize_tokens(a.pad_before), usize_tokens(a.pad_after)]);
        }
        if self.statistic == Statistic::Mean {
            let counts = self.counts_padding();
            arguments.push(quote!(#counts));
        }
        arguments
    }

    fn type_name(&self) -> proc_macro2::Ident {
        let name = match (self.statistic, self.one_d) {
            (Statistic::Max, false) => "MaxPool2d",
            (Statistic::Mean, false) => "AvgPool2d",
            (Statistic::Max, true) => "MaxPool1d",
            (Statistic::Mean, true) => "AvgPool1d",
        };
        format_ident!("{name}")
    }

    fn build_2d(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        let window = self
            .windows([image.height.value, image.width.value])
            .map_err(|message| cx.error(message))
            .ok()?;
        self.check_padding(cx, &window).then_some(())?;
        let (height, width) = cx.window(&image, &window, &self.written(true))?;
        let (nn, ident) = (cx.nn, self.type_name());
        let (c, h, w) = (
            &image.channels.tokens,
            &image.height.tokens,
            &image.width.tokens,
        );
        let (oh, ow) = (&height.tokens, &width.tokens);
        let rest = self.window_arguments(&window);
        let ty = quote_spanned!(cx.span()=> #nn::layers::#ident<#c, #h, #w, #oh, #ow, #(#rest),*>);
        let output =
            SampleShape::known(vec![image.channels.clone(), height, width], cx.reference());
        Some(Built::new(ty, output))
    }

    fn build_1d(&self, cx: &LayerCx) -> Option<Built> {
        let on_images = match self.statistic {
            Statistic::Max => "max_pool",
            Statistic::Mean => "avg_pool",
        };
        let pytorch = match self.statistic {
            Statistic::Max => "MaxPool1d",
            Statistic::Mean => "AvgPool1d",
        };
        let (channels, length, shape) = sequence_of_channels(cx, pytorch, on_images)?;
        let window = self
            .windows([Some(1), length.value])
            .map_err(|message| cx.error(message))
            .ok()?;
        self.check_padding(cx, &window).then_some(())?;
        let out_length = cx.window_1d(
            &length,
            &shape.source,
            &window.width,
            window.floor,
            &self.written(true),
        )?;
        let (nn, ident) = (cx.nn, self.type_name());
        let (c, l, ol) = (&channels.tokens, &length.tokens, &out_length.tokens);
        let rest = self.window_arguments(&window);
        let ty = quote_spanned!(cx.span()=> #nn::layers::#ident<#c, #l, #ol, #(#rest),*>);
        let output = SampleShape::known(vec![channels, out_length], cx.reference());
        Some(Built::new(ty, output))
    }
}

impl Pool {
    /// The `nn::baked::PoolShape` literal of the layer on `cx`'s sizes (a 1-D pool is one row).
    fn shape_tokens(&self, cx: &BakeCx, nn: &TokenStream) -> Option<TokenStream> {
        let ((h, w), (oh, ow)) = match (cx.input, cx.output) {
            (&[_, l], &[_, ol]) if self.one_d => ((1, l), (1, ol)),
            (&[_, h, w], &[_, oh, ow]) if !self.one_d => ((h, w), (oh, ow)),
            _ => return None,
        };
        let window = self.windows([Some(h), Some(w)]).ok()?;
        let axis = |a: &AxisWindow, size: u64, out: u64| {
            let [size, out, kernel, stride, before, after] =
                [size, out, a.kernel, a.stride, a.pad_before, a.pad_after].map(usize_lit);
            quote!(#nn::baked::ConvAxis {
                size: #size, out: #out, kernel: #kernel, stride: #stride,
                dilation: 1, pad_before: #before, pad_after: #after,
            })
        };
        let height = axis(&window.height, h, oh);
        let width = axis(&window.width, w, ow);
        let counts = self.counts_padding();
        Some(quote!(#nn::baked::PoolShape {
            height: #height, width: #width, count_include_pad: #counts,
        }))
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
        let Some(shape) = self.shape_tokens(cx, io.nn) else {
            return TokenStream::new();
        };
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        // `max_pool` and `max_pool1d` run `baked::max_pool`, the averages `baked::avg_pool`.
        let kernel = match self.statistic {
            Statistic::Max => format_ident!("max_pool"),
            Statistic::Mean => format_ident!("avg_pool"),
        };
        quote_spanned!(io.span=> {
            const SHAPE: #nn::baked::PoolShape = #shape;
            #nn::baked::#kernel(&SHAPE, #x, #y);
        })
    }

    fn quant_op(&self, cx: &BakeCx) -> Option<nn_core::quant::Op> {
        let ((h, w), (oh, ow)) = match (cx.input, cx.output) {
            (&[_, l], &[_, ol]) if self.one_d => ((1, l), (1, ol)),
            (&[_, h, w], &[_, oh, ow]) if !self.one_d => ((h, w), (oh, ow)),
            _ => return None,
        };
        let window = self.windows([Some(h), Some(w)]).ok()?;
        let axis = |a: &AxisWindow, size: u64, out: u64| nn_core::linalg::conv::ConvAxis {
            size: size as usize,
            out: out as usize,
            kernel: a.kernel as usize,
            stride: a.stride as usize,
            dilation: 1,
            pad_before: a.pad_before as usize,
            pad_after: a.pad_after as usize,
        };
        let shape = nn_core::linalg::pool::PoolShape {
            height: axis(&window.height, h, oh),
            width: axis(&window.width, w, ow),
            count_include_pad: self.counts_padding(),
        };
        Some(match self.statistic {
            Statistic::Max => nn_core::quant::Op::MaxPool(shape),
            Statistic::Mean => nn_core::quant::Op::AvgPool(shape),
        })
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        if self.one_d {
            self.build_1d(cx)
        } else {
            self.build_2d(cx)
        }
    }
}
