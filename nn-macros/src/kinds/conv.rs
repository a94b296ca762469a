//! What `conv1d`, `conv2d` and `depthwise` share: their arguments (a kernel, stride, dilation
//! and padding per axis, channel groups and `floor`), the padding rules (`same` as TensorFlow
//! computes it, `causal`), the groups rule, the layer type and how they bake. Each keyword's
//! module parses its channels and says which [`Flavor`] it is.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Token;
use syn::parse::ParseStream;
use syn::spanned::Spanned;

use super::args::{Arg, once, parse_args, unexpected, usize_tokens, whole_number, word_of};
use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run, usize_lit};
use super::image::Window;
use super::{Args, Built, LayerCx, Spec};
use crate::ast::Dim;
use crate::ctxt::{ConstCheck, Message};
use crate::parse::parse_dim;
use crate::shape::{AxisWindow, Dims, SampleShape, Width};

/// Which keyword declared a convolution.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `conv1d(IN -> OUT, ..)` over `(C, L)` sequences.
    Conv1d,
    /// `conv2d(IN -> OUT, ..)` over `(C, H, W)` images.
    Conv2d,
    /// `depthwise(C, ..)` or `depthwise(C -> OUT, ..)`: a `conv2d` with one group per input
    /// channel.
    Depthwise,
}

impl Flavor {
    fn keyword(self) -> &'static str {
        match self {
            Flavor::Conv1d => "conv1d",
            Flavor::Conv2d => "conv2d",
            Flavor::Depthwise => "depthwise",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Flavor::Conv1d => {
                "`conv1d` takes `(IN -> OUT, kernel = K)` and optionally `stride = S`, `dilation = D`, `padding = P`, `padding = same` or `padding = causal`, `groups = G`, and `floor`, e.g. `conv1d(28 -> 64, kernel = 3, dilation = 2, padding = causal)`"
            }
            Flavor::Conv2d => {
                "`conv2d` takes `(IN -> OUT, kernel = K)` and optionally `stride = S`, `padding = P` or `padding = same`, `dilation = D`, `groups = G`, and `floor`, each size one number or `(height, width)`, e.g. `conv2d(1 -> 6, kernel = 5)` or `conv2d(1 -> 64, kernel = (10, 4), stride = 2, padding = same)`"
            }
            Flavor::Depthwise => {
                "`depthwise` takes `(C, kernel = K)` (one filter per channel) or `(C -> OUT, kernel = K)` (OUT / C per channel) and optionally `stride = S`, `padding = P` or `padding = same`, `dilation = D`, and `floor`, e.g. `depthwise(64, kernel = 3, padding = same)`"
            }
        }
    }

    fn axes(self) -> usize {
        if self == Flavor::Conv1d { 1 } else { 2 }
    }
}

/// A size given once for both axes (`3`) or per axis (`(10, 4)`), as written.
#[derive(Clone, Copy)]
pub struct PerAxis {
    pub values: [u64; 2],
    pub pair: bool,
}

impl PerAxis {
    pub fn one(value: u64) -> Self {
        Self {
            values: [value, value],
            pair: false,
        }
    }

    pub fn text(&self) -> String {
        if self.pair {
            format!("({}, {})", self.values[0], self.values[1])
        } else {
            self.values[0].to_string()
        }
    }
}

/// How the input is padded.
#[derive(Clone, Copy)]
pub enum Padding {
    /// Zeros on both sides of each axis.
    Zeros(PerAxis),
    /// TensorFlow's `same`: `ceil(size / stride)` outputs, the padding split evenly with the
    /// odd one after (bottom, right). At stride 1 this is PyTorch's `padding='same'`.
    Same,
    /// `conv1d` only: `dilation · (kernel − 1)` zeros in front, none behind, so that output `t`
    /// sees inputs up to `t · stride` alone.
    Causal,
}

