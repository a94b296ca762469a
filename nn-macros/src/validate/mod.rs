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

pub use plan::{LayerStep, Plan, PlanInput, Step, StepKind};
use plan::{Node, Point};

use crate::ast::{Layer, LayerKind, Network};
use crate::ctxt::{ConstCheck, Ctxt, Message};
use crate::kinds::{Built, LayerCx};
use crate::shape::{SampleShape, Side};

/// Applies every rule to `network`.
///
/// Returns the plan when every shape is known, even if there are errors: a size mismatch does
/// not stop the code from being generated (with the previous layer's size), so that the user's
/// uses of the network do not turn into a cascade of "no method" errors. The errors, parse
/// problems first, come combined into one `syn::Error`.
pub fn validate(network: &Network, nn: &TokenStream) -> (Option<Plan>, Option<syn::Error>) {
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
    };
    let (flow, layers) = builder.declared_inputs();
    let flow = builder.chain(layers, flow, &[]);
    if builder.steps.is_empty() && !network.layers.is_empty() && builder.complete {
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
    let plan = match flow {
        Flow::At(output) if complete && !steps.is_empty() && !unusable => Some(Plan {
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
        self.complete = false;
        Flow::Broken
    }

    /// Walks `layers` from `flow`; returns where the chain ends.
    fn chain(&mut self, layers: &[Layer], mut flow: Flow, prefix: &[String]) -> Flow {
        for layer in layers {
            flow = self.layer(layer, flow, prefix);
        }
        flow
    }

    fn layer(&mut self, layer: &Layer, flow: Flow, prefix: &[String]) -> Flow {
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
            LayerKind::Invalid => self.broken(),
            LayerKind::Input { name, .. } => {
                // The inputs that open the network were read by `declared_inputs`.
                self.misplaced_input(layer, name.as_ref());
                flow
            }
            LayerKind::Spec(spec) => {
                let built = {
                    let cx = self.cx(layer, input.map(|node| &self.nodes[node].shape));
                    spec.build(&cx)
                };
                match built {
                    Some(built) => self.push_layer(layer, prefix, input, built),
                    None => self.broken(),
                }
            }
            LayerKind::Custom { path } => {
                let ty = quote_spanned!(layer.span()=> #path);
                let built = Built {
                    output: SampleShape::of(ty.clone(), Side::Output, layer.reference()),
                    input: Some(SampleShape::of(ty.clone(), Side::Input, layer.reference())),
                    init: None,
                    ty,
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
            }),
            inputs: vec![input],
            output,
            span: layer.span(),
        });
        Flow::At(output)
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
