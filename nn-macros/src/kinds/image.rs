//! The rules the vision kinds share: a `(C, H, W)` sample, and a sliding window (a conv kernel
//! or a pool) that fits it.

use quote::quote;

use super::{LayerCx, named};
use crate::ctxt::{ConstCheck, Message};
use crate::shape::{AxisWindow, Dims, SampleShape, Width, WindowError};

/// An image sample `(C, H, W)` that a vision layer reads.
pub struct Image {
    pub channels: Width,
    pub height: Width,
    pub width: Width,
    pub shape: SampleShape,
}

/// A window over an image: its kernel, stride, dilation and padding along each axis, and
/// whether a stride that does not end on the edge rounds down (PyTorch's rule) instead of
/// being an error.
pub struct Window {
    pub height: AxisWindow,
    pub width: AxisWindow,
    pub floor: bool,
}

impl Window {
    /// How the kernel reads in a message: `3 x 3 window`, `3 x 3 window dilated by 2 (5 x 5)`.
    fn kernel_text(&self) -> String {
        let (h, w) = (&self.height, &self.width);
        let mut text = format!("{} x {} window", h.kernel, w.kernel);
        if h.dilation != 1 || w.dilation != 1 {
            let by = if h.dilation == w.dilation {
                h.dilation.to_string()
            } else {
                format!("{} x {}", h.dilation, w.dilation)
            };
            text += &format!(" dilated by {by} ({} x {})", h.span(), w.span());
        }
        text
    }
}

/// How a 1-D window reads in a message: `3-tap window`, `3-tap window dilated by 4 (9 wide)`.
fn taps_text(axis: &AxisWindow) -> String {
    let mut text = format!("{}-tap window", axis.kernel);
    if axis.dilation != 1 {
        text += &format!(" dilated by {} ({} wide)", axis.dilation, axis.span());
    }
    text
}

/// The axes a window slides along: an image's two, or a sequence's length.
#[derive(Clone, Copy)]
pub enum Axis {
    Height,
    Width,
    Length,
}

impl Axis {
    fn noun(self) -> &'static str {
        match self {
            Axis::Height => "height",
            Axis::Width => "width",
            Axis::Length => "length",
        }
    }

    fn units(self, count: u64) -> String {
        let unit = match self {
            Axis::Height => "row",
            Axis::Width => "column",
            Axis::Length => "position",
        };
        if count == 1 {
            format!("1 {unit}")
        } else {
            format!("{count} {unit}s")
        }
    }
}

impl LayerCx<'_> {
    /// Rule: a vision layer needs a `(C, H, W)` sample; a flat one or a sequence is told what
    /// to add.
    pub fn image_input(&self) -> Option<Image> {
        let shape = self.input()?;
        let layer = self.layer.text();
        match &shape.dims {
            Dims::Known(dims) if dims.len() == 3 => Some(Image {
                channels: dims[0].clone(),
                height: dims[1].clone(),
                width: dims[2].clone(),
                shape: shape.clone(),
            }),
            Dims::Known(dims) => {
                let fix = match dims.as_slice() {
                    [flat] => match flat.value.and_then(square_side) {
                        Some(side) => format!(
                            "; add `reshape(1, {side}, {side})` (or `reshape(C, H, W)`) before it"
                        ),
                        None => "; add `reshape(C, H, W)` before it".to_string(),
                    },
                    [steps, features] => format!(
                        "; to read it as a one-channel image, add `reshape(1, {}, {})` before it",
                        steps.text, features.text
                    ),
                    _ => String::new(),
                };
                let what = if dims.len() == 1 {
                    "flat samples"
                } else {
                    "sequences"
                };
                self.error(format!(
                    "`{layer}` needs a (C, H, W) image but {} gives {what} {}{fix}",
                    shape.source,
                    shape.text()
                ));
                None
            }
            Dims::Of { .. } => {
                self.error(format!(
                    "`{layer}` needs a (C, H, W) image, and `network!` cannot see the shape {} gives; add `reshape(C, H, W)` before it",
                    shape.source
                ));
                None
            }
        }
    }

    /// Rule: `window` fits both spatial sizes of `image`: the (dilated) kernel is no larger
    /// than the padded size, and the strides tile it exactly unless the window rounds down.
    /// Returns the output height and width. A window that fails both axes the same way gives
    /// one error about both. `floor_example` is this layer written with `floor`, for the hint.
    pub fn window(
        &self,
        image: &Image,
        window: &Window,
        floor_example: &str,
    ) -> Option<(Width, Width)> {
        let axes = [
            (Axis::Height, &image.height, &window.height),
            (Axis::Width, &image.width, &window.width),
        ];
        let kernel = window.kernel_text();
        let mut outputs = self.fit(
            &axes,
            &image.shape.source,
            window.floor,
            &kernel,
            floor_example,
        )?;
        let width = outputs.pop()?;
        let height = outputs.pop()?;
        Some((height, width))
    }

    /// Rule: `window` fits the length of a `(C, L)` sequence, as [`LayerCx::window`] does an
    /// image. Returns the output length.
    pub fn window_1d(
        &self,
        length: &Width,
        source: &str,
        window: &AxisWindow,
        floor: bool,
        floor_example: &str,
    ) -> Option<Width> {
        let axes = [(Axis::Length, length, window)];
        self.fit(&axes, source, floor, &taps_text(window), floor_example)?
            .pop()
    }

    /// The outputs of `axes`, each `(axis, size, window)`, or the errors about them.
    fn fit(
        &self,
        axes: &[(Axis, &Width, &AxisWindow)],
        source: &str,
        floor: bool,
        kernel: &str,
        floor_example: &str,
    ) -> Option<Vec<Width>> {
        let mut outputs = Vec::new();
        let mut problems: Vec<(Axis, &Width, &AxisWindow, WindowError)> = Vec::new();
        for &(axis, given, window) in axes {
            match given.window(window, floor) {
                Ok((output, fits)) => {
                    if let Some(fits) = fits {
                        self.check_fit(axis, given, window, floor, source, fits);
                    }
                    outputs.push(output);
                }
                Err(error) => problems.push((axis, given, window, error)),
            }
        }
        let layer = self.layer.text();
        let problem = |noun: &str, given: &str, window: &AxisWindow, error: &WindowError, axis| {
            let fix = Fix {
                floor,
                floor_example,
                kernel,
            };
            problem(&layer, noun, given, source, error, window, &fix, axis)
        };
        match problems.as_slice() {
            [] => return Some(outputs),
            [(_, h, hw, a), (_, w, ww, b)] if same_kind(a, b) && hw == ww => {
                let both = format!("{} x {}", h.text, w.text);
                // Different leftovers along the two axes are named together, without a count.
                let error = match (a, b) {
                    (
                        WindowError::NotWhole { remainder: x, .. },
                        WindowError::NotWhole { remainder: y, .. },
                    ) if x != y => &WindowError::NotWhole {
                        padded: 0,
                        remainder: 0,
                    },
                    _ => a,
                };
                self.error(problem("height and width", &both, hw, error, Axis::Height));
            }
            _ => {
                let sentences: Vec<String> = problems
                    .iter()
                    .map(|(axis, given, window, error)| {
                        problem(axis.noun(), &given.text, window, error, *axis)
                    })
                    .collect();
                self.error(sentences.join("; and "));
            }
        }
        None
    }

    // A named size: the compiler checks that the window fits it.
    fn check_fit(
        &self,
        axis: Axis,
        given: &Width,
        window: &AxisWindow,
        floor: bool,
        source: &str,
        fits: proc_macro2::TokenStream,
    ) {
        let layer = self.layer.text();
        let needs = requirement(axis.noun(), window, floor);
        let message = Message::default()
            .text(format!("`{layer}` needs {needs} but {source} gives "))
            .value(given.value_tokens.clone())
            .text(named(&given.text, given.value));
        self.ctxt.check(ConstCheck {
            span: self.span(),
            condition: quote!(#fits),
            message,
        });
    }
}

