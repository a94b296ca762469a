//! Shape inference and the rules of the DSL, one function per rule.
//!
//! Sizes written as integer literals are checked here, and a mismatch becomes an error spanned
//! on the offending layer, branch or merge. Sizes written as constants cannot be evaluated by a
//! macro, so for them this emits a [`ConstCheck`]: an item-level `const` assert that
//! `cargo check` evaluates. Every error is collected, so one build shows every mistake.
//!
//! The result is a [`Plan`]: a graph of buffers ([`Node`]s, node 0 being the network's input)
//! and the [`Step`]s between them in forward order. A fork is several steps reading one node;
//! its merge is one step reading the last node of every branch.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};

use crate::ast::{Dim, Fork, Layer, LayerKind, MergeKind, Network};

/// The most per-sample axes a shape may have: batches are at most `Tensor4`.
const MAX_RANK: usize = 3;

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
    fn of(dim: &Dim) -> Self {
        Width {
            value: dim.literal(),
            tokens: dim.as_const_arg(),
            value_tokens: dim.as_value(),
            text: dim.text(),
        }
    }

    fn known(value: u64) -> Self {
        let v = value as usize;
        Width {
            value: Some(value),
            tokens: quote!(#v),
            value_tokens: quote!(#v),
            text: value.to_string(),
        }
    }

    /// Several sizes combined by `op` (`*` or `+`): computed here when all are known, else left
    /// to the compiler as a const expression.
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
        Width {
            value: None,
            tokens: quote!({ #expr }),
            value_tokens: quote!((#expr)),
            text: texts.join(&format!(" {op} ")),
        }
    }
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
}

impl SampleShape {
    fn known(dims: Vec<Width>, source: String) -> Self {
        SampleShape {
            dims: Dims::Known(dims),
            source,
            note: None,
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
            Dims::Known(dims) => Width::combine(dims, '*').value_tokens,
            Dims::Of { ty, side } => {
                let assoc = side_assoc(*side);
                quote!(<<#ty as #nn::layers::Layer>::#assoc<1> as #nn::tensor::Tensor>::LEN)
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

    /// The tensor type of a batch of `B` samples: the batch first, then the sample's dims.
    pub fn batch_type(&self, nn: &TokenStream) -> TokenStream {
        match &self.dims {
            Dims::Known(dims) => {
                let tokens: Vec<&TokenStream> = dims.iter().map(|d| &d.tokens).collect();
                let tensor = format_ident!("Tensor{}", dims.len() + 1);
                quote!(#nn::tensor::#tensor<B, #(#tokens),*>)
            }
            Dims::Of { ty, side } => {
                let assoc = side_assoc(*side);
                quote!(<#ty as #nn::layers::Layer>::#assoc<B>)
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

/// A condition the compiler must check because it involves named constants or a layer type.
pub struct ConstCheck {
    pub span: Span,
    pub condition: TokenStream,
    pub message: String,
}

/// A buffer between steps: the network's input, an activation, or its output.
pub struct Node {
    pub shape: SampleShape,
    /// How many step inputs read it; a gradient flowing back along several is summed.
    pub consumers: usize,
}

/// A layer held as a field of the network struct.
pub struct LayerStep {
    pub field: Ident,
    /// The dotted parameter prefix, e.g. `["left", "0"]` for `left.0.weight`.
    pub path: Vec<String>,
    pub ty: TokenStream,
    pub init: TokenStream,
    /// The parameter count as a const expression.
    pub param_count: Option<TokenStream>,
    /// The layer as the user wrote it, for docs.
    pub text: String,
}

pub enum StepKind {
    Layer(LayerStep),
    /// A fork's merge. `outer` is what multiplies the batch in the chunked concat/split: the
    /// product of the dims before the concatenated axis (1 for `stack`).
    Merge {
        kind: MergeKind,
        outer: TokenStream,
    },
}

/// One step of the forward pass.
pub struct Step {
    pub kind: StepKind,
    pub inputs: Vec<usize>,
    pub output: usize,
    pub span: Span,
}

/// A named point: the output of a named layer or fork, readable and open to an injected
/// gradient.
pub struct Point {
    pub name: Ident,
    pub node: usize,
}

/// What expansion needs: the buffers, the steps between them, the named points, and the checks
/// left to the compiler.
pub struct Plan {
    pub nodes: Vec<Node>,
    pub steps: Vec<Step>,
    pub points: Vec<Point>,
    pub checks: Vec<ConstCheck>,
    /// The node that is the network's output.
    pub output: usize,
}

impl Plan {
    pub fn layer_steps(&self) -> impl Iterator<Item = (usize, &LayerStep)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.kind {
                StepKind::Layer(layer) => Some((i, layer)),
                StepKind::Merge { .. } => None,
            })
    }
}

/// Applies every rule to `network`.
///
/// Returns the plan when every shape is known, even if there are errors: a size mismatch does
/// not stop the code from being generated (with the previous layer's size), so that the user's
/// uses of the network do not turn into a cascade of "no method" errors. The errors, parse
/// problems first, come combined into one `syn::Error`.
pub fn validate(network: &Network) -> (Option<Plan>, Option<syn::Error>) {
    let mut errors: Vec<syn::Error> = network.parse_errors.clone();
    let mut checks = Vec::new();
    check_not_empty(network, &mut errors);
    check_unique_names(network, &mut errors);
    // A size named like the batch parameter would make every generated call a type error, and
    // a size beyond the limit an unusable type, so then no code is generated.
    let unusable = check_sizes(&network.layers, &mut errors, &mut checks);
    let plan = {
        let mut builder = Builder {
            network,
            nn: quote!(::nn::__private),
            nodes: Vec::new(),
            steps: Vec::new(),
            points: Vec::new(),
            names: HashSet::new(),
            top_level: network
                .layers
                .iter()
                .map(|layer| layer.field().to_string())
                .collect(),
            unnamed_fork_branches: HashSet::new(),
            errors: &mut errors,
            checks: &mut checks,
            complete: true,
        };
        let flow = builder.chain(&network.layers, Flow::Start, &[], true);
        if builder.steps.is_empty() && !network.layers.is_empty() && builder.complete {
            builder.errors.push(syn::Error::new_spanned(
                &network.list_tokens,
                format!(
                    "`{}` has only an input shape; declare at least one layer after it",
                    network.name
                ),
            ));
        }
        match flow {
            Flow::At(output) if builder.complete && !builder.steps.is_empty() && !unusable => {
                Some(Plan {
                    nodes: builder.nodes,
                    steps: builder.steps,
                    points: builder.points,
                    checks: Vec::new(),
                    output,
                })
            }
            _ => None,
        }
    };
    let plan = plan.map(|plan| Plan { checks, ..plan });
    let error = errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    });
    (plan, error)
}

/// A network needs at least one layer.
fn check_not_empty(network: &Network, errors: &mut Vec<syn::Error>) {
    if network.layers.is_empty() {
        let name = &network.name;
        errors.push(syn::Error::new_spanned(
            &network.list_tokens,
            format!("`{name}` has no layers; declare at least one, e.g. `struct {name}< dense(4 -> 2) >`"),
        ));
    }
}

/// Layer names, given or automatic, are struct fields and parameter prefixes: they must differ.
fn check_unique_names(network: &Network, errors: &mut Vec<syn::Error>) {
    let mut seen: HashMap<String, &Layer> = HashMap::new();
    for layer in &network.layers {
        let field = layer.field().to_string();
        match seen.get(&field) {
            None => {
                seen.insert(field, layer);
            }
            Some(first) => {
                let message = match (&first.name, &layer.name) {
                    (Some(_), Some(_)) => format!(
                        "duplicate layer name `{field}`; the first `{field}` is at position {}",
                        first.position
                    ),
                    _ => {
                        let unnamed = if first.name.is_none() { first } else { layer };
                        format!(
                            "layer name `{field}` is also the automatic name of the unnamed `{}` at position {}; pick another name",
                            unnamed.keyword, unnamed.position
                        )
                    }
                };
                let at = layer
                    .name
                    .as_ref()
                    .or(first.name.as_ref())
                    .unwrap_or(&layer.keyword);
                errors.push(syn::Error::new_spanned(at, message));
            }
        }
    }
}

/// The sizes a layer declares: a dense layer's two, the dims of `input` and `reshape`.
fn declared_dims(layer: &Layer) -> Vec<&Dim> {
    match &layer.kind {
        LayerKind::Dense { input, output } => vec![input, output],
        LayerKind::Input { dims } | LayerKind::Reshape { dims } => dims.iter().collect(),
        _ => Vec::new(),
    }
}

/// The largest size a literal may give: one axis of 2³¹ − 1 values (8 GiB of `f32`) is already
/// beyond any network this crate can hold, and the cap keeps the macro's size arithmetic sane.
const MAX_SIZE: u64 = i32::MAX as u64;

/// The most values one sample may hold, as for a single size, so the sizes the macro computes
/// from them stay far from overflow.
const MAX_SAMPLE: u64 = MAX_SIZE;

/// The const generic that generated code uses for the batch size.
const BATCH: &str = "B";

/// The first identifier `B` in a size expression: inside generated generic code it would name
/// the batch parameter, not the user's constant.
fn batch_name_in(tokens: TokenStream) -> Option<Ident> {
    tokens.into_iter().find_map(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) if ident == BATCH => Some(ident),
        proc_macro2::TokenTree::Group(group) => batch_name_in(group.stream()),
        _ => None,
    })
}

/// Every size is at least 1 and at most `MAX_SIZE`, in branches too; no size names the batch
/// parameter. Returns whether a size makes the generated code unusable (too large, or `B`).
fn check_sizes(
    layers: &[Layer],
    errors: &mut Vec<syn::Error>,
    checks: &mut Vec<ConstCheck>,
) -> bool {
    let mut unusable = false;
    for layer in layers {
        if let LayerKind::Fork(fork) = &layer.kind {
            for branch in &fork.branches {
                if let Some(layers) = &branch.layers {
                    unusable |= check_sizes(layers, errors, checks);
                }
            }
        }
        let mut too_large_here = false;
        for dim in declared_dims(layer) {
            if let Dim::Named(expr) = dim
                && let Some(clash) = batch_name_in(expr.to_token_stream())
            {
                errors.push(syn::Error::new_spanned(
                    clash,
                    format!(
                        "`{}`: a size cannot use a constant named `{BATCH}`, the batch-size parameter of the generated code; rename the constant",
                        layer.text()
                    ),
                ));
                unusable = true;
                continue;
            }
            match dim {
                // One report per layer: `input(1e10, 1e10)` is one mistake.
                Dim::Literal { value, lit } if *value > MAX_SIZE => {
                    if !too_large_here {
                        errors.push(syn::Error::new(
                            lit.span(),
                            format!("size `{lit}` is too large; a size is at most {MAX_SIZE}"),
                        ));
                    }
                    too_large_here = true;
                    unusable = true;
                }
                Dim::Literal { value: 0, lit } => errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "`{}` has a zero size; every size must be at least 1",
                        layer.text()
                    ),
                )),
                Dim::Literal { .. } => {}
                Dim::Named(_) => checks.push(ConstCheck {
                    span: layer.span(),
                    condition: {
                        let value = dim.as_value();
                        quote!(#value > 0)
                    },
                    message: format!(
                        "`{}`: size `{}` is zero; every size must be at least 1",
                        layer.text(),
                        dim.text()
                    ),
                }),
            }
        }
    }
    unusable
}

/// Where the chain stands before the next layer.
#[derive(Clone, Copy)]
enum Flow {
    /// Before the first layer, with no input shape declared.
    Start,
    /// The previous layer's output is this node.
    At(usize),
    /// After a layer that had an error: later layers are not checked against it.
    Broken,
}

/// A layer's type, how to build it, and its parameter count.
struct LayerCode {
    ty: TokenStream,
    init: TokenStream,
    param_count: Option<TokenStream>,
}

impl LayerCode {
    /// A parameter-free layer made by `Default`.
    fn stateless(ty: TokenStream) -> Self {
        let init = quote!(<#ty as ::core::default::Default>::default());
        LayerCode {
            ty,
            init,
            param_count: None,
        }
    }
}

struct Builder<'a> {
    network: &'a Network,
    nn: TokenStream,
    nodes: Vec<Node>,
    steps: Vec<Step>,
    points: Vec<Point>,
    /// Fields and point names given out so far.
    names: HashSet<String>,
    /// Every top-level layer's field, claimed or not yet: a layer inside a branch may not take
    /// one, even when the top-level layer comes later in the chain.
    top_level: HashSet<String>,
    /// The automatic prefixes (`body`, `a_x`) the branches of unnamed forks have used, so two
    /// unnamed forks with a branch of the same name are one error about the branch.
    unnamed_fork_branches: HashSet<String>,
    errors: &'a mut Vec<syn::Error>,
    checks: &'a mut Vec<ConstCheck>,
    /// False once a shape could not be worked out; then no code is generated.
    complete: bool,
}

impl Builder<'_> {
    fn node(&mut self, shape: SampleShape) -> usize {
        self.nodes.push(Node {
            shape,
            consumers: 0,
        });
        self.nodes.len() - 1
    }

    fn error(&mut self, tokens: impl ToTokens, message: String) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Marks the rest of this chain as unknown.
    fn broken(&mut self) -> Flow {
        self.complete = false;
        Flow::Broken
    }

    /// A name for a field or point that no other has; a clash inside a branch is reported here
    /// (clashes between top-level layers were reported by `check_unique_names`).
    fn claim(&mut self, wanted: Ident, layer: &Layer, top_level: bool) -> Ident {
        let name = wanted.to_string();
        // Clashes between top-level layers were reported by `check_unique_names`; a name inside
        // a branch clashes with any name already given and with every top-level one.
        let clashes = !top_level && self.top_level.contains(&name);
        if !clashes && self.names.insert(name) {
            return wanted;
        }
        if !top_level {
            let message = match &layer.name {
                Some(_) => format!(
                    "layer name `{wanted}` is used twice in `{}`; names become struct fields, so they must differ",
                    self.network.name
                ),
                None => format!(
                    "`{}` gets the automatic name `{wanted}`, which another layer of `{}` already has; rename that layer, or name this one",
                    layer.text(),
                    self.network.name
                ),
            };
            self.error(layer.name.as_ref().unwrap_or(&layer.keyword), message);
        }
        let mut n = layer.position;
        loop {
            let renamed = format_ident!("{}_{}", wanted, n, span = wanted.span());
            if self.names.insert(renamed.to_string()) {
                return renamed;
            }
            n += 1;
        }
    }

    fn push_layer(
        &mut self,
        layer: &Layer,
        prefix: &[String],
        input: usize,
        code: LayerCode,
        output: SampleShape,
    ) -> Flow {
        let LayerCode {
            ty,
            init,
            param_count,
        } = code;
        let top = prefix.is_empty();
        let (wanted, segment) = match (&layer.name, top) {
            (Some(name), _) => (name.clone(), name.to_string()),
            (None, true) => (layer.field(), layer.field().to_string()),
            (None, false) => (
                format_ident!(
                    "{}_{}",
                    prefix.join("_"),
                    layer.position,
                    span = layer.span()
                ),
                layer.position.to_string(),
            ),
        };
        let field = self.claim(wanted, layer, top);
        let mut path = prefix.to_vec();
        path.push(segment);
        let output = self.node(output);
        self.nodes[input].consumers += 1;
        if layer.name.is_some() {
            self.points.push(Point {
                name: field.clone(),
                node: output,
            });
        }
        self.steps.push(Step {
            kind: StepKind::Layer(LayerStep {
                field,
                path,
                ty,
                init,
                param_count,
                text: layer.text(),
            }),
            inputs: vec![input],
            output,
            span: layer.span(),
        });
        Flow::At(output)
    }

    /// The node a layer that keeps its input's shape reads, or the first-layer error.
    fn needs_input(&mut self, layer: &Layer, flow: Flow) -> Option<usize> {
        match flow {
            Flow::At(node) => Some(node),
            Flow::Broken => None,
            Flow::Start => {
                self.error(
                    &layer.tokens,
                    format!(
                        "cannot tell the input size of `{}`: its first layer `{}` does not fix it; start with a layer that does, such as `dense(IN -> OUT)`, or declare it with `input(...)`",
                        self.network.name,
                        layer.text()
                    ),
                );
                self.complete = false;
                None
            }
        }
    }

    /// A shape declared as dims, at most [`MAX_RANK`] of them.
    fn dims_shape(&mut self, layer: &Layer, dims: &[Dim]) -> Option<SampleShape> {
        if dims.len() > MAX_RANK {
            self.error(
                &layer.tokens,
                format!(
                    "`{}` has {} dims; a sample has at most {MAX_RANK} (a batch is at most a `Tensor4`)",
                    layer.text(),
                    dims.len()
                ),
            );
            return None;
        }
        let widths: Vec<Width> = dims.iter().map(Width::of).collect();
        if self.too_large(layer, &widths) {
            return None;
        }
        Some(SampleShape::known(widths, layer.reference()))
    }

    /// Whether a sample of `dims` is too large: a size past [`MAX_SIZE`] (reported by
    /// `check_sizes`), or more values than [`MAX_SAMPLE`] (reported here, on `layer`). Sizes
    /// the macro cannot see are left to the compiler.
    fn too_large(&mut self, layer: &Layer, dims: &[Width]) -> bool {
        let values = dims.iter().try_fold(1u64, |count, width| {
            width.value.map(|value| count.saturating_mul(value))
        });
        if dims.iter().any(|d| d.value.is_some_and(|v| v > MAX_SIZE)) {
            // Already reported by `check_sizes`; the chain just stops here.
            return true;
        }
        match values {
            Some(count) if count > MAX_SAMPLE => {
                let parts: Vec<&str> = dims.iter().map(|d| d.text.as_str()).collect();
                self.error(
                    &layer.tokens,
                    format!(
                        "`{}` makes samples of {} values, more than the {MAX_SAMPLE} a sample may hold",
                        layer.text(),
                        parts.join(" x ")
                    ),
                );
                true
            }
            _ => false,
        }
    }

    /// Walks `layers` from `flow`; returns where the chain ends.
    fn chain(&mut self, layers: &[Layer], mut flow: Flow, prefix: &[String], top: bool) -> Flow {
        for layer in layers {
            flow = self.layer(layer, flow, prefix, top);
        }
        flow
    }

    fn layer(&mut self, layer: &Layer, flow: Flow, prefix: &[String], top: bool) -> Flow {
        let nn = self.nn.clone();
        let span = layer.span();
        match &layer.kind {
            LayerKind::Invalid => self.broken(),
            LayerKind::Input { dims } => {
                if !(top && layer.position == 0) {
                    self.error(
                        &layer.tokens,
                        format!(
                            "`{}` declares the input shape of `{}`, so it must come first",
                            layer.text(),
                            self.network.name
                        ),
                    );
                    return flow;
                }
                if let Some(name) = &layer.name {
                    // Not a layer, so no field or point: a name here would silently do nothing.
                    self.error(
                        name,
                        format!(
                            "`input(..)` declares a shape, not a layer, so it cannot be named; drop `{name}:`"
                        ),
                    );
                }
                match self.dims_shape(layer, dims) {
                    Some(shape) => Flow::At(self.node(shape)),
                    None => self.broken(),
                }
            }
            LayerKind::Dense { input, output } => {
                let given = match flow {
                    Flow::Broken => return Flow::Broken,
                    Flow::Start => {
                        let width = Width::of(input);
                        let node =
                            self.node(SampleShape::known(vec![width.clone()], layer.reference()));
                        (node, width)
                    }
                    Flow::At(node) => match self.nodes[node].shape.clone() {
                        SampleShape {
                            dims: Dims::Known(dims),
                            source,
                            note,
                        } if dims.len() == 1 => {
                            check_chain(
                                layer,
                                input,
                                &dims[0],
                                &source,
                                note.as_deref(),
                                self.errors,
                                self.checks,
                            );
                            (node, dims[0].clone())
                        }
                        SampleShape {
                            dims: Dims::Known(_),
                            ..
                        } => {
                            let shape = &self.nodes[node].shape;
                            let message = format!(
                                "`{}` needs a flat input but {} gives {}; add `flatten` before it",
                                layer.text(),
                                shape.source,
                                shape.text()
                            );
                            self.error(&layer.tokens, message);
                            return self.broken();
                        }
                        SampleShape {
                            dims: Dims::Of { .. },
                            ..
                        } => {
                            // After a nested layer type the macro cannot see the size, but the
                            // boundary is a type equality (`Dense<IN, _>` takes `Tensor2<B, IN>`),
                            // which names both sizes; a const assert would only add an error.
                            (node, Width::of(input))
                        }
                    },
                };
                let (node, width) = given;
                let (in_arg, out_arg) = (&width.tokens, output.as_const_arg());
                let ty = quote_spanned!(span=> #nn::layers::Dense<#in_arg, #out_arg>);
                let shape = SampleShape::known(vec![Width::of(output)], layer.reference());
                self.push_layer(
                    layer,
                    prefix,
                    node,
                    LayerCode {
                        init: quote!(<#ty>::new(rng)),
                        param_count: Some(quote!(<#ty>::PARAM_COUNT)),
                        ty,
                    },
                    shape,
                )
            }
            LayerKind::Relu
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Sigmoid
            | LayerKind::Tanh => {
                let Some(node) = self.needs_input(layer, flow) else {
                    return Flow::Broken;
                };
                let shape = self.nodes[node].shape.clone();
                let marker = shape.shape_type(&nn);
                let ty = match &layer.kind {
                    LayerKind::Relu => quote_spanned!(span=> #nn::layers::Relu<#marker>),
                    LayerKind::LeakyRelu { .. } => {
                        quote_spanned!(span=> #nn::layers::LeakyRelu<#marker>)
                    }
                    LayerKind::Sigmoid => quote_spanned!(span=> #nn::layers::Sigmoid<#marker>),
                    _ => quote_spanned!(span=> #nn::layers::Tanh<#marker>),
                };
                let init = match &layer.kind {
                    LayerKind::LeakyRelu { alpha: Some(alpha) } => quote!(<#ty>::new(#alpha)),
                    _ => quote!(<#ty as ::core::default::Default>::default()),
                };
                self.push_layer(
                    layer,
                    prefix,
                    node,
                    LayerCode {
                        ty,
                        init,
                        param_count: None,
                    },
                    shape,
                )
            }
            LayerKind::Softmax => {
                let Some(node) = self.needs_input(layer, flow) else {
                    return Flow::Broken;
                };
                let shape = self.nodes[node].shape.clone();
                let width = match &shape.dims {
                    Dims::Known(dims) if dims.len() == 1 => dims[0].tokens.clone(),
                    Dims::Known(_) => {
                        let message = format!(
                            "`softmax` needs a flat input but {} gives {}; add `flatten` before it",
                            shape.source,
                            shape.text()
                        );
                        self.error(&layer.tokens, message);
                        return self.broken();
                    }
                    Dims::Of { .. } => {
                        let len = shape.len_value(&nn);
                        quote!({ #len })
                    }
                };
                let ty = quote_spanned!(span=> #nn::layers::Softmax<#width>);
                self.push_layer(layer, prefix, node, LayerCode::stateless(ty), shape)
            }
            LayerKind::Flatten => {
                let Some(node) = self.needs_input(layer, flow) else {
                    return Flow::Broken;
                };
                let shape = self.nodes[node].shape.clone();
                let Dims::Known(dims) = &shape.dims else {
                    self.error(
                        &layer.tokens,
                        format!(
                            "cannot flatten {}: its shape is not known to `network!`; write `reshape(N)` with its size instead",
                            shape.source
                        ),
                    );
                    return self.broken();
                };
                if self.too_large(layer, dims) {
                    return self.broken();
                }
                let size = Width::combine(dims, '*');
                let note = (dims.len() > 1).then(|| {
                    let parts: Vec<&str> = dims.iter().map(|d| d.text.as_str()).collect();
                    format!("({})", parts.join(" x "))
                });
                let flat = SampleShape {
                    dims: Dims::Known(vec![size]),
                    source: layer.reference(),
                    note,
                };
                let ty = {
                    let (from, to) = (shape.shape_type(&nn), flat.shape_type(&nn));
                    quote_spanned!(span=> #nn::layers::Reshape<#from, #to>)
                };
                self.push_layer(layer, prefix, node, LayerCode::stateless(ty), flat)
            }
            LayerKind::Reshape { dims } => {
                let Some(node) = self.needs_input(layer, flow) else {
                    return Flow::Broken;
                };
                let Some(to) = self.dims_shape(layer, dims) else {
                    return self.broken();
                };
                let from = self.nodes[node].shape.clone();
                let Dims::Known(to_dims) = &to.dims else {
                    return self.broken();
                };
                let to_size = Width::combine(to_dims, '*');
                let from_size = match &from.dims {
                    Dims::Known(dims) => Some(Width::combine(dims, '*')),
                    Dims::Of { .. } => None,
                };
                if to_size.value == Some(0) {
                    // The zero size is already its own error; checking its element count, or
                    // the layers after it, would only repeat it.
                    return self.broken();
                }
                match (from_size.as_ref().and_then(|w| w.value), to_size.value) {
                    (Some(a), Some(b)) if a == b => {}
                    (Some(a), Some(b)) => {
                        self.error(
                            &layer.tokens,
                            format!(
                                "`{}` has {b} elements but {} gives {a}{}",
                                layer.text(),
                                from.source,
                                match &from.dims {
                                    Dims::Known(dims) if dims.len() > 1 =>
                                        format!(" {}", from.text()),
                                    _ => String::new(),
                                }
                            ),
                        );
                    }
                    _ => {
                        let (len, expected) = (from.len_value(&nn), &to_size.value_tokens);
                        self.checks.push(ConstCheck {
                            span,
                            condition: quote!(#len == #expected),
                            message: format!(
                                "`{}` has {} elements but {} gives {}, and the two differ",
                                layer.text(),
                                to_size.text,
                                from.source,
                                from.text()
                            ),
                        });
                    }
                }
                let ty = {
                    let (a, b) = (from.shape_type(&nn), to.shape_type(&nn));
                    quote_spanned!(span=> #nn::layers::Reshape<#a, #b>)
                };
                self.push_layer(layer, prefix, node, LayerCode::stateless(ty), to)
            }
            LayerKind::Custom { path } => {
                let ty = quote_spanned!(span=> #path);
                let node = match flow {
                    Flow::Broken => return Flow::Broken,
                    Flow::Start => self.node(SampleShape {
                        dims: Dims::Of {
                            ty: ty.clone(),
                            side: Side::Input,
                        },
                        source: layer.reference(),
                        note: None,
                    }),
                    Flow::At(node) => node,
                };
                let output = SampleShape {
                    dims: Dims::Of {
                        ty: ty.clone(),
                        side: Side::Output,
                    },
                    source: layer.reference(),
                    note: None,
                };
                let init = quote_spanned!(span=> <#ty as #nn::layers::Composable>::build(rng));
                let count = quote_spanned!(span=> <#ty as #nn::layers::Composable>::PARAM_COUNT);
                self.push_layer(
                    layer,
                    prefix,
                    node,
                    LayerCode {
                        ty,
                        init,
                        param_count: Some(count),
                    },
                    output,
                )
            }
            LayerKind::Fork(fork) => {
                let Some(node) = self.needs_input(layer, flow) else {
                    return Flow::Broken;
                };
                self.fork(layer, fork, node, prefix)
            }
        }
    }
}

impl Builder<'_> {
    /// Runs every branch from `input`, then merges their outputs.
    fn fork(&mut self, layer: &Layer, fork: &Fork, input: usize, prefix: &[String]) -> Flow {
        if fork.branches.len() < 2 {
            self.error(
                &fork.brace_tokens,
                "a `fork` needs at least two branches; one path is just its layers in the chain"
                    .to_string(),
            );
        }
        let mut seen: HashSet<String> = HashSet::new();
        // A repeated branch is reported once here; its layers get fields of their own so the
        // repeat does not also show up as clashing field names.
        let mut segments = Vec::new();
        for (index, branch) in fork.branches.iter().enumerate() {
            let unique_here = seen.insert(branch.name.to_string());
            // An unnamed fork adds nothing to its branches' automatic names, so a second unnamed
            // fork with a branch of the same name would give its layers the same fields.
            let automatic = [prefix, &[branch.name.to_string()]].concat().join("_");
            let has_layers = branch
                .layers
                .as_ref()
                .is_some_and(|layers| !layers.is_empty());
            let unique_across_forks =
                layer.name.is_some() || !has_layers || self.unnamed_fork_branches.insert(automatic);
            if unique_here && unique_across_forks {
                segments.push(branch.name.to_string());
                continue;
            }
            let message = if unique_here {
                format!(
                    "another unnamed `fork` in `{}` also has a branch `{}`, so their layers would get the same names; name this fork, e.g. `block: fork {{ .. }}`, or rename the branch",
                    self.network.name, branch.name
                )
            } else {
                format!("duplicate branch name `{}` in this `fork`", branch.name)
            };
            self.error(&branch.name, message);
            segments.push(format!("{}{index}_{}", branch.name, layer.position));
        }
        let mut fork_prefix = prefix.to_vec();
        if let Some(name) = &layer.name {
            fork_prefix.push(name.to_string());
        }
        let mut ends = Vec::new();
        let mut whole = true;
        for (branch, segment) in fork.branches.iter().zip(segments) {
            let end = match &branch.layers {
                None => Flow::At(input),
                Some(layers) => {
                    let mut branch_prefix = fork_prefix.clone();
                    branch_prefix.push(segment);
                    self.chain(layers, Flow::At(input), &branch_prefix, false)
                }
            };
            match end {
                Flow::At(node) => ends.push((branch.name.to_string(), node)),
                _ => whole = false,
            }
        }
        if !whole || fork.merge.kind == MergeKind::Invalid || ends.len() < 2 {
            return self.broken();
        }
        let Some((shape, outer)) = self.merged_shape(layer, fork, &ends) else {
            return self.broken();
        };
        let output = self.node(shape);
        for &(_, node) in &ends {
            self.nodes[node].consumers += 1;
        }
        if let Some(name) = &layer.name {
            let name = self.claim(name.clone(), layer, prefix.is_empty());
            self.points.push(Point { name, node: output });
        }
        self.steps.push(Step {
            kind: StepKind::Merge {
                kind: fork.merge.kind,
                outer,
            },
            inputs: ends.iter().map(|&(_, node)| node).collect(),
            output,
            span: fork.merge.keyword.span(),
        });
        Flow::At(output)
    }

    /// The shape a merge gives, and the product of the dims before its axis; or the error,
    /// spanned on the merge, naming the branches and their shapes.
    fn merged_shape(
        &mut self,
        layer: &Layer,
        fork: &Fork,
        ends: &[(String, usize)],
    ) -> Option<(SampleShape, TokenStream)> {
        let merge = &fork.merge;
        let word = merge.text();
        let mut all_dims: Vec<Vec<Width>> = Vec::new();
        for (name, node) in ends {
            match &self.nodes[*node].shape.dims {
                Dims::Known(dims) => all_dims.push(dims.clone()),
                Dims::Of { .. } => {
                    let message = format!(
                        "`{word}` cannot check branch `{name}`: it ends in {}, whose shape is not known to `network!`; end the branch with a layer that fixes the shape, such as `dense` or `reshape`",
                        self.nodes[*node].shape.source
                    );
                    self.error(&merge.tokens, message);
                    return None;
                }
            }
        }
        let texts: Vec<String> = ends
            .iter()
            .map(|&(_, node)| self.nodes[node].shape.text())
            .collect();
        let shape_text = |i: usize| texts[i].clone();
        let first = &all_dims[0];
        // The axis a concat joins; every other axis must agree across branches.
        let axis = match merge.kind {
            MergeKind::Concat(axis) => {
                let axis = axis.unwrap_or(first.len().saturating_sub(1));
                if axis >= first.len() {
                    let message = format!(
                        "`{word}` joins axis {axis} but `{}` gives {}, which has {} (axes count from 0, the batch not included)",
                        ends[0].0,
                        shape_text(0),
                        match first.len() {
                            1 => "only axis 0".to_string(),
                            n => format!("axes 0 to {}", n - 1),
                        }
                    );
                    self.error(&merge.tokens, message);
                    return None;
                }
                Some(axis)
            }
            _ => None,
        };
        let mut ok = true;
        for (i, dims) in all_dims.iter().enumerate().skip(1) {
            let what = match axis {
                Some(axis) => {
                    format!("`{word}` joins axis {axis}, so the other axes must be equal,")
                }
                None => format!("`{word}` needs equal shapes"),
            };
            let mismatch = format!(
                "{what} but `{}` gives {} and `{}` gives {}",
                ends[0].0,
                shape_text(0),
                ends[i].0,
                shape_text(i)
            );
            if dims.len() != first.len() {
                self.error(&merge.tokens, mismatch);
                ok = false;
                continue;
            }
            for (d, (a, b)) in first.iter().zip(dims).enumerate() {
                if Some(d) == axis {
                    continue;
                }
                match (a.value, b.value) {
                    (Some(x), Some(y)) if x == y => {}
                    (Some(_), Some(_)) => {
                        self.error(&merge.tokens, mismatch);
                        ok = false;
                        break;
                    }
                    _ => {
                        let (x, y) = (&a.value_tokens, &b.value_tokens);
                        self.checks.push(ConstCheck {
                            span: merge.keyword.span(),
                            condition: quote!(#x == #y),
                            message: format!("{mismatch}, and the two differ"),
                        });
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        let source = layer.reference();
        let (dims, outer) = match merge.kind {
            MergeKind::Concat(_) => {
                let axis = axis.unwrap_or(0);
                let joined: Vec<Width> = all_dims.iter().map(|d| d[axis].clone()).collect();
                let mut dims = first.clone();
                dims[axis] = Width::combine(&joined, '+');
                let before = &first[..axis];
                let outer = if before.is_empty() {
                    quote!(1usize)
                } else {
                    Width::combine(before, '*').value_tokens
                };
                (dims, outer)
            }
            MergeKind::Stack => {
                if first.len() + 1 > MAX_RANK {
                    let message = format!(
                        "`stack` would give samples of {} axes but a sample has at most {MAX_RANK}; `flatten` the branches first",
                        first.len() + 1
                    );
                    self.error(&merge.tokens, message);
                    return None;
                }
                let mut dims = vec![Width::known(ends.len() as u64)];
                dims.extend(first.iter().cloned());
                (dims, quote!(1usize))
            }
            _ => (first.clone(), quote!(1usize)),
        };
        Some((SampleShape::known(dims, source), outer))
    }
}

/// A dense layer's input size must equal the size the previous layer gives.
fn check_chain(
    layer: &Layer,
    input: &Dim,
    previous: &Width,
    source: &str,
    note: Option<&str>,
    errors: &mut Vec<syn::Error>,
    checks: &mut Vec<ConstCheck>,
) {
    let expects = input.text();
    let gives = match note {
        Some(note) => format!("{} {note}", previous.text),
        None => previous.text.clone(),
    };
    match (input.literal(), previous.value) {
        // Equal, or a size past the limit that `check_sizes` already reported.
        (Some(a), Some(b)) if a == b || a > MAX_SIZE || b > MAX_SIZE => {}
        (Some(_), Some(_)) => {
            let suggestion = match &layer.kind {
                LayerKind::Dense { output, .. } => {
                    format!(
                        "; did you mean `dense({} -> {})`?",
                        previous.text,
                        output.text()
                    )
                }
                _ => String::new(),
            };
            errors.push(syn::Error::new_spanned(
                &layer.tokens,
                format!(
                    "`{}` expects {expects} inputs but {source} gives {gives}{suggestion}",
                    layer.text(),
                ),
            ));
        }
        _ => {
            let (expected, given) = (input.as_value(), &previous.value_tokens);
            checks.push(ConstCheck {
                span: layer.span(),
                condition: quote!(#expected == #given),
                message: format!(
                    "`{}` expects {expects} inputs but {source} gives {gives}, and the two differ",
                    layer.text(),
                ),
            });
        }
    }
}
