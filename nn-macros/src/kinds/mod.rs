//! Layer kinds: each keyword of the DSL (`dense`, `relu`, ...) is one module here, owning its
//! argument grammar, its shape rule and the code it generates, behind the [`Spec`] trait.
//!
//! Adding a kind is one module and one line in [`KINDS`]; the rules kinds share (an input must
//! be flat, a size must match what the previous layer gives) are the methods of [`LayerCx`].

mod args;
pub(crate) mod attention;
mod avg_pool;
mod avg_pool1d;
pub mod bake;
mod batch_norm;
mod conv;
mod conv1d;
mod conv2d;
mod dense;
mod depthwise;
mod dropout;
mod elu;
mod embedding;
mod flatten;
mod gelu;
mod global_avg_pool;
mod gru;
mod image;
mod last;
mod layer_norm;
mod leaky_relu;
mod lstm;
mod max_pool;
mod max_pool1d;
mod mean_pool;
mod patches;
mod pool;
mod positional;
mod recurrent;
mod relu;
mod reshape;
mod rms_norm;
mod rnn;
mod sequence;
mod sigmoid;
mod softmax;
mod tanh;
mod upsample;

use proc_macro2::{Group, Ident, Span, TokenStream};
use quote::quote;
use syn::Expr;
use syn::parse::ParseStream;

use crate::ast::{Dim, Layer};
use crate::ctxt::{ConstCheck, Ctxt, Message};
use crate::shape::{Dims, MAX_RANK, MAX_SAMPLE, MAX_SIZE, SampleShape, Width};
use bake::{BakeCx, BakeIo, Baking};

/// Every layer kind, by keyword. The order is the order of the syntax table in the docs.
pub const KINDS: &[Kind] = &[
    dense::KIND,
    relu::KIND,
    leaky_relu::KIND,
    sigmoid::KIND,
    tanh::KIND,
    elu::KIND,
    gelu::KIND,
    softmax::KIND,
    flatten::KIND,
    reshape::KIND,
    conv1d::KIND,
    conv2d::KIND,
    depthwise::KIND,
    max_pool::KIND,
    avg_pool::KIND,
    max_pool1d::KIND,
    avg_pool1d::KIND,
    global_avg_pool::KIND,
    upsample::KIND,
    patches::KIND,
    batch_norm::KIND,
    dropout::KIND,
    rnn::KIND,
    gru::KIND,
    lstm::KIND,
    last::KIND,
    mean_pool::KIND,
    embedding::KIND,
    positional::KIND,
    layer_norm::KIND,
    rms_norm::KIND,
    attention::KIND,
];

/// Keywords that are not layer kinds but structure: they parse in `parse.rs`.
pub const STRUCTURAL: &[&str] = &["input", "fork"];

/// Reads a kind's arguments in parentheses (`None` when there are none) into a [`Spec`].
pub type Parser = fn(&Ident, Option<Args>) -> syn::Result<Box<dyn Spec>>;

/// A layer kind: its keyword, how to read its arguments, and the sample ranks it takes.
pub struct Kind {
    pub keyword: &'static str,
    pub parse: Parser,
    /// The ranks of the samples the kind takes: 1 for `(F)`, 2 for `(T, F)`, 3 for
    /// `(C, H, W)`. "Did you mean" never offers a kind that cannot take the input it would get.
    pub takes: &'static [usize],
}

/// What an elementwise kind takes: samples of any rank.
pub const ANY_RANK: &[usize] = &[1, 2, 3];

/// The parenthesised arguments of a layer: their content and the parentheses themselves.
pub struct Args<'a> {
    pub content: ParseStream<'a>,
    pub group: &'a Group,
}

/// The kind registered under `word`.
pub fn find(word: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|kind| kind.keyword == word)
}

/// Every keyword that can take samples of `rank` (every one when the rank is not known), for
/// "did you mean".
pub fn keywords(rank: Option<usize>) -> impl Iterator<Item = &'static str> {
    KINDS
        .iter()
        .filter(move |kind| rank.is_none_or(|rank| kind.takes.contains(&rank)))
        .map(|kind| kind.keyword)
        .chain(STRUCTURAL.iter().copied().filter(move |_| rank.is_none()))
}