impl Padding {
    /// The padding before and after axis `i` (0: height, 1: width) of `axis` (its kernel,
    /// stride and dilation) over `size` positions; `None` when `same` at a stride above 1
    /// meets a size the macro does not know.
    pub fn around(self, i: usize, axis: &AxisWindow, size: Option<u64>) -> Option<(u64, u64)> {
        let total = match self {
            Padding::Zeros(p) => return Some((p.values[i], p.values[i])),
            Padding::Causal => return Some((axis.span().saturating_sub(1), 0)),
            Padding::Same if axis.stride == 1 => axis.span().saturating_sub(1),
            Padding::Same => {
                // TensorFlow's rule: enough for `ceil(size / stride)` outputs, the odd zero
                // after.
                let size = size?;
                let outputs = size.div_ceil(axis.stride);
                let reach = outputs
                    .saturating_sub(1)
                    .saturating_mul(axis.stride)
                    .saturating_add(axis.span());
                reach.saturating_sub(size)
            }
        };
        Some((total / 2, total - total / 2))
    }
}

/// A parsed `conv1d`, `conv2d` or `depthwise`.
pub struct Conv {
    pub flavor: Flavor,
    pub input: Dim,
    /// `None` for `depthwise(C, ..)`: as many channels out as in.
    pub output: Option<Dim>,
    /// Height then width; a `conv1d`'s height is 1.
    pub kernel: PerAxis,
    pub stride: PerAxis,
    pub dilation: PerAxis,
    pub padding: Padding,
    /// `groups = G` as written (`depthwise` has one group per input channel).
    pub groups: Option<u64>,
    pub floor: bool,
}

/// Parses a `flavor` layer's arguments.
pub fn parse(keyword: &Ident, args: Option<Args>, flavor: Flavor) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!(
                "`{}` needs its channels and kernel; {}",
                flavor.keyword(),
                flavor.usage()
            ),
        ));
    };
    let conv = read(args.content, flavor, args.group.span())?;
    Ok(Box::new(conv))
}

