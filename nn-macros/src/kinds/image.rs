//! The rules the vision kinds share: a `(C, H, W)` sample, and a sliding window (a conv kernel
//! or a pool) that fits it.

use quote::quote;

use super::{LayerCx, named};
use crate::ctxt::{ConstCheck, Message};
use crate::shape::{Dims, SampleShape, Width, WindowError};

/// An image sample `(C, H, W)` that a vision layer reads.
pub struct Image {
    pub channels: Width,
    pub height: Width,
    pub width: Width,
    pub shape: SampleShape,
}

/// A square window: its size, stride and zero padding on each side, and whether a stride that
/// does not end on the edge rounds down (PyTorch's rule) instead of being an error.
pub struct Window {
    pub kernel: u64,
    pub stride: u64,
    pub padding: u64,
    pub floor: bool,
}

/// The two axes a window slides along.
#[derive(Clone, Copy)]
pub enum Axis {
    Height,
    Width,
}

impl Axis {
    fn noun(self) -> &'static str {
        match self {
            Axis::Height => "height",
            Axis::Width => "width",
        }
    }

    fn units(self, count: u64) -> String {
        let unit = match self {
            Axis::Height => "row",
            Axis::Width => "column",
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

    /// Rule: `window` fits both spatial sizes of `image`: the kernel is no larger than the
    /// padded size, and the strides tile it exactly unless the window rounds down. Returns the
    /// output height and width. A window that fails both axes the same way gives one error
    /// about both. `floor_example` is this layer written with `floor`, for the hint.
    pub fn window(
        &self,
        image: &Image,
        window: &Window,
        floor_example: &str,
    ) -> Option<(Width, Width)> {
        let axes = [(Axis::Height, &image.height), (Axis::Width, &image.width)];
        let mut outputs = Vec::new();
        let mut problems: Vec<(Axis, &Width, WindowError)> = Vec::new();
        for (axis, given) in axes {
            let fitted = given.window(window.kernel, window.stride, window.padding, window.floor);
            match fitted {
                Ok((output, fits)) => {
                    if let Some(fits) = fits {
                        self.check_fit(axis, given, window, &image.shape.source, fits);
                    }
                    outputs.push(output);
                }
                Err(error) => problems.push((axis, given, error)),
            }
        }
        let layer = self.layer.text();
        let source = &image.shape.source;
        match problems.as_slice() {
            [] => {
                let width = outputs.pop()?;
                let height = outputs.pop()?;
                return Some((height, width));
            }
            [(_, h, a), (_, w, b)] if same_kind(a, b) => {
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
                self.error(problem(
                    &layer,
                    "height and width",
                    &both,
                    source,
                    error,
                    window,
                    floor_example,
                    Axis::Height,
                ));
            }
            _ => {
                let sentences: Vec<String> = problems
                    .iter()
                    .map(|(axis, given, error)| {
                        problem(
                            &layer,
                            axis.noun(),
                            &given.text,
                            source,
                            error,
                            window,
                            floor_example,
                            *axis,
                        )
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
        window: &Window,
        source: &str,
        fits: proc_macro2::TokenStream,
    ) {
        let layer = self.layer.text();
        let needs = requirement(axis.noun(), window);
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

/// The error for a window that does not fit `given` along `noun` ("height", or "height and
/// width").
#[allow(clippy::too_many_arguments, reason = "one message from its parts")]
fn problem(
    layer: &str,
    noun: &str,
    given: &str,
    source: &str,
    error: &WindowError,
    window: &Window,
    floor_example: &str,
    axis: Axis,
) -> String {
    let kernel = window.kernel;
    match error {
        WindowError::TooSmall { padded } => {
            let padded = if window.padding > 0 {
                format!(" ({padded} with the padding)")
            } else {
                String::new()
            };
            format!(
                "`{layer}` needs a {noun} of at least {kernel} for its {kernel} x {kernel} window but {source} gives {given}{padded}"
            )
        }
        WindowError::NotWhole { remainder, .. } => format!(
            "`{layer}` needs {} but {source} gives {given}; change the sizes, or write `{floor_example}` to leave out the last {} as PyTorch does",
            requirement(noun, window),
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
fn requirement(noun: &str, window: &Window) -> String {
    let Window {
        kernel,
        stride,
        padding,
        floor,
    } = *window;
    if floor || stride == 1 {
        return if padding > 0 {
            format!("a {noun} of at least {kernel} with the padding")
        } else {
            format!("a {noun} of at least {kernel}")
        };
    }
    match (padding, kernel == stride) {
        (0, true) if kernel == 2 => format!("an even {noun}"),
        (0, true) => format!("a {noun} divisible by {kernel}"),
        (0, false) => format!("a {noun} of {kernel} plus a multiple of {stride}"),
        _ => format!(
            "a {noun} that, padded by {padding} on each side, is {kernel} plus a multiple of {stride}"
        ),
    }
}

/// `s` when `n == s · s`: the side of a square image flattened to `n` values.
fn square_side(n: u64) -> Option<u64> {
    let side = (n as f64).sqrt().round() as u64;
    (side > 1 && side.checked_mul(side) == Some(n)).then_some(side)
}
