//! The plan a baked network runs: the declaration's [`Plan`] with every nested network of the
//! same `network!` call spliced in (its layers read their parameters under the nested path,
//! `encoder.fc1.weight`), every size a number, and the bridges between a nested network and
//! its neighbours gone (they pass the same values under another type).

use proc_macro2::TokenStream;
use syn::Ident;

use crate::ast::{Fork, Layer, LayerKind, Merge, MergeKind, Network};
use crate::ctxt::Ctxt;
use crate::kinds::{LayerCx, Spec};
use crate::shape::{Dims, SampleShape, Width};
use crate::validate::{Plan, StepKind};

/// How deep nested networks may go: deeper is a cycle (`A` nests `B`, which nests `A`), which
/// the heap network reports as a recursive type.
const MAX_DEPTH: usize = 16;

/// The flattened plan.
pub struct Flat<'a> {
    /// Every node's per-sample sizes.
    pub dims: Vec<Vec<u64>>,
    /// How many step inputs read each node.
    pub consumers: Vec<usize>,
    pub steps: Vec<FlatStep<'a>>,
    /// The network's inputs: their names when there are several, and their nodes.
    pub inputs: Vec<(Option<Ident>, usize)>,
    pub output: usize,
}

/// One step: a layer or a merge.
pub struct FlatStep<'a> {
    pub inputs: Vec<usize>,
    pub output: usize,
    pub kind: FlatKind<'a>,
}

pub enum FlatKind<'a> {
    /// A layer of a kind, with its dotted parameter prefix (`encoder.fc1`). `spec` is the
    /// layer's kind, or for a fork's cross-attention the merge's (`layer` is then the fork).
    Layer {
        layer: &'a Layer,
        spec: &'a dyn Spec,
        path: String,
    },
    /// A fork's merge, with its path (`block`, `merge_3`).
    Merge { kind: MergeKind, path: String },
}

/// The layers of `layers` that are plan steps, in the order validation made them: a fork's
/// branches in turn, each branch's layers in order, then the fork itself when its merge is a
/// layer (cross-attention).
fn layer_order<'a>(layers: &'a [Layer], order: &mut Vec<&'a Layer>) {
    for layer in layers {
        match &layer.kind {
            LayerKind::Input { .. } => {}
            LayerKind::Fork(fork) => {
                for branch in &fork.branches {
                    if let Some(layers) = &branch.layers {
                        layer_order(layers, order);
                    }
                }
                if fork.merge.attention.is_some() {
                    order.push(layer);
                }
            }
            _ => order.push(layer),
        }
    }
}

/// The network of `siblings` that `path` names, when it is a single name.
pub fn sibling<'a>(path: &syn::Path, siblings: &'a [Network]) -> Option<&'a Network> {
    let name = path.get_ident()?;
    siblings.iter().find(|network| network.name == *name)
}

/// A sample shape's sizes, when every one is known.
pub fn known_dims(dims: &Dims) -> Option<Vec<u64>> {
    match dims {
        Dims::Known(widths) => widths.iter().map(|w| w.value).collect(),
        Dims::Of { .. } => None,
    }
}

/// The sizes of a shape the plan knows; `None` for one only the compiler knows (a nested
/// network's output, a layer after it), which the flat plan works out itself.
fn flat_dims(dims: &Dims) -> Option<Vec<u64>> {
    match dims {
        Dims::Known(_) => known_dims(dims),
        Dims::Of { .. } => None,
    }
}

/// Flattens `plan`, `network`'s; `None` after reporting why it cannot be baked (or, for a
/// nested network with errors of its own, beside those errors).
pub fn build<'a>(
    network: &'a Network,
    siblings: &'a [Network],
    plan: &Plan,
    nn: &TokenStream,
    ctxt: &Ctxt,
) -> Option<Flat<'a>> {
    let mut flat = Flat {
        dims: Vec::new(),
        consumers: Vec::new(),
        steps: Vec::new(),
        inputs: Vec::new(),
        output: 0,
    };
    let mut builder = Builder {
        siblings,
        nn,
        ctxt,
        flat: &mut flat,
        ok: true,
    };
    let output = builder.add(network, plan, "", None, 0)?;
    if !builder.ok {
        return None;
    }
    flat.output = output;
    Some(flat)
}

