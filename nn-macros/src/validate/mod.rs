//! Shape inference and the structural rules of the DSL, one function per rule.
//!
//! Each layer kind applies its own shape rule (`kinds`); this module walks the chain, forks and
//! nested layer types, hands each layer its input shape, and builds the [`Plan`]. Sizes written
//! as literals are checked by the macro, and a mismatch is an error spanned on the offending
//! layer, branch or merge. Sizes written as constants cannot be evaluated by a macro, so for
//! them a [`ConstCheck`] is emitted: an item-level `const` assert that `cargo check`
//! evaluates. Every problem goes into one [`Ctxt`], so one build shows every mistake.
//!
//! A fork is several steps reading one node; its merge is one step reading the last node of
//! every branch.

mod inputs;
mod merge;
mod names;
mod plan;
mod sizes;

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

pub(crate) use merge::feature_axis;
pub use plan::{DecodePlan, LayerStep, Plan, PlanInput, Step, StepKind};
use plan::{Node, Point};

use crate::ast::{Layer, LayerKind, MergeKind, Network};
use crate::ctxt::{ConstCheck, Ctxt, Message};
use crate::kinds::{self, Built, LayerCx};
use crate::shape::{Dims, SampleShape, Side, Width};
use crate::suggest;

/// Applies every rule to `network`.
///
/// Returns the plan when every shape is known, even if there are errors: a size mismatch does
/// not stop the code from being generated (with the previous layer's size), so that the user's
/// uses of the network do not turn into a cascade of "no method" errors. The errors, parse
/// problems first, come combined into one `syn::Error`.
///
/// `siblings` are the networks declared in the same call, so that one with several inputs,
/// which is not a layer, is a macro error where it is nested rather than a trait error at each
/// use of its type.
pub fn validate(
    network: &Network,
    siblings: &[Network],
    nn: &TokenStream,
) -> (Option<Plan>, Option<syn::Error>) {
    validate_nested(network, siblings, nn, 0)
}

/// How deep networks of one call may nest in one another before the macro stops looking
/// inside them (a network that contains itself is the compiler's error, not a loop here).
const MAX_NESTING: usize = 16;

/// [`validate`] of a network nested `depth` deep in another of the same call.
fn validate_nested(
    network: &Network,
    siblings: &[Network],
    nn: &TokenStream,
    depth: usize,
) -> (Option<Plan>, Option<syn::Error>) {
    let ctxt = Ctxt::default();
    for error in &network.parse_errors {
        ctxt.push(error.clone());
    }
    check_not_empty(network, &ctxt);
    names::check_unique_names(network, &ctxt);
    // A size beyond the limit would make an unusable type, so then no code is generated.
    let unusable = sizes::check_sizes(&network.layers, &ctxt);
    let mut builder = Builder {
        network,
        siblings,
        depth,
        nn,
        ctxt: &ctxt,
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
        inputs: Vec::new(),
        plan_inputs: Vec::new(),
        complete: true,
        broke: false,
        reported_unknown: HashSet::new(),
        several_input_siblings: siblings
            .iter()
            .filter(|sibling| {
                let inputs = sibling.layers.iter();
                inputs
                    .filter(|layer| matches!(layer.kind, LayerKind::Input { .. }))
                    .count()
                    > 1
            })
            .map(|sibling| sibling.name.to_string())
            .collect(),
    };
    let (flow, layers) = builder.declared_inputs();
    let flow = builder.top_chain(layers, flow);
    builder.unknown_layers_not_reached(&network.layers);
    if builder.steps.is_empty() && !network.layers.is_empty() && builder.complete && !builder.broke
    {
        ctxt.error(
            &network.list_tokens,
            format!(
                "`{}` has only an input shape; declare at least one layer after it",
                network.name
            ),
        );
    }
    let Builder {
        nodes,
        steps,
        points,
        mut plan_inputs,
        complete,
        broke,
        ..
    } = builder;
    if plan_inputs.is_empty() {
        // The first layer fixed the input shape: its input is the first node.
        plan_inputs.push(PlanInput {
            name: None,
            node: 0,
        });
    }
    let (checks, error) = ctxt.finish();
    // A chain that reaches its end after a break was resumed after its error (`top_chain`):
    // its code is generated for the API's sake only, never without the error that stops the
    // build.
    let usable = complete && (!broke || error.is_some());
    let plan = match flow {
        Flow::At(output) if usable && !steps.is_empty() && !unusable => Some(Plan {
            nodes,
            steps,
            points,
            checks,
            inputs: plan_inputs,
            output,
        }),
        _ => None,
    };
    (plan, error)
}