/// Reads `IN -> OUT` (or `depthwise`'s `C` or `C -> OUT`) and the options, after the keyword.
fn read(input: ParseStream, flavor: Flavor, group: Span) -> syn::Result<Conv> {
    let usage = flavor.usage();
    let with_usage = |e: syn::Error| syn::Error::new(e.span(), format!("{e}; {usage}"));
    let channels_in = parse_dim(input).map_err(with_usage)?;
    let channels_out = if input.peek(Token![->]) {
        input.parse::<Token![->]>()?;
        Some(parse_dim(input).map_err(with_usage)?)
    } else if flavor == Flavor::Depthwise {
        None
    } else {
        return Err(input.error(format!(
            "expected `->` between the input and output channels; {usage}"
        )));
    };
    if !input.is_empty() {
        input.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `,` after the channels; {usage}"),
            )
        })?;
    }
    let keyword = flavor.keyword();
    let axes = flavor.axes();
    let (mut kernel, mut stride, mut dilation) = (None, None, None);
    let (mut padding, mut groups, mut floor) = (None, None, None);
    for arg in parse_args(input, usage)? {
        match &arg {
            Arg::Keyed { key, value } if key == "kernel" || key == "kernel_size" => {
                let k = per_axis(value, keyword, axes, "the kernel size", "kernel = 3")?;
                once(&mut kernel, k, &arg, "the kernel size")?;
            }
            Arg::Positional(value) if kernel.is_none() => {
                kernel = Some(per_axis(
                    value,
                    keyword,
                    axes,
                    "the kernel size",
                    "kernel = 3",
                )?);
            }
            Arg::Keyed { key, value } if key == "stride" => {
                let s = per_axis(value, keyword, axes, "the stride", "stride = 2")?;
                once(&mut stride, s, &arg, "the stride")?;
            }
            Arg::Keyed { key, value } if key == "dilation" => {
                let d = per_axis(value, keyword, axes, "the dilation", "dilation = 2")?;
                once(&mut dilation, d, &arg, "the dilation")?;
            }
            Arg::Keyed { key, value } if key == "padding" => {
                let p = match word_of(value).as_deref() {
                    Some("same") => Padding::Same,
                    Some("valid") => Padding::Zeros(PerAxis::one(0)),
                    Some("causal") if flavor == Flavor::Conv1d => Padding::Causal,
                    Some("causal") => {
                        return Err(syn::Error::new(
                            arg.span(),
                            format!(
                                "`padding = causal` pads the start of a sequence, which is for `conv1d`; `{keyword}` takes `padding = P`, `padding = (PH, PW)` or `padding = same`"
                            ),
                        ));
                    }
                    _ => Padding::Zeros(padding_per_axis(value, axes)?),
                };
                once(&mut padding, p, &arg, "the padding")?;
            }
            Arg::Keyed { key, value } if key == "groups" && flavor != Flavor::Depthwise => {
                let g = whole_number(value, "the number of groups", "groups = 2")?;
                once(&mut groups, g, &arg, "the groups")?;
            }
            Arg::Word(word) if word == "floor" => once(&mut floor, true, &arg, "`floor`")?,
            _ => {
                let takes = match flavor {
                    Flavor::Conv1d => {
                        "`kernel = K`, `stride = S`, `dilation = D`, `padding = P`, `padding = same` or `padding = causal`, `groups = G`, and `floor`"
                    }
                    Flavor::Conv2d => {
                        "`kernel = K`, `stride = S`, `padding = P` or `padding = same`, `dilation = D`, `groups = G`, and `floor`"
                    }
                    Flavor::Depthwise => {
                        "`kernel = K`, `stride = S`, `padding = P` or `padding = same`, `dilation = D`, and `floor` (its groups are its channels)"
                    }
                };
                return Err(unexpected(&arg, keyword, takes));
            }
        }
    }
    let Some(mut kernel) = kernel else {
        return Err(syn::Error::new(
            group,
            format!("`{keyword}` needs its kernel size, e.g. `kernel = 3`; {usage}"),
        ));
    };
    let mut stride = stride.unwrap_or(PerAxis::one(1));
    let mut dilation = dilation.unwrap_or(PerAxis::one(1));
    let mut padding = padding.unwrap_or(Padding::Zeros(PerAxis::one(0)));
    if flavor == Flavor::Conv1d {
        // A sequence is an image of one row.
        for size in [&mut kernel, &mut stride, &mut dilation] {
            size.values[0] = 1;
        }
        if let Padding::Zeros(p) = &mut padding {
            p.values[0] = 0;
        }
    }
    Ok(Conv {
        flavor,
        input: channels_in,
        output: channels_out,
        kernel,
        stride,
        dilation,
        padding,
        groups,
        floor: floor.unwrap_or(false),
    })
}

/// A size for every axis: one number, or (2-D only) `(height, width)`.
pub fn per_axis(
    value: &syn::Expr,
    keyword: &str,
    axes: usize,
    what: &str,
    example: &str,
) -> syn::Result<PerAxis> {
    if let syn::Expr::Tuple(tuple) = value {
        if axes == 1 || tuple.elems.len() != 2 {
            let expected = if axes == 1 {
                format!("{what} of a `{keyword}` is one number, e.g. `{example}`")
            } else {
                format!(
                    "{what} is one number or `(height, width)`, e.g. `{example}` or `{}`",
                    example.replace(char::is_numeric, "(3, 1)")
                )
            };
            return Err(syn::Error::new(value.span(), expected));
        }
        let h = whole_number(&tuple.elems[0], what, example)?;
        let w = whole_number(&tuple.elems[1], what, example)?;
        return Ok(PerAxis {
            values: [h, w],
            pair: true,
        });
    }
    whole_number(value, what, example).map(PerAxis::one)
}

/// A padding for every axis, which may be 0.
pub fn padding_per_axis(value: &syn::Expr, axes: usize) -> syn::Result<PerAxis> {
    let number = |value: &syn::Expr| super::args::padding_number(value, "padding = 1");
    if let syn::Expr::Tuple(tuple) = value
        && axes == 2
        && tuple.elems.len() == 2
    {
        return Ok(PerAxis {
            values: [number(&tuple.elems[0])?, number(&tuple.elems[1])?],
            pair: true,
        });
    }
    number(value).map(PerAxis::one)
}