struct Builder<'a, 'f> {
    siblings: &'a [Network],
    nn: &'f TokenStream,
    ctxt: &'f Ctxt,
    flat: &'f mut Flat<'a>,
    /// False once an error was reported; the walk goes on to report the others.
    ok: bool,
}

impl<'a> Builder<'a, '_> {
    fn node(&mut self, dims: Vec<u64>) -> usize {
        self.flat.dims.push(dims);
        self.flat.consumers.push(0);
        self.flat.dims.len() - 1
    }

    /// Adds `plan`'s steps, its layers' parameters under `prefix`; `input` is the node of a
    /// nested network's input (the top level's inputs become the flat plan's). Returns the
    /// node of its output.
    fn add(
        &mut self,
        network: &'a Network,
        plan: &Plan,
        prefix: &str,
        input: Option<usize>,
        depth: usize,
    ) -> Option<usize> {
        let mut map: Vec<Option<usize>> = vec![None; plan.nodes.len()];
        for plan_input in &plan.inputs {
            let node = match input {
                Some(node) => node,
                None => {
                    let dims = self.dims_of(network, plan, plan_input.node)?;
                    let node = self.node(dims);
                    self.flat.inputs.push((plan_input.name.clone(), node));
                    node
                }
            };
            map[plan_input.node] = Some(node);
        }
        let mut order = Vec::new();
        layer_order(&network.layers, &mut order);
        let mut layers = order.into_iter();
        for step in &plan.steps {
            let inputs: Vec<usize> = step
                .inputs
                .iter()
                .map(|&node| map[node])
                .collect::<Option<_>>()?;
            let output = match &step.kind {
                StepKind::Bridge => inputs.first().copied()?,
                StepKind::Unchecked => return None,
                StepKind::Merge { kind, path, .. } => {
                    let dims = match flat_dims(&plan.nodes[step.output].shape.dims) {
                        Some(dims) => dims,
                        None => self.merged(network, *kind, &inputs)?,
                    };
                    let output = self.node(dims);
                    let path = format!("{prefix}{}", path.join("."));
                    self.push(inputs, output, FlatKind::Merge { kind: *kind, path });
                    output
                }
                StepKind::Layer(layer_step) if layer_step.merge => {
                    let fork = layers.next()?;
                    let LayerKind::Fork(Fork {
                        merge:
                            Merge {
                                attention: Some(attention),
                                ..
                            },
                        ..
                    }) = &fork.kind
                    else {
                        return None;
                    };
                    let from = *inputs.first()?;
                    let dims = match flat_dims(&plan.nodes[step.output].shape.dims) {
                        Some(dims) => dims,
                        None => self.attended(from)?,
                    };
                    let output = self.node(dims);
                    let path = format!("{prefix}{}", layer_step.path.join("."));
                    let spec: &dyn Spec = attention;
                    self.push(
                        inputs,
                        output,
                        FlatKind::Layer {
                            layer: fork,
                            spec,
                            path,
                        },
                    );
                    output
                }
                StepKind::Layer(layer_step) => {
                    let layer = layers.next()?;
                    let path = format!("{prefix}{}", layer_step.path.join("."));
                    match &layer.kind {
                        LayerKind::Spec(spec) => {
                            let spec = spec.as_ref();
                            let dims = match flat_dims(&plan.nodes[step.output].shape.dims) {
                                Some(dims) => dims,
                                None => self.built(network, layer, spec, &inputs)?,
                            };
                            let output = self.node(dims);
                            self.push(inputs, output, FlatKind::Layer { layer, spec, path });
                            output
                        }
                        LayerKind::Custom { path: ty } => {
                            let from = inputs.first().copied()?;
                            self.nested(network, layer, ty, &path, from, depth)?
                        }
                        _ => return None,
                    }
                }
            };
            map[step.output] = Some(output);
        }
        map[plan.output]
    }

    /// The output sizes of a cross-attention reading the packed node `packed`: the queries',
    /// the first part of the merge that packed it.
    fn attended(&self, packed: usize) -> Option<Vec<u64>> {
        let merge = self.flat.steps.iter().rfind(|step| step.output == packed)?;
        Some(self.flat.dims[*merge.inputs.first()?].clone())
    }

    fn push(&mut self, inputs: Vec<usize>, output: usize, kind: FlatKind<'a>) {
        for &node in &inputs {
            self.flat.consumers[node] += 1;
        }
        self.flat.steps.push(FlatStep {
            inputs,
            output,
            kind,
        });
    }

    /// A nested network's steps, spliced in after `from`; its output's node.
    fn nested(
        &mut self,
        network: &Network,
        layer: &Layer,
        ty: &syn::Path,
        path: &str,
        from: usize,
        depth: usize,
    ) -> Option<usize> {
        let Some(inner) = sibling(ty, self.siblings).filter(|_| depth < MAX_DEPTH) else {
            self.ctxt.error(
                &layer.tokens,
                format!(
                    "`{}` is a layer type declared outside this `network!` call, so the macro cannot see its layers to bake them; declare it in the same `network!` call as `{}` (a nested network declared there bakes inline)",
                    crate::ast::tokens_text(ty),
                    network.name
                ),
            );
            self.ok = false;
            return None;
        };
        // Its own expansion reports its errors.
        let (plan, None) = crate::validate::validate(inner, self.siblings, self.nn) else {
            return None;
        };
        let plan = plan.filter(|plan| !plan.has_unchecked())?;
        self.add(inner, &plan, &format!("{path}."), Some(from), depth + 1)
    }

    /// The output sizes of `layer` on the flat input (after a nested network, whose output
    /// the plan only knows as a type).
    fn built(
        &mut self,
        network: &Network,
        layer: &Layer,
        spec: &dyn crate::kinds::Spec,
        inputs: &[usize],
    ) -> Option<Vec<u64>> {
        let dims = &self.flat.dims[*inputs.first()?];
        let widths = dims.iter().map(|&d| Width::known(d)).collect();
        let shape = SampleShape::known(widths, layer.reference());
        let muted = Ctxt::default();
        let cx = LayerCx {
            layer,
            input: Some(&shape),
            nn: self.nn,
            ctxt: &muted,
            network: &network.name,
        };
        let built = spec
            .build(&cx)
            .and_then(|built| flat_dims(&built.output.dims));
        if built.is_none() {
            self.unknown(network);
        }
        built
    }

    /// The output sizes of a merge of the flat `inputs`.
    fn merged(&mut self, network: &Network, kind: MergeKind, inputs: &[usize]) -> Option<Vec<u64>> {
        let first = self.flat.dims[*inputs.first()?].clone();
        match kind {
            MergeKind::Add => Some(first),
            MergeKind::Stack => Some(std::iter::once(inputs.len() as u64).chain(first).collect()),
            MergeKind::Concat(axis) => {
                let axis = axis.unwrap_or_else(|| crate::validate::feature_axis(first.len()));
                let mut dims = first;
                let total = inputs
                    .iter()
                    .map(|&node| self.flat.dims[node].get(axis).copied().unwrap_or(0))
                    .sum();
                *dims.get_mut(axis)? = total;
                Some(dims)
            }
            MergeKind::Pack => Some(vec![
                inputs
                    .iter()
                    .map(|&node| self.flat.dims[node].iter().product::<u64>())
                    .sum(),
            ]),
            MergeKind::Invalid | MergeKind::Attention => {
                self.unknown(network);
                None
            }
        }
    }

    fn unknown(&mut self, network: &Network) {
        self.ctxt.error(
            &network.list_tokens,
            format!(
                "`{}` has a size the macro cannot work out, and a baked network's buffers are sized by the macro; write its sizes as literals",
                network.name
            ),
        );
        self.ok = false;
    }

    /// The sizes of `plan`'s `node`, or an error on `network` when one is not known (only when
    /// the named sizes were not all resolved, which `resolve` reports first).
    fn dims_of(&mut self, network: &Network, plan: &Plan, node: usize) -> Option<Vec<u64>> {
        let dims = known_dims(&plan.nodes[node].shape.dims);
        if dims.is_none() {
            self.unknown(network);
        }
        dims
    }
}