/// A network needs at least one layer.
fn check_not_empty(network: &Network, ctxt: &Ctxt) {
    if network.layers.is_empty() {
        let name = &network.name;
        ctxt.error(
            &network.list_tokens,
            format!("`{name}` has no layers; declare at least one, e.g. `struct {name}< dense(4 -> 2) >`"),
        );
    }
}

/// Where the chain stands before the next layer.
#[derive(Clone, Copy)]
enum Flow {
    /// Before the first layer, with no input shape declared.
    Start,
    /// After several named inputs, before the fork that reads them.
    Inputs,
    /// The previous layer's output is this node.
    At(usize),
    /// After a layer that had an error: later layers are not checked against it.
    Broken,
}

struct Builder<'a> {
    network: &'a Network,
    /// The networks of the same call: a layer after one of them sees its output shape.
    siblings: &'a [Network],
    /// How deep this network is nested in another of the same call.
    depth: usize,
    nn: &'a TokenStream,
    ctxt: &'a Ctxt,
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
    /// The named inputs, when there are several.
    inputs: Vec<inputs::NamedInput>,
    /// Every input's node, in order.
    plan_inputs: Vec<PlanInput>,
    /// False once a rule rules out generating code at all (an unnamed one of several inputs).
    complete: bool,
    /// True once a shape could not be worked out; the network's own chain may resume after it.
    broke: bool,
    /// The unknown layers reported so far (by address), so the ones no chain reached are
    /// reported at the end.
    reported_unknown: HashSet<*const Layer>,
    /// The networks of the same call that have several inputs, so are not layers.
    several_input_siblings: HashSet<String>,
}

