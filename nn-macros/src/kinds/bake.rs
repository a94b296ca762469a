//! How a layer kind runs in a baked network (`#[weights = ".."]`): each kind's [`Spec::bake`]
//! says which parameters it reads from the file with which shapes, how much scratch it needs
//! and how it uses its input, and [`Spec::bake_code`] emits the call of its `nn::baked`
//! kernel. `baked` reads the file and drives the kinds over the plan.
//!
//! [`Spec::bake`]: super::Spec::bake
//! [`Spec::bake_code`]: super::Spec::bake_code

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};
use syn::Expr;

/// What a kind sees when it bakes: the per-sample shapes it reads and writes, every size
/// known to the macro.
pub struct BakeCx<'a> {
    pub input: &'a [u64],
    pub output: &'a [u64],
}

/// A parameter a baked layer reads from the file: `weight` of `(OUT, IN)` is `fc1.weight`.
pub struct Param {
    pub name: &'static str,
    pub shape: Vec<usize>,
}

/// How a baked layer treats its buffers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// The same values under another shape (`flatten`, `reshape`), or unchanged at inference
    /// (`dropout`): no code, the output is the input's buffer.
    Identity,
    /// In place on its values (an activation); on a buffer another step still reads, on a
    /// copy.
    InPlace,
    /// From its input into a buffer of its own.
    Fresh,
}

/// A layer's part in batch-norm folding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    None,
    /// A layer whose `weight` is one contiguous run per output channel and whose `bias` is one
    /// value per channel (`dense`, `conv2d`): a `batch_norm` right after it folds into them.
    Target,
    /// `batch_norm`: folded into a [`Fold::Target`] right before it, when nothing else reads
    /// that layer's output; otherwise it runs on its own.
    Folds,
}

/// How a kind bakes: its parameters, scratch, buffer use and folding part.
pub struct Baking {
    pub params: Vec<Param>,
    /// `f32`s of scratch, carved from the work arena for the step alone.
    pub scratch: usize,
    pub run: Run,
    pub fold: Fold,
    /// The products it sums per sample, for `infer_probed`'s report (0 for the kinds without
    /// weights).
    pub multiply_accumulates: usize,
}

impl Baking {
    /// A kind that reads nothing from the file.
    pub fn plain(run: Run) -> Self {
        Baking {
            params: Vec::new(),
            scratch: 0,
            run,
            fold: Fold::None,
            multiply_accumulates: 0,
        }
    }
}

/// The expressions a kind's baked code works on.
pub struct BakeIo<'a> {
    pub nn: &'a TokenStream,
    pub span: Span,
    /// The parameters, in the order [`Baking::params`] gave them, as `&[f32]` expressions.
    pub params: Vec<TokenStream>,
    /// The input, `&[f32]` (the values themselves for [`Run::InPlace`]).
    pub x: TokenStream,
    /// The output, `&mut [f32]`.
    pub y: TokenStream,
    /// The scratch, `&mut [f32]` of [`Baking::scratch`] values.
    pub scratch: TokenStream,
}

/// The hyperparameter of an elementwise kind in a baked network.
pub enum Alpha {
    None,
    /// Left out: the constant of `nn::baked` that the heap layer's default is.
    Default(&'static str),
    /// Given, e.g. the `0.2` of `leaky_relu(0.2)`.
    Given(Box<Expr>),
}

/// An activation's baked code: `nn::baked::<function>` on the values, in place.
pub fn elementwise(function: &str, alpha: &Alpha, io: &BakeIo) -> TokenStream {
    let (nn, span, values) = (io.nn, io.span, &io.y);
    let function = format_ident!("{}", function);
    match alpha {
        Alpha::None => quote_spanned!(span=> #nn::baked::#function(#values);),
        Alpha::Default(constant) => {
            let constant = format_ident!("{}", constant);
            quote_spanned!(span=> #nn::baked::#function(#values, #nn::baked::#constant);)
        }
        Alpha::Given(expr) => quote_spanned!(span=> {
            let alpha: f32 = #expr;
            #nn::baked::#function(#values, alpha);
        }),
    }
}

/// The error of a kind that has no baked kernel yet.
pub fn not_yet(keyword: &str, why: &str) -> String {
    format!("`{keyword}` cannot be baked yet: {why}")
}

/// A `usize` literal of `value`.
pub fn usize_lit(value: u64) -> TokenStream {
    let value = value as usize;
    quote::quote!(#value)
}