/// One parsed layer of a kind: what the user wrote, and its shape rule and code.
pub trait Spec {
    /// The layer as the user wrote it, e.g. `dense(784 -> 128)`; errors quote it.
    fn text(&self) -> String;

    /// The sizes written in the layer; each must be at least 1 and at most the size limit.
    fn sizes(&self) -> Vec<&Dim> {
        Vec::new()
    }

    /// Applies the kind's shape rule to the input and returns the layer's output shape and
    /// code, or `None` after reporting why through `cx`.
    fn build(&self, cx: &LayerCx) -> Option<Built>;

    /// How the layer runs in a baked network (`#[weights = ".."]`): the parameters it reads
    /// from the file, its scratch and how it uses its buffers; or why it cannot be baked.
    fn bake(&self, _cx: &BakeCx) -> Result<Baking, String> {
        Err(bake::not_yet(
            &self.text(),
            "`nn::baked` has no kernel for this kind",
        ))
    }

    /// The baked layer's code: the call of its `nn::baked` kernel on `io` (nothing for a
    /// [`Run::Identity`](bake::Run::Identity)).
    fn bake_code(&self, _cx: &BakeCx, _io: &BakeIo) -> TokenStream {
        TokenStream::new()
    }

    /// The values of the parameter `param` (one of [`Baking::params`](bake::Baking::params),
    /// `values` as the file stores them) laid out as the layer's `nn::baked` kernel reads them
    /// on the targets where that is not as stored, with the `cfg` predicate of those targets;
    /// `None` when every target reads them as stored. The baked network then holds both
    /// layouts, each under its `cfg`.
    fn target_layout(
        &self,
        _cx: &BakeCx,
        _param: &str,
        _values: &[f32],
    ) -> Option<(TokenStream, Vec<f32>)> {
        None
    }

    /// Whether the kind reads token ids (`input(T) tokens`); only `embedding` does, and every
    /// other kind after token ids is an error.
    fn reads_tokens(&self) -> bool {
        false
    }

    /// The layer's int8 step; `None` for a kind with no int8
    /// form yet (the network then has no `nn::quant::Quantize`, and a quantized file does not
    /// bake it).
    fn quant_op(&self, _cx: &BakeCx) -> Option<nn_core::quant::Op> {
        None
    }
}

/// What a kind builds: the layer type, and the shape it gives.
pub struct Built {
    pub ty: TokenStream,
    /// How to make the layer when it takes hyperparameters (`rng`, a `&mut Rng`, is in
    /// scope); otherwise it is made by `Composable::build`, as every layer can be.
    pub init: Option<TokenStream>,
    pub output: SampleShape,
    /// When the layer is first and fixes the network's input shape itself (`dense(784 -> ..)`).
    pub input: Option<SampleShape>,
    /// Whether the layer type runs one step of a sequence at a time (`nn::layers::Decode`):
    /// a network decodes step by step when all its layers do.
    pub decodes: bool,
    /// Whether the layer also reads the network's token ids (a key-padding mask): its input is
    /// then its sequence with each step's id packed after the features, `(T, F + 1)`.
    pub reads_ids: bool,
}

impl Built {
    /// The same layer, marked as one that decodes step by step (see [`Built::decodes`]).
    pub fn decoding(self) -> Self {
        Built {
            decodes: true,
            ..self
        }
    }

    /// A layer of type `ty`, made by `Composable::build`, that gives `output`.
    pub fn new(ty: TokenStream, output: SampleShape) -> Self {
        Built {
            ty,
            init: None,
            output,
            input: None,
            decodes: false,
            reads_ids: false,
        }
    }
}