impl Conv {
    /// As the user wrote it, with `floor` when `floor` says so (for the hint).
    pub fn written(&self, floor: bool) -> String {
        let keyword = self.flavor.keyword();
        let mut text = match &self.output {
            Some(out) => format!("{keyword}({} -> {}", self.input.text(), out.text()),
            None => format!("{keyword}({}", self.input.text()),
        };
        let one_d = self.flavor == Flavor::Conv1d;
        let size = |v: &PerAxis| {
            if one_d {
                v.values[1].to_string()
            } else {
                v.text()
            }
        };
        text += &format!(", kernel = {}", size(&self.kernel));
        if self.stride.values != [1, 1] {
            text += &format!(", stride = {}", size(&self.stride));
        }
        match self.padding {
            Padding::Zeros(p) if p.values == [0, 0] => {}
            Padding::Zeros(p) => text += &format!(", padding = {}", size(&p)),
            Padding::Same => text += ", padding = same",
            Padding::Causal => text += ", padding = causal",
        }
        if self.dilation.values != [1, 1] {
            text += &format!(", dilation = {}", size(&self.dilation));
        }
        if let Some(g) = self.groups {
            text += &format!(", groups = {g}");
        }
        if floor {
            text += ", floor";
        }
        text + ")"
    }

    /// The output channels.
    fn output(&self) -> &Dim {
        self.output.as_ref().unwrap_or(&self.input)
    }

    /// The windows along height and width for inputs of `sizes`: `Err` (a message) when
    /// `padding = same` at a stride above 1 meets a size the macro does not know.
    fn windows(&self, sizes: [Option<u64>; 2]) -> Result<Window, String> {
        let mut axes = [0, 1].map(|i| AxisWindow {
            kernel: self.kernel.values[i],
            stride: self.stride.values[i],
            dilation: self.dilation.values[i],
            pad_before: 0,
            pad_after: 0,
        });
        let mut floor = self.floor;
        for (i, axis) in axes.iter_mut().enumerate() {
            let Some((before, after)) = self.padding.around(i, axis, sizes[i]) else {
                let noun = ["height", "width"][i];
                return Err(format!(
                    "`{}` pads `same` at stride {}, which needs the input's {noun} written out: the padding depends on it",
                    self.written(self.floor),
                    axis.stride
                ));
            };
            axis.pad_before = before;
            axis.pad_after = after;
            // `same` may leave the last rows out, as TensorFlow does.
            floor |= matches!(self.padding, Padding::Same);
        }
        let [height, width] = axes;
        Ok(Window {
            height,
            width,
            floor,
        })
    }

    /// The kernels' shape: the sizes as `nn::baked::ConvShape` holds them, for samples of
    /// `input` and `output` (`(C, H, W)`, or `(C, L)` for a `conv1d`).
    fn kernel_shape(&self, input: &[u64], output: &[u64]) -> Option<KernelShape> {
        let (c_in, h, w, c_out, oh, ow) = match (self.flavor, input, output) {
            (Flavor::Conv1d, &[c, l], &[co, ol]) => (c, 1, l, co, 1, ol),
            (Flavor::Conv2d | Flavor::Depthwise, &[c, h, w], &[co, oh, ow]) => {
                (c, h, w, co, oh, ow)
            }
            _ => return None,
        };
        let window = self.windows([Some(h), Some(w)]).ok()?;
        let groups = match self.flavor {
            Flavor::Depthwise => c_in,
            _ => self.groups.unwrap_or(1),
        };
        Some(KernelShape {
            c_in,
            c_out,
            groups,
            sizes: [(h, oh), (w, ow)],
            window,
        })
    }
}

/// A convolution's sizes, every one known.
struct KernelShape {
    c_in: u64,
    c_out: u64,
    groups: u64,
    sizes: [(u64, u64); 2],
    window: Window,
}