impl Builder<'_> {
    fn node(&mut self, shape: SampleShape) -> usize {
        self.nodes.push(Node {
            shape,
            consumers: 0,
        });
        self.nodes.len() - 1
    }

    /// What a kind sees of `layer`, reading `input`.
    fn cx<'b>(&'b self, layer: &'b Layer, input: Option<&'b SampleShape>) -> LayerCx<'b> {
        LayerCx {
            layer,
            input,
            nn: self.nn,
            ctxt: self.ctxt,
            network: &self.network.name,
        }
    }

    /// Marks the rest of this chain as unknown.
    fn broken(&mut self) -> Flow {
        self.broke = true;
        Flow::Broken
    }

    /// Walks the network's own chain from `flow`, resuming after a layer with an error at the
    /// next layer that fixes its own input shape (a `dense`, a nested network), through a
    /// [`StepKind::Unchecked`] step. The network then still gets its declared input and
    /// output types and its whole API, so the user's code around it type-checks and one
    /// mistake is one error; a network broken to its end gets a looser stub instead.
    fn top_chain(&mut self, layers: &[Layer], mut flow: Flow) -> Flow {
        // The nodes before the latest error: where an unchecked step starts.
        let mut before: Vec<usize> = match flow {
            Flow::At(node) => vec![node],
            Flow::Inputs => self.plan_inputs.iter().map(|input| input.node).collect(),
            Flow::Start | Flow::Broken => Vec::new(),
        };
        for layer in layers {
            if let Flow::Broken = flow {
                match self.resume_at(layer, &before) {
                    Some(node) => flow = Flow::At(node),
                    None => continue,
                }
            }
            flow = self.layer(layer, flow, &[]);
            if let Flow::At(node) = flow {
                before = vec![node];
            }
        }
        flow
    }

    /// The node `layer` reads when it fixes its own input shape, reached from `before` by an
    /// unchecked step; `None` for a layer that takes its shape from the layer before it.
    fn resume_at(&mut self, layer: &Layer, before: &[usize]) -> Option<usize> {
        if before.is_empty() {
            return None;
        }
        let shape = match &layer.kind {
            LayerKind::Spec(spec) => {
                // Asked as if it were the first layer; what it would say then is not the
                // user's mistake, so it goes to a context that is dropped.
                let muted = Ctxt::default();
                let cx = LayerCx {
                    layer,
                    input: None,
                    nn: self.nn,
                    ctxt: &muted,
                    network: &self.network.name,
                };
                spec.build(&cx)?.input?
            }
            LayerKind::Custom { path } if !self.has_several_inputs(path) => {
                let ty = quote_spanned!(layer.span()=> #path);
                SampleShape::of(ty, Side::Input, layer.reference())
            }
            _ => return None,
        };
        let node = self.node(shape);
        for &from in before {
            self.nodes[from].consumers += 1;
        }
        self.steps.push(Step {
            kind: StepKind::Unchecked,
            inputs: before.to_vec(),
            output: node,
            span: layer.span(),
        });
        Some(node)
    }

    /// Rule: a layer's keyword is a kind's. The error suggests the closest keyword among the
    /// kinds that take what `input` gives, and only mentions a closer one that cannot.
    fn unknown_layer(&mut self, layer: &Layer, input: Option<usize>) {
        self.reported_unknown.insert(layer as *const Layer);
        let word = layer.keyword.to_string();
        if word == "skip" {
            self.ctxt.error(
                &layer.keyword,
                "`skip` is not a layer but a whole branch that passes the fork's input on unchanged, written bare: `name: skip`, not `name: [skip]`; in a list of layers, leave it out",
            );
            return;
        }
        let shape = input.map(|node| &self.nodes[node].shape);
        let rank = shape.and_then(|shape| match &shape.dims {
            Dims::Known(dims) => Some(dims.len()),
            Dims::Of { .. } => None,
        });
        let fitting = suggest::closest(&word, kinds::keywords(rank));
        let any = suggest::closest(&word, kinds::keywords(None));
        let message = match (fitting, any, shape) {
            (Some(known), _, _) => format!("unknown layer `{word}`; did you mean `{known}`?"),
            (None, Some(other), Some(shape)) => format!(
                "unknown layer `{word}`; `{other}` is close, but it does not take {} samples such as the {} that {} gives",
                match rank {
                    Some(1) => "flat",
                    Some(2) => "sequence",
                    _ => "image",
                },
                shape.text(),
                shape.source
            ),
            _ => format!(
                "unknown layer `{word}`; the layer kinds are listed under \"The `network!` syntax\" in the `nn` crate docs, and a layer type of your own is written as its path (`MyLayer`, `my_layers::MyLayer`) once it implements `nn::layers::Composable`"
            ),
        };
        self.ctxt.error(&layer.keyword, message);
    }

    /// The unknown layers no chain reached (after an error, or in a branch of a fork that was
    /// not checked), reported with every kind as a candidate.
    fn unknown_layers_not_reached(&mut self, layers: &[Layer]) {
        for layer in layers {
            match &layer.kind {
                LayerKind::Unknown if !self.reported_unknown.contains(&(layer as *const Layer)) => {
                    self.unknown_layer(layer, None);
                }
                LayerKind::Fork(fork) => {
                    for branch in &fork.branches {
                        if let Some(layers) = &branch.layers {
                            self.unknown_layers_not_reached(layers);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether `path` names a network of this call that has several inputs.
    fn has_several_inputs(&self, path: &syn::Path) -> bool {
        path.get_ident()
            .is_some_and(|name| self.several_input_siblings.contains(&name.to_string()))
    }

    /// Walks `layers` from `flow`; returns where the chain ends.
    fn chain(&mut self, layers: &[Layer], mut flow: Flow, prefix: &[String]) -> Flow {
        for layer in layers {
            flow = self.layer(layer, flow, prefix);
        }
        flow
    }

    fn layer(&mut self, layer: &Layer, flow: Flow, prefix: &[String]) -> Flow {
        if let LayerKind::Unknown = layer.kind {
            let input = match flow {
                Flow::At(node) => Some(node),
                _ => None,
            };
            self.unknown_layer(layer, input);
            return self.broken();
        }
        let input = match flow {
            Flow::Broken => return Flow::Broken,
            Flow::Inputs => {
                return match &layer.kind {
                    LayerKind::Fork(fork) => self.fork(layer, fork, None, prefix),
                    LayerKind::Invalid => self.broken(),
                    _ => self.not_a_fork_after_inputs(layer),
                };
            }
            Flow::Start => None,
            Flow::At(node) => Some(node),
        };
        match &layer.kind {
            LayerKind::Unknown | LayerKind::Invalid => self.broken(),
            LayerKind::Input { name, .. } => {
                // The inputs that open the network were read by `declared_inputs`.
                self.misplaced_input(layer, name.as_ref());
                flow
            }
            LayerKind::Spec(spec) => {
                let shape = input.map(|node| &self.nodes[node].shape);
                if let Some(shape) = shape
                    && shape.tokens
                    && !spec.reads_tokens()
                {
                    self.ctxt.error(
                        &layer.tokens,
                        format!(
                            "`{}` cannot read token ids: {} gives {} ids, which only an embedding turns into features; add `embedding(VOCAB -> D)` before it",
                            layer.text(),
                            shape.source,
                            shape.text()
                        ),
                    );
                    return self.broken();
                }
                let built = {
                    let cx = self.cx(layer, shape);
                    spec.build(&cx)
                };
                match built {
                    Some(built) => self.push_layer(layer, prefix, input, built),
                    None => self.broken(),
                }
            }
            LayerKind::Custom { path } if self.has_several_inputs(path) => {
                self.ctxt.error(
                    &layer.tokens,
                    format!(
                        "`{}` has several inputs, so it is not a layer (a layer has one input type) and cannot be nested in `{}`; declare its layers here instead",
                        crate::ast::tokens_text(path),
                        self.network.name
                    ),
                );
                self.broken()
            }
            LayerKind::Custom { path } => {
                let ty = quote_spanned!(layer.span()=> #path);
                let sibling = self.sibling_plan(path);
                let output = sibling
                    .as_ref()
                    .and_then(|plan| Self::known_output(plan, layer))
                    .unwrap_or_else(|| {
                        SampleShape::of(ty.clone(), Side::Output, layer.reference())
                    });
                // A network of the same call that decodes decodes as a layer too.
                let decodes = sibling
                    .is_some_and(|plan| plan.inputs.len() == 1 && plan.decode_plan(0).is_some());
                let built = Built {
                    output,
                    input: Some(SampleShape::of(ty.clone(), Side::Input, layer.reference())),
                    init: None,
                    ty,
                    decodes,
                    reads_ids: false,
                };
                self.push_layer(layer, prefix, input, built)
            }
            LayerKind::Fork(fork) => {
                let Some(node) = input else {
                    let cx = self.cx(layer, None);
                    cx.input();
                    return self.broken();
                };
                self.fork(layer, fork, Some(node), prefix)
            }
        }
    }

    /// The plan of the network of the same call that `path` names, so that the layer after it
    /// sees its output shape and a network that decodes decodes nested too (an outside type's
    /// shape is only the compiler's).
    fn sibling_plan(&self, path: &syn::Path) -> Option<Plan> {
        let name = path.get_ident()?;
        let sibling = self.siblings.iter().find(|s| s.name == *name)?;
        if self.depth >= MAX_NESTING {
            return None;
        }
        // Its own expansion reports its errors.
        validate_nested(sibling, self.siblings, self.nn, self.depth + 1).0
    }

    /// A nested network's output shape, when its sizes are known, as `layer` gives it.
    fn known_output(plan: &Plan, layer: &Layer) -> Option<SampleShape> {
        let shape = &plan.nodes[plan.output].shape;
        match shape.dims {
            Dims::Known(_) => Some(SampleShape {
                source: layer.reference(),
                note: None,
                ..shape.clone()
            }),
            Dims::Of { .. } => None,
        }
    }

    /// Adds a layer reading `input` (or, first in the network, the input shape it fixes).
    fn push_layer(
        &mut self,
        layer: &Layer,
        prefix: &[String],
        input: Option<usize>,
        built: Built,
    ) -> Flow {
        let Built {
            ty,
            init,
            output,
            input: takes,
            decodes,
            reads_ids,
        } = built;
        let nn = self.nn;
        let span = layer.span();
        let init = init
            .unwrap_or_else(|| quote_spanned!(span=> <#ty as #nn::layers::Composable>::build(rng)));
        let param_count = quote_spanned!(span=> <#ty as #nn::layers::Composable>::PARAM_COUNT);
        let input = match (input, takes) {
            (None, Some(shape)) => self.node(shape),
            (None, None) => return self.broken(),
            (Some(node), Some(shape)) => self.bridge(layer, node, shape),
            (Some(node), None) => node,
        };
        let input = if reads_ids {
            match self.pack_ids(layer, input) {
                Some(packed) => packed,
                None => return self.broken(),
            }
        } else {
            input
        };
        let top = prefix.is_empty();
        let (wanted, segment) = match (&layer.name, top) {
            (Some(name), _) => (name.clone(), name.to_string()),
            (None, true) => (layer.field(), layer.field().to_string()),
            (None, false) => (
                format_ident!(
                    "{}_{}",
                    prefix.join("_"),
                    layer.position,
                    span = layer.keyword.span()
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
                decodes,
                merge: false,
            }),
            inputs: vec![input],
            output,
            span: layer.span(),
        });
        Flow::At(output)
    }

    /// Rule: two sizes are equal; `mismatch` is the error (on `tokens`) when the macro sees
    /// both, and a `const` assert at `span` (which shows the values) checks them otherwise.
    /// Returns false after an error.
    fn same_size(
        &self,
        tokens: &TokenStream,
        span: proc_macro2::Span,
        a: &Width,
        b: &Width,
        mismatch: String,
    ) -> bool {
        match (a.value, b.value) {
            (Some(x), Some(y)) if x == y => true,
            (Some(_), Some(_)) => {
                self.ctxt.error(tokens, mismatch);
                false
            }
            _ => {
                let (x, y) = (&a.value_tokens, &b.value_tokens);
                let message = Message::default()
                    .text(format!("{mismatch}: "))
                    .value(x.clone())
                    .text(" against ")
                    .value(y.clone());
                self.ctxt.check(ConstCheck {
                    span,
                    condition: quote!(#x == #y),
                    message,
                });
                true
            }
        }
    }

    /// The network input `node` comes from: each step's first input followed back to a node
    /// no step wrote.
    fn source_input(&self, mut node: usize) -> usize {
        while let Some(&first) = self
            .steps
            .iter()
            .rfind(|step| step.output == node)
            .and_then(|step| step.inputs.first())
        {
            node = first;
        }
        node
    }

    /// Rule: a layer that masks by token ids (`key_padding = ..`) reads a sequence with one
    /// step per id of an `input(T) tokens`: the one its sequence comes from, else the
    /// network's only one. Adds the step that packs each step's id after its features and
    /// returns the packed node, `(T, F + 1)`.
    fn pack_ids(&mut self, layer: &Layer, sequence: usize) -> Option<usize> {
        let source = self.source_input(sequence);
        let token_inputs: Vec<usize> = if self.nodes[source].shape.tokens {
            vec![source]
        } else {
            (0..self.nodes.len())
                .filter(|&k| {
                    self.nodes[k].shape.tokens && self.plan_inputs.iter().any(|i| i.node == k)
                })
                .collect()
        };
        let text = layer.text();
        // What the mask leaves out: attention's keys, a pool's steps.
        let masked = if layer.keyword == "mean_pool" || layer.keyword == "last" {
            "steps"
        } else {
            "keys"
        };
        let [ids] = token_inputs.as_slice() else {
            let why = if token_inputs.is_empty() {
                format!(
                    "`{}` has no `input(T) tokens`; declare its input as `input(T) tokens` (T ids per sample), or drop `key_padding`",
                    self.network.name
                )
            } else {
                format!(
                    "`{}` has several token inputs and this sequence comes from none of them, so the mask cannot tell which ids to read; start the sequence from an `input(T) tokens`, or drop `key_padding`",
                    self.network.name
                )
            };
            self.ctxt.error(
                &layer.tokens,
                format!("`{text}` masks the {masked} whose token id is the padding id, but {why}"),
            );
            return None;
        };
        let ids = *ids;
        let (Dims::Known(id_dims), Dims::Known(dims)) = (
            &self.nodes[ids].shape.dims,
            &self.nodes[sequence].shape.dims,
        ) else {
            return None;
        };
        let (id_steps, steps, features) = (
            id_dims.first()?.clone(),
            dims.first()?.clone(),
            dims.get(1)?.clone(),
        );
        let source = self.nodes[ids].shape.source.clone();
        let mismatch = format!(
            "`{text}` masks its {masked} by the ids of {source}, {} per sample, but reads {} steps; the mask needs one id per step (a layer before it changed the number of steps)",
            id_steps.text, steps.text
        );
        if !self.same_size(&layer.tokens, layer.span(), &id_steps, &steps, mismatch) {
            return None;
        }
        let packed = self.node(SampleShape::known(
            vec![steps.clone(), Width::sum(&[features, Width::known(1)])],
            layer.reference(),
        ));
        self.nodes[sequence].consumers += 1;
        self.nodes[ids].consumers += 1;
        self.steps.push(Step {
            kind: StepKind::Merge {
                kind: MergeKind::Concat(Some(1)),
                outer: steps.value_tokens,
                path: vec![format!("key_padding_{}", layer.position)],
            },
            inputs: vec![sequence, ids],
            output: packed,
            span: layer.span(),
        });
        Some(packed)
    }

    /// Rule: a layer type's input (a nested network's) has the shape the previous layer
    /// gives, and a layer after one takes its output's shape. The macro cannot see such a
    /// type's sizes, so the values pass through a [`StepKind::Bridge`] and one `const` check
    /// compares the shapes; a mismatch is one error naming both, not a type error per call.
    fn bridge(&mut self, layer: &Layer, from: usize, to: SampleShape) -> usize {
        let nn = self.nn;
        let given = &self.nodes[from].shape;
        let (a, b) = (to.shape_value(nn), given.shape_value(nn));
        let what = match &layer.kind {
            LayerKind::Custom { path } if layer.name.is_some() => format!(
                "{} (a `{}`)",
                layer.reference(),
                crate::ast::tokens_text(path)
            ),
            _ => layer.reference(),
        };
        let message = Message::default()
            .text(format!("{what} takes samples of shape "))
            .shape(a.clone())
            .text(format!(" but {} gives ", given.source))
            .shape(b.clone());
        self.ctxt.check(ConstCheck {
            span: layer.span(),
            condition: quote!(#nn::check::same_shape(#a, #b)),
            message,
        });
        let output = self.node(to);
        self.nodes[from].consumers += 1;
        self.steps.push(Step {
            kind: StepKind::Bridge,
            inputs: vec![from],
            output,
            span: layer.span(),
        });
        output
    }
}
