//! Shape arithmetic: per-sample sizes the macro can compute, and the shapes of the buffers
//! between layers.
//!
//! A size written as a literal is known here and every rule on it is checked by the macro. A
//! size written as a constant is carried as tokens: the arithmetic becomes a const expression
//! and the rule a [`ConstCheck`](crate::ctxt::ConstCheck) the compiler evaluates.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ast::Dim;

/// The most per-sample axes a shape may have: batches are at most `Tensor4`.
pub const MAX_RANK: usize = 3;

/// The largest size a literal may give: one axis of 2³¹ − 1 values (8 GiB of `f32`) is already
/// beyond any network this crate can hold, and the cap keeps the macro's size arithmetic sane.
pub const MAX_SIZE: u64 = i32::MAX as u64;

/// The most values one sample may hold, as for a single size, so the sizes the macro computes
/// from them stay far from overflow.
pub const MAX_SAMPLE: u64 = MAX_SIZE;

/// One per-sample size.
#[derive(Clone)]
pub struct Width {
    /// The size when it is known to the macro.
    pub value: Option<u64>,
    /// The size as a const generic argument.
    pub tokens: TokenStream,
    /// The size as a `usize` expression.
    pub value_tokens: TokenStream,
    /// The size as the user wrote it.
    pub text: String,
}

impl Width {
    pub fn of(dim: &Dim) -> Self {
        Width {
            value: dim.literal(),
            tokens: dim.as_const_arg(),
            value_tokens: dim.as_value(),
            text: dim.text(),
        }
    }