/// The fewest output positions per tile of the column matrix in a baked network: `nn-core`'s
/// `linalg::conv::TILE` (the generated code asserts that the scratch agrees with `nn-core`'s).
const TILE: u64 = 16;

impl KernelShape {
    fn axes(&self) -> [&AxisWindow; 2] {
        [&self.window.height, &self.window.width]
    }

    fn group_in(&self) -> u64 {
        self.c_in / self.groups.max(1)
    }

    /// The scratch of a baked convolution, what `ConvShape::forward_tiled_workspace_len`
    /// gives: the column matrix of a tile of whole output rows (the fewest that hold [`TILE`]
    /// positions and a multiple of 4), `IN · KH · KW · rows · OW` values, or the whole column
    /// matrix when that is no larger; none for a 1 × 1 kernel with stride 1 and no padding. A
    /// depthwise kernel's is its padded plane (see below).
    fn scratch(&self) -> u64 {
        let [(h, oh), (w, ow)] = self.sizes;
        let [ah, aw] = self.axes();
        let plain = |a: &AxisWindow| a.stride == 1 && a.padding() == 0;
        let pointwise = ah.kernel * aw.kernel == 1 && plain(ah) && plain(aw);
        let depthwise = self.groups == self.c_in && self.groups > 1;
        if depthwise {
            // `linalg::depthwise::forward_len`: at stride 1, the zero-padded input plane and
            // the outputs laid out that plane's width apart (the device's kernel), ..
            if ah.stride != 1 || aw.stride != 1 {
                return 0;
            }
            // (A register of 8 zeros after the plane; the outputs rounded up to registers.)
            let (padded_h, padded_w) = (h + ah.padding(), w + aw.padding());
            let padded =
                padded_h * padded_w + 8 + (oh.saturating_sub(1) * padded_w + ow).div_ceil(8) * 8;
            // Or its `RowLayout`, the host's, when longer: rows `width` apart, the input plane
            // between zero rows, an output run, and a mask per kernel column.
            let width = w.max(ow);
            let run = (oh.saturating_sub(1) * width + ow).div_ceil(8) * 8;
            let reach = ah.dilation * ah.kernel.saturating_sub(1) * width
                + aw.dilation * aw.kernel.saturating_sub(1)
                + run;
            let input_end = ah.pad_before * width + aw.pad_before + h.saturating_sub(1) * width + w;
            let rows = reach.max(input_end) + 8 + run + run * aw.kernel;
            return padded.max(rows);
        }
        if pointwise {
            return 0;
        }
        let col_rows = self.c_in * ah.kernel * aw.kernel;
        let mut rows = TILE.div_ceil(ow.max(1));
        while !(rows * ow).is_multiple_of(4) {
            rows += 1;
        }
        col_rows * ow * rows.min(oh)
    }

    /// The shape as `nn-core` holds it.
    fn value(&self) -> nn_core::linalg::conv::ConvShape {
        let [height, width] = [0, 1].map(|i| {
            let (a, (size, out)) = (self.axes()[i], self.sizes[i]);
            nn_core::linalg::conv::ConvAxis {
                size: size as usize,
                out: out as usize,
                kernel: a.kernel as usize,
                stride: a.stride as usize,
                dilation: a.dilation as usize,
                pad_before: a.pad_before as usize,
                pad_after: a.pad_after as usize,
            }
        });
        nn_core::linalg::conv::ConvShape {
            c_in: self.c_in as usize,
            c_out: self.c_out as usize,
            groups: self.groups as usize,
            height,
            width,
        }
    }