/// What a kind sees while building one layer: the layer, its input shape, and the context
/// that gathers errors. The shared shape rules are its methods.
pub struct LayerCx<'a> {
    pub layer: &'a Layer,
    /// The input shape; `None` when this is the first layer and no `input(..)` came before.
    pub input: Option<&'a SampleShape>,
    /// The path to the core, e.g. `::nn::__private`.
    pub nn: &'a TokenStream,
    pub ctxt: &'a Ctxt,
    /// The network being declared, for messages.
    pub network: &'a Ident,
}

impl LayerCx<'_> {
    /// Where generated code for this layer points.
    pub fn span(&self) -> Span {
        self.layer.span()
    }

    /// The layer as errors name it: its name if it has one, else its text.
    pub fn reference(&self) -> String {
        self.layer.reference()
    }

    /// An error spanned on the whole layer.
    pub fn error(&self, message: impl std::fmt::Display) {
        self.ctxt.error(&self.layer.tokens, message);
    }

    /// Rule: a layer that cannot fix the network's input size needs something before it.
    pub fn input(&self) -> Option<&SampleShape> {
        if self.input.is_none() {
            self.error(format!(
                "cannot tell the input size of `{}`: its first layer `{}` does not fix it; start with a layer that does, such as `dense(IN -> OUT)`, or declare it with `input(...)`",
                self.network,
                self.layer.text()
            ));
        }
        self.input
    }

    /// Rule: a layer on feature vectors needs a flat sample of `expected` features (`noun`
    /// names them: "inputs"). Returns the width it reads and, when the layer is first or
    /// follows a layer type whose shape the macro cannot see, the input shape it takes. `suggestion` proposes a fix given the size that came.
    pub fn flat_input(
        &self,
        expected: &Dim,
        noun: &str,
        suggestion: impl Fn(&str) -> Option<String>,
    ) -> Option<(Width, Option<SampleShape>)> {
        let Some(shape) = self.input else {
            let width = Width::of(expected);
            let start = SampleShape::known(vec![width.clone()], self.reference());
            return Some((width, Some(start)));
        };
        match &shape.dims {
            Dims::Known(dims) if dims.len() == 1 => {
                self.matching_size(expected, noun, &dims[0], shape, suggestion);
                Some((dims[0].clone(), None))
            }
            Dims::Known(_) => {
                self.error(format!(
                    "`{}` needs a flat input but {} gives {}; add `flatten` before it",
                    self.layer.text(),
                    shape.source,
                    shape.text()
                ));
                None
            }
            // After a layer type the macro cannot see, the layer takes what it declares and
            // validation bridges the two shapes with a check of its own.
            Dims::Of { .. } => {
                let width = Width::of(expected);
                let takes = SampleShape::known(vec![width.clone()], self.reference());
                Some((width, Some(takes)))
            }
        }
    }

    /// Rule: a size the layer declares (`expected`) equals the size the previous layer gives.
    pub fn matching_size(
        &self,
        expected: &Dim,
        noun: &str,
        given: &Width,
        from: &SampleShape,
        suggestion: impl Fn(&str) -> Option<String>,
    ) {
        let layer = self.layer.text();
        let source = &from.source;
        let gives = match &from.note {
            Some(note) => format!("{} {note}", given.text),
            None => given.text.clone(),
        };
        match (expected.literal(), given.value) {
            // Equal, or a size past the limit that is already reported.
            (Some(a), Some(b)) if a == b || a > MAX_SIZE || b > MAX_SIZE => {}
            (Some(_), Some(_)) => {
                let suggestion = suggestion(&given.text)
                    .map(|fix| format!("; did you mean `{fix}`?"))
                    .unwrap_or_default();
                self.error(format!(
                    "`{layer}` expects {} {noun} but {source} gives {gives}{suggestion}",
                    expected.text()
                ));
            }
            _ => {
                let (want, got) = (expected.as_value(), &given.value_tokens);
                let message = Message::default()
                    .text(format!("`{layer}` expects "))
                    .value(want.clone())
                    .text(named(&expected.text(), expected.literal()))
                    .text(format!(" {noun} but {source} gives "))
                    .value(got.clone())
                    .text(named(&gives, given.value));
                self.ctxt.check(ConstCheck {
                    span: self.span(),
                    condition: quote!(#want == #got),
                    message,
                });
            }
        }
    }

    /// Rule: a declared sample shape has at most [`MAX_RANK`] axes and at most
    /// [`MAX_SAMPLE`](crate::shape::MAX_SAMPLE) values.
    pub fn dims_shape(&self, dims: &[Dim]) -> Option<SampleShape> {
        if dims.len() > MAX_RANK {
            self.error(format!(
                "`{}` has {} dims; a sample has at most {MAX_RANK} (a batch is at most a `Tensor4`)",
                self.layer.text(),
                dims.len()
            ));
            return None;
        }
        let widths: Vec<Width> = dims.iter().map(Width::of).collect();
        if self.too_large(&widths) {
            return None;
        }
        Some(SampleShape::known(widths, self.reference()))
    }

    /// Whether a sample of `dims` is too large: a size past [`MAX_SIZE`] (reported with the
    /// other size rules), or more values than a sample may hold (reported here). Sizes the
    /// macro cannot see are left to the compiler.
    pub fn too_large(&self, dims: &[Width]) -> bool {
        if dims.iter().any(|d| d.value.is_some_and(|v| v > MAX_SIZE)) {
            return true;
        }
        let values = dims.iter().try_fold(1u64, |count, width| {
            width.value.map(|value| count.saturating_mul(value))
        });
        match values {
            Some(count) if count > MAX_SAMPLE => {
                let parts: Vec<&str> = dims.iter().map(|d| d.text.as_str()).collect();
                self.error(format!(
                    "`{}` makes samples of {} values, more than the {MAX_SAMPLE} a sample may hold",
                    self.layer.text(),
                    parts.join(" x ")
                ));
                true
            }
            _ => false,
        }
    }

    /// The rule of an elementwise layer: any input shape, the same output shape. `ty` is the
    /// nn-core type, generic over the per-sample shape (`Relu`); a given hyperparameter
    /// (`leaky_relu(0.2)`) is passed to its `new`.
    pub fn elementwise(&self, ty: &str, hyperparameter: Option<&Expr>) -> Option<Built> {
        let shape = self.input()?.clone();
        let nn = self.nn;
        let marker = shape.shape_type(nn);
        let ident = Ident::new(ty, Span::call_site());
        let ty = quote::quote_spanned!(self.span()=> #nn::layers::#ident<#marker>);
        let init = hyperparameter.map(|value| quote!(<#ty>::new(#value)));
        // Over a sequence, each step on its own.
        let decodes = matches!(&shape.dims, Dims::Known(dims) if dims.len() == 2);
        Some(Built {
            init,
            decodes,
            ..Built::new(ty, shape)
        })
    }
}

/// ` (HIDDEN)` after the value of a size written as a name, nothing after a literal.
pub fn named(text: &str, literal: Option<u64>) -> String {
    match literal {
        Some(_) => String::new(),
        None => format!(" ({text})"),
    }
}

/// A kind that takes no arguments: `relu`, not `relu(..)`.
pub fn no_args(keyword: &Ident, args: Option<Args>) -> syn::Result<()> {
    match args {
        None => Ok(()),
        Some(args) => Err(syn::Error::new_spanned(
            args.group,
            format!("`{keyword}` takes no arguments; write just `{keyword}`"),
        )),
    }
}

/// A kind's one optional hyperparameter, e.g. the slope of `leaky_relu(0.2)`; `example` shows
/// the syntax in the error.
pub fn optional_scalar(args: Option<Args>, what: &str, example: &str) -> syn::Result<Option<Expr>> {
    let Some(args) = args else {
        return Ok(None);
    };
    let value = args
        .content
        .parse::<Expr>()
        .ok()
        .filter(|_| args.content.is_empty());
    match value {
        Some(value) => Ok(Some(value)),
        None => Err(syn::Error::new_spanned(
            args.group,
            format!("takes one {what}, e.g. `{example}`"),
        )),
    }
}