    pub fn known(value: u64) -> Self {
        let v = value as usize;
        Width {
            value: Some(value),
            tokens: quote!(#v),
            value_tokens: quote!(#v),
            text: value.to_string(),
        }
    }

    /// A size only the compiler can compute, from a `usize` expression.
    fn computed(expr: TokenStream, text: String) -> Self {
        Width {
            value: None,
            tokens: quote!({ #expr }),
            value_tokens: quote!((#expr)),
            text,
        }
    }

    /// The product of several sizes: computed here when all are known, else a const expression.
    pub fn product(widths: &[Width]) -> Width {
        Self::combine(widths, '*')
    }

    /// The sum of several sizes: computed here when all are known, else a const expression.
    pub fn sum(widths: &[Width]) -> Width {
        Self::combine(widths, '+')
    }

    fn combine(widths: &[Width], op: char) -> Width {
        let values: Option<Vec<u64>> = widths.iter().map(|w| w.value).collect();
        if let Some(values) = values {
            // Saturating: validation caps every size and sample (`MAX_SIZE`, `MAX_SAMPLE`), so
            // only shapes already reported as too large saturate; the macro never panics.
            let folded = if op == '*' {
                values.iter().fold(1u64, |acc, &v| acc.saturating_mul(v))
            } else {
                values.iter().fold(0u64, |acc, &v| acc.saturating_add(v))
            };
            return Width::known(folded);
        }
        if let [single] = widths {
            return single.clone();
        }
        let op_token = if op == '*' { quote!(*) } else { quote!(+) };
        let mut expr = TokenStream::new();
        for (i, width) in widths.iter().enumerate() {
            if i > 0 {
                expr.extend(op_token.clone());
            }
            expr.extend(width.value_tokens.clone());
        }
        let texts: Vec<&str> = widths.iter().map(|w| w.text.as_str()).collect();
        Width::computed(expr, texts.join(&format!(" {op} ")))
    }

    /// The output size of a sliding window (convolution, pooling) over this size:
    /// `(size + padding − span) / stride + 1` ([`AxisWindow::span`]).
    ///
    /// For a known size, [`WindowError`] says why there is no whole output. For a named size
    /// the result is a const expression, and the returned condition (a `bool` expression) must
    /// hold for the window to fit exactly; the caller turns it into a `ConstCheck`.
    ///
    /// With `floor`, a stride that does not end on the edge is no error: the output size rounds
    /// down and the last rows are left out, as PyTorch does.
    pub fn window(
        &self,
        window: &AxisWindow,
        floor: bool,
    ) -> Result<(Width, Option<TokenStream>), WindowError> {
        let stride = window.stride.max(1);
        let (span, padding) = (window.span(), window.padding());
        match self.value {
            Some(size) => {
                let padded = size.saturating_add(padding);
                if padded < span {
                    return Err(WindowError::TooSmall { padded });
                }
                let left = padded - span;
                if !floor && !left.is_multiple_of(stride) {
                    return Err(WindowError::NotWhole {
                        padded,
                        remainder: left % stride,
                    });
                }
                Ok((Width::known(left / stride + 1), None))
            }
            None => {
                let size = &self.value_tokens;
                let (k, s, p) = (span as usize, stride as usize, padding as usize);
                let padded = quote!((#size + #p));
                let padding_text = if window.pad_before == window.pad_after {
                    format!("2·{}", window.pad_before)
                } else {
                    padding.to_string()
                };
                let output = Width::computed(
                    quote!((#padded - #k) / #s + 1),
                    format!("({} + {padding_text} − {k}) / {s} + 1", self.text),
                );
                let fits = if floor {
                    quote!(#padded >= #k)
                } else {
                    quote!(#padded >= #k && (#padded - #k) % #s == 0)
                };
                Ok((output, Some(fits)))
            }
        }
    }
}

/// A window sliding along one axis: `kernel` taps `dilation` apart, moved by `stride` over the
/// input padded with `pad_before` and `pad_after` zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisWindow {
    pub kernel: u64,
    pub stride: u64,
    pub dilation: u64,
    pub pad_before: u64,
    pub pad_after: u64,
}

impl AxisWindow {
    /// `kernel` taps side by side, `padding` on each side.
    pub fn plain(kernel: u64, stride: u64, padding: u64) -> Self {
        Self {
            kernel,
            stride,
            dilation: 1,
            pad_before: padding,
            pad_after: padding,
        }
    }

    /// The input positions one window covers: `dilation · (kernel − 1) + 1`.
    pub fn span(&self) -> u64 {
        self.dilation
            .saturating_mul(self.kernel.saturating_sub(1))
            .saturating_add(1)
    }

    /// The zeros added on both sides together.
    pub fn padding(&self) -> u64 {
        self.pad_before.saturating_add(self.pad_after)
    }
}

/// Why a window does not fit a known size.
#[derive(Debug, PartialEq)]
pub enum WindowError {
    /// The padded size is smaller than the kernel.
    TooSmall { padded: u64 },
    /// The kernel's last position would not end on the padded edge: `remainder` positions are
    /// left over.
    NotWhole { padded: u64, remainder: u64 },
}

/// Which side of a layer type a shape was read from.
#[derive(Clone, Copy)]
pub enum Side {
    Input,
    Output,
}

/// The dims of one sample.
#[derive(Clone)]
pub enum Dims {
    /// Known to the macro (each dim a literal or a named constant).
    Known(Vec<Width>),
    /// Only the compiler knows it: the input or output of a layer type such as a nested
    /// network.
    Of { ty: TokenStream, side: Side },
}

/// The per-sample shape of a buffer, and where it came from.
#[derive(Clone)]
pub struct SampleShape {
    pub dims: Dims,
    /// The layer that fixed this shape, as errors name it (`` `fc1` ``).
    pub source: String,
    /// How a computed size came about, e.g. `(16 x 4 x 4)` after a flatten.
    pub note: Option<String>,
    /// Token ids (`input(T) tokens`), which only an `embedding` reads.
    pub tokens: bool,
}

impl SampleShape {
    pub fn known(dims: Vec<Width>, source: String) -> Self {
        SampleShape {
            dims: Dims::Known(dims),
            source,
            note: None,
            tokens: false,
        }
    }

    pub fn of(ty: TokenStream, side: Side, source: String) -> Self {
        SampleShape {
            dims: Dims::Of { ty, side },
            source,
            note: None,
            tokens: false,
        }
    }

    /// `(3)`, `(16, 4, 4)`; for a shape only the compiler knows, the type it comes from.
    pub fn text(&self) -> String {
        match &self.dims {
            Dims::Known(dims) => {
                let dims: Vec<&str> = dims.iter().map(|d| d.text.as_str()).collect();
                format!("({})", dims.join(", "))
            }
            Dims::Of { ty, .. } => format!("the shape of `{}`", crate::ast::tokens_text(ty)),
        }
    }

    /// The element count of one sample, as a `usize` expression.
    pub fn len_value(&self, nn: &TokenStream) -> TokenStream {
        match &self.dims {
            Dims::Known(dims) => Width::product(dims).value_tokens,
            Dims::Of { ty, side } => {
                let assoc = side_assoc(*side);
                quote!(<<#ty as #nn::layers::Layer>::#assoc<1> as #nn::tensor::Tensor>::LEN)
            }
        }
    }

    /// The dims of one sample with a batch of 1 in front, as a `&'static [usize]` expression
    /// (for const checks that compare or print shapes).
    pub fn shape_value(&self, nn: &TokenStream) -> TokenStream {
        match &self.dims {
            Dims::Known(dims) => {
                let values = dims.iter().map(|d| &d.value_tokens);
                quote!(&[1usize, #(#values),*])
            }
            Dims::Of { ty, side } => {
                let assoc = side_assoc(*side);
                quote!(<<#ty as #nn::layers::Layer>::#assoc<1> as #nn::tensor::Tensor>::SHAPE)
            }
        }
    }

    /// The `Shape` marker type, e.g. `Features<3>` or `OutputOf<Encoder>`.
    pub fn shape_type(&self, nn: &TokenStream) -> TokenStream {
        match &self.dims {
            Dims::Known(dims) => {
                let tokens: Vec<&TokenStream> = dims.iter().map(|d| &d.tokens).collect();
                match tokens.as_slice() {
                    [a] => quote!(#nn::layers::Features<#a>),
                    [a, b] => quote!(#nn::layers::Shape2<#a, #b>),
                    _ => quote!(#nn::layers::Shape3<#(#tokens),*>),
                }
            }
            Dims::Of {
                ty,
                side: Side::Input,
            } => quote!(#nn::layers::InputOf<#ty>),
            Dims::Of {
                ty,
                side: Side::Output,
            } => quote!(#nn::layers::OutputOf<#ty>),
        }
    }

    /// The tensor type of a batch of `batch` samples: the batch first, then the sample's dims.
    pub fn batch_type(&self, nn: &TokenStream, batch: &Ident) -> TokenStream {
        match &self.dims {
            Dims::Known(dims) => {
                let tokens: Vec<&TokenStream> = dims.iter().map(|d| &d.tokens).collect();
                let tensor = format_ident!("Tensor{}", dims.len() + 1);
                quote!(#nn::tensor::#tensor<#batch, #(#tokens),*>)
            }
            Dims::Of { ty, side } => {
                let assoc = side_assoc(*side);
                // On the type, so one that is not a layer is reported where it is written.
                let span = crate::ast::located(syn::spanned::Spanned::span(ty));
                quote::quote_spanned!(span=> <#ty as #nn::layers::Layer>::#assoc<#batch>)
            }
        }
    }
}

fn side_assoc(side: Side) -> Ident {
    match side {
        Side::Input => format_ident!("Input"),
        Side::Output => format_ident!("Output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(size: u64, kernel: u64, stride: u64, padding: u64) -> Result<u64, WindowError> {
        Width::known(size)
            .window(&AxisWindow::plain(kernel, stride, padding), false)
            .map(|(w, _)| w.value.unwrap_or(0))
    }

    #[test]
    fn window_sizes_follow_the_conv_formula() {
        assert_eq!(out(28, 5, 1, 0), Ok(24)); // LeNet conv1
        assert_eq!(out(24, 2, 2, 0), Ok(12)); // 2x2 pool
        assert_eq!(out(28, 3, 1, 1), Ok(28)); // "same" padding
        assert_eq!(out(29, 3, 2, 1), Ok(15));
        assert_eq!(out(1, 1, 1, 0), Ok(1));
    }

    #[test]
    fn window_errors_say_why() {
        assert_eq!(
            out(25, 2, 2, 0),
            Err(WindowError::NotWhole {
                padded: 25,
                remainder: 1
            })
        );
        assert_eq!(out(2, 5, 1, 1), Err(WindowError::TooSmall { padded: 4 }));
        // PyTorch would drop the last row here (floor division); the DSL asks for a fit.
        assert_eq!(
            out(28, 3, 2, 1),
            Err(WindowError::NotWhole {
                padded: 30,
                remainder: 1
            })
        );
    }

    #[test]
    fn floor_rounds_down_like_pytorch() {
        let floor = |size: u64, k, s, p| {
            Width::known(size)
                .window(&AxisWindow::plain(k, s, p), true)
                .map(|(w, _)| w.value.unwrap_or(0))
        };
        assert_eq!(floor(25, 2, 2, 0), Ok(12));
        assert_eq!(floor(28, 3, 2, 1), Ok(14));
        assert_eq!(floor(1, 2, 2, 0), Err(WindowError::TooSmall { padded: 1 }));
    }

    #[test]
    fn named_sizes_become_const_expressions() {
        let named = Width {
            value: None,
            tokens: quote!(H),
            value_tokens: quote!(H),
            text: "H".into(),
        };
        let (width, fits) = named
            .window(&AxisWindow::plain(3, 1, 1), false)
            .unwrap_or_else(|_| unreachable!());
        assert!(width.value.is_none() && fits.is_some());
        assert_eq!(width.text, "(H + 2·1 − 3) / 1 + 1");
    }
}