    /// `nn::baked::ConvShape { .. }`.
    fn tokens(&self, nn: &TokenStream) -> TokenStream {
        let [c_in, c_out, groups] = [self.c_in, self.c_out, self.groups].map(usize_lit);
        let axes = self
            .axes()
            .into_iter()
            .zip(self.sizes)
            .map(|(a, (size, out))| {
                let [size, out, kernel, stride, dilation, before, after] = [
                    size,
                    out,
                    a.kernel,
                    a.stride,
                    a.dilation,
                    a.pad_before,
                    a.pad_after,
                ]
                .map(usize_lit);
                quote!(#nn::baked::ConvAxis {
                    size: #size, out: #out, kernel: #kernel, stride: #stride,
                    dilation: #dilation, pad_before: #before, pad_after: #after,
                })
            });
        let [height, width]: [TokenStream; 2] =
            axes.collect::<Vec<_>>().try_into().ok().unwrap_or_default();
        quote!(#nn::baked::ConvShape {
            c_in: #c_in, c_out: #c_out, groups: #groups, height: #height, width: #width,
        })
    }
}

impl Spec for Conv {
    fn text(&self) -> String {
        self.written(self.floor)
    }

    fn sizes(&self) -> Vec<&Dim> {
        let mut sizes = vec![&self.input];
        sizes.extend(self.output.as_ref());
        sizes
    }

    /// `weight (OUT, IN / groups, KH, KW)` (`(OUT, IN / groups, K)` for a `conv1d`) and
    /// `bias (OUT)`; the scratch is the shared kernel's tiled workspace.
    fn quant_op(&self, cx: &BakeCx) -> Option<nn_core::quant::Op> {
        Some(nn_core::quant::Op::Conv(
            self.kernel_shape(cx.input, cx.output)?.value(),
        ))
    }

    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let keyword = self.flavor.keyword();
        let shape = self
            .kernel_shape(cx.input, cx.output)
            .ok_or_else(|| format!("`{keyword}` needs its input's sizes written out"))?;
        let [ah, aw] = shape.axes();
        let [(_, oh), (_, ow)] = shape.sizes;
        let (c_out, group_in) = (shape.c_out as usize, shape.group_in() as usize);
        let (kh, kw) = (ah.kernel as usize, aw.kernel as usize);
        let weight = match self.flavor {
            Flavor::Conv1d => vec![c_out, group_in, kw],
            _ => vec![c_out, group_in, kh, kw],
        };
        Ok(Baking {
            params: vec![
                Param {
                    name: "weight",
                    shape: weight,
                },
                Param {
                    name: "bias",
                    shape: vec![c_out],
                },
            ],
            scratch: shape.scratch() as usize,
            run: Run::Fresh,
            fold: Fold::Target,
            multiply_accumulates: c_out * group_in * kh * kw * (oh * ow) as usize,
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let Some(shape) = self.kernel_shape(cx.input, cx.output) else {
            return TokenStream::new();
        };
        let [weight, bias] = io.params.as_slice() else {
            return TokenStream::new();
        };
        let scratch_len = usize_lit(shape.scratch());
        let (nn, x, y, scratch) = (io.nn, &io.x, &io.y, &io.scratch);
        let literal = shape.tokens(nn);
        quote_spanned!(io.span=> {
            const SHAPE: #nn::baked::ConvShape = #literal;
            const _: () = ::core::assert!(
                SHAPE.forward_tiled_workspace_len() == #scratch_len,
                "the macro's scratch for a convolution is not nn's tiled workspace"
            );
            #nn::baked::conv2d(&SHAPE, #weight, #bias, #x, #y, #scratch);
        })
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        match self.flavor {
            Flavor::Conv1d => self.build_1d(cx),
            Flavor::Conv2d | Flavor::Depthwise => self.build_2d(cx),
        }
    }
}

impl Conv {
    fn build_2d(&self, cx: &LayerCx) -> Option<Built> {
        let image = cx.image_input()?;
        self.check_channels(cx, &image.channels, &image.shape);
        let window = match self.windows([image.height.value, image.width.value]) {
            Ok(window) => window,
            Err(message) => {
                cx.error(message);
                return None;
            }
        };
        let (height, width) = cx.window(&image, &window, &self.written(true))?;
        let group_in = self.group_in(cx, &image.channels)?;
        let nn = cx.nn;
        // Typed by the channels that came, so that a mismatch (already reported) does not
        // cascade into type errors.
        let c_out = self.output();
        let (ci, co) = (&image.channels.tokens, c_out.as_const_arg());
        let (h, w) = (&image.height.tokens, &image.width.tokens);
        let (oh, ow) = (&height.tokens, &width.tokens);
        let (a_h, a_w) = (&window.height, &window.width);
        let [kh, kw, sh, sw, pt, pb, pl, pr, dh, dw] = [
            a_h.kernel,
            a_w.kernel,
            a_h.stride,
            a_w.stride,
            a_h.pad_before,
            a_h.pad_after,
            a_w.pad_before,
            a_w.pad_after,
            a_h.dilation,
            a_w.dilation,
        ]
        .map(usize_tokens);
        let ty = quote_spanned!(cx.span()=> #nn::layers::Conv2d<
            #ci, #co, #h, #w, #oh, #ow, #kh, #kw, #sh, #sw, #pt, #pb, #pl, #pr, #dh, #dw, #group_in
        >);
        let output = SampleShape::known(vec![Width::of(c_out), height, width], cx.reference());
        Some(Built::new(ty, output))
    }