/// What a window error's message offers: the `floor` spelling of the layer, and how its
/// kernel reads.
struct Fix<'a> {
    floor: bool,
    floor_example: &'a str,
    kernel: &'a str,
}

/// The error for a window that does not fit `given` along `noun` ("height", or "height and
/// width").
#[allow(clippy::too_many_arguments, reason = "one message from its parts")]
fn problem(
    layer: &str,
    noun: &str,
    given: &str,
    source: &str,
    error: &WindowError,
    window: &AxisWindow,
    fix: &Fix,
    axis: Axis,
) -> String {
    let span = window.span();
    match error {
        WindowError::TooSmall { padded } => {
            let padded = if window.padding() > 0 {
                format!(" ({padded} with the padding)")
            } else {
                String::new()
            };
            format!(
                "`{layer}` needs a {noun} of at least {span} for its {} but {source} gives {given}{padded}",
                fix.kernel
            )
        }
        WindowError::NotWhole { remainder, .. } => format!(
            "`{layer}` needs {} but {source} gives {given}; change the sizes, or write `{}` to leave out the last {} as PyTorch does",
            requirement(noun, window, fix.floor),
            fix.floor_example,
            if *remainder == 0 {
                "rows and columns".to_string()
            } else if noun.contains(" and ") {
                // "the last 1 row and column", "the last 3 rows and columns".
                let units = axis.units(*remainder);
                let plural = if *remainder == 1 { "" } else { "s" };
                format!("{units} and column{plural}")
            } else {
                axis.units(*remainder)
            }
        ),
    }
}

// Whether two axes fail the same way (both too small, or both left over), so one sentence
// can name both.
fn same_kind(a: &WindowError, b: &WindowError) -> bool {
    matches!(
        (a, b),
        (WindowError::TooSmall { .. }, WindowError::TooSmall { .. })
            | (WindowError::NotWhole { .. }, WindowError::NotWhole { .. })
    )
}

/// What a window asks of a size, in words: "an even height", "a width of 3 plus a multiple of 2".
fn requirement(noun: &str, window: &AxisWindow, floor: bool) -> String {
    let (span, stride, padding) = (window.span(), window.stride, window.padding());
    if floor || stride == 1 {
        return if padding > 0 {
            format!("a {noun} of at least {span} with the padding")
        } else {
            format!("a {noun} of at least {span}")
        };
    }
    let padded = if window.pad_before == window.pad_after {
        format!("padded by {} on each side", window.pad_before)
    } else {
        format!(
            "padded by {} before and {} after",
            window.pad_before, window.pad_after
        )
    };
    match (padding, span == stride) {
        (0, true) if span == 2 => format!("an even {noun}"),
        (0, true) => format!("a {noun} divisible by {span}"),
        (0, false) => format!("a {noun} of {span} plus a multiple of {stride}"),
        _ => format!("a {noun} that, {padded}, is {span} plus a multiple of {stride}"),
    }
}

/// `s` when `n == s · s`: the side of a square image flattened to `n` values.
fn square_side(n: u64) -> Option<u64> {
    let side = (n as f64).sqrt().round() as u64;
    (side > 1 && side.checked_mul(side) == Some(n)).then_some(side)
}