    fn build_1d(&self, cx: &LayerCx) -> Option<Built> {
        let (channels, length, shape) = sequence_of_channels(cx, "Conv1d", "conv2d")?;
        self.check_channels(cx, &channels, &shape);
        let window = match self.windows([Some(1), length.value]) {
            Ok(window) => window,
            Err(message) => {
                cx.error(message.replace("width", "length"));
                return None;
            }
        };
        let axis = window.width;
        let out_length = cx.window_1d(
            &length,
            &shape.source,
            &axis,
            window.floor,
            &self.written(true),
        )?;
        let group_in = self.group_in(cx, &channels)?;
        let nn = cx.nn;
        let c_out = self.output();
        let (ci, co) = (&channels.tokens, c_out.as_const_arg());
        let (l, ol) = (&length.tokens, &out_length.tokens);
        let [k, s, pl, pr, d] = [
            axis.kernel,
            axis.stride,
            axis.pad_before,
            axis.pad_after,
            axis.dilation,
        ]
        .map(usize_tokens);
        let ty = quote_spanned!(cx.span()=> #nn::layers::Conv1d<
            #ci, #co, #l, #ol, #k, #s, #pl, #pr, #d, #group_in
        >);
        let output = SampleShape::known(vec![Width::of(c_out), out_length], cx.reference());
        Some(Built::new(ty, output))
    }

    /// Rule: the declared input channels are the ones that come.
    fn check_channels(&self, cx: &LayerCx, given: &Width, from: &SampleShape) {
        let written = self.written(self.floor);
        let keyword = self.flavor.keyword();
        let with_arrow = self.output.is_some();
        let input = self.input.text();
        cx.matching_size(&self.input, "channels", given, from, |given| {
            // `depthwise(C, ..)` gives C channels: changing C would change its output too.
            with_arrow.then(|| {
                written.replacen(
                    &format!("{keyword}({input} ->"),
                    &format!("{keyword}({given} ->"),
                    1,
                )
            })
        });
    }

    /// Rule: the groups divide both channel counts (`depthwise`: the output channels are a
    /// multiple of the input's). Returns the input channels per group, as a const argument.
    fn group_in(&self, cx: &LayerCx, channels: &Width) -> Option<TokenStream> {
        let layer = cx.layer.text();
        let c_out = Width::of(self.output());
        let groups = match self.flavor {
            Flavor::Depthwise => {
                if self.output.is_some() {
                    let ok = divides(cx, channels, &c_out, |c, o| match (c, o) {
                        (Some((c, _)), Some((o, _))) => format!(
                            "`{layer}` gives each of its {c} input channels the same number of filters, so its output channels must be a multiple of {c}, but {o} is not ({o} = {c}·{} + {})",
                            o / c,
                            o % c
                        ),
                        _ => format!(
                            "`{layer}` gives each input channel the same number of filters, so its output channels must be a multiple of its input channels"
                        ),
                    });
                    ok.then_some(())?;
                }
                return Some(usize_tokens(1));
            }
            _ => self.groups.unwrap_or(1),
        };
        if groups == 1 {
            return Some(channels.tokens.clone());
        }
        let g = Width::known(groups);
        let mut ok = true;
        for (size, noun) in [(channels, "input"), (&c_out, "output")] {
            ok &= divides(cx, &g, size, |_, n| match n {
                Some((n, _)) => format!(
                    "`{layer}` splits its channels into {groups} groups, but its {n} {noun} channels are not a multiple of {groups} ({n} = {groups}·{} + {}); make `groups` divide both channel counts",
                    n / groups,
                    n % groups
                ),
                None => format!(
                    "`{layer}` splits its channels into {groups} groups, so its {noun} channels ({}) must be a multiple of {groups}",
                    size.text
                ),
            });
        }
        if !ok {
            return None;
        }
        Some(match channels.value {
            Some(c) => usize_tokens(c / groups),
            None => {
                let c = &channels.value_tokens;
                let g = groups as usize;
                quote!({ #c / #g })
            }
        })
    }
}

/// Rule: `divisor` divides `size`. Both known: an error now, and whether there was none;
/// otherwise a const check. `message` gets each as `(value, text)` when it is known.
fn divides(
    cx: &LayerCx,
    divisor: &Width,
    size: &Width,
    message: impl Fn(Option<(u64, &str)>, Option<(u64, &str)>) -> String,
) -> bool {
    fn known(w: &Width) -> Option<(u64, &str)> {
        w.value.map(|v| (v, w.text.as_str()))
    }
    match (divisor.value, size.value) {
        (Some(d), Some(n)) => {
            if d == 0 || n.is_multiple_of(d) {
                return true;
            }
            cx.error(message(known(divisor), known(size)));
            false
        }
        _ => {
            let (d, n) = (&divisor.value_tokens, &size.value_tokens);
            cx.ctxt.check(ConstCheck {
                span: cx.span(),
                condition: quote!(#n % #d == 0),
                message: Message::default().text(message(known(divisor), known(size))),
            });
            true
        }
    }
}

/// Rule: a 1-D layer (`conv1d`, the 1-D pools; PyTorch's `pytorch`) needs `(C, L)` samples; a flat one, an image or a shape the macro cannot
/// see is told what to write (`on_images`: the 2-D layer to use instead).
pub fn sequence_of_channels(
    cx: &LayerCx,
    pytorch: &str,
    on_images: &str,
) -> Option<(Width, Width, SampleShape)> {
    let shape = cx.input()?;
    let layer = cx.layer.text();
    let problem = match &shape.dims {
        Dims::Known(dims) if dims.len() == 2 => {
            return Some((dims[0].clone(), dims[1].clone(), shape.clone()));
        }
        Dims::Known(dims) => match dims.as_slice() {
            [flat] => format!(
                "flat samples {}; add `reshape(1, {})` before it for one channel of {} steps",
                shape.text(),
                flat.text,
                flat.text
            ),
            [c, h, w] => {
                let pixels = Width::product(&[h.clone(), w.clone()]).text;
                let rows = if c.value == Some(1) {
                    format!(
                        ", or `reshape({}, {})` for {} channels (the rows) over {} steps (the columns)",
                        h.text, w.text, h.text, w.text
                    )
                } else {
                    String::new()
                };
                format!(
                    "(C, H, W) images {}; use `{on_images}` on images, or add `reshape({}, {pixels})` before it to read each channel's pixels as one sequence{rows}",
                    shape.text(),
                    c.text,
                )
            }
            _ => format!("samples {}", shape.text()),
        },
        Dims::Of { .. } => "a shape `network!` cannot see; add `reshape(C, L)` before it".into(),
    };
    cx.error(format!(
        "`{layer}` needs sequences (C, L) of C channels over L steps, as PyTorch's `{pytorch}` does, but {} gives {problem}",
        shape.source
    ));
    None
}
