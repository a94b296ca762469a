//! What validation hands to expansion: a graph of buffers ([`Node`]s, node 0 being the
//! network's input) and the [`Step`]s between them in forward order.

use std::collections::HashSet;

use proc_macro2::{Ident, Span, TokenStream};

use crate::ast::MergeKind;
use crate::ctxt::ConstCheck;
use crate::shape::{Dims, SampleShape, Width};

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
    pub param_count: TokenStream,
    /// The layer as the user wrote it, for docs.
    pub text: String,
    /// Whether the layer runs one step at a time (`nn::layers::Decode`).
    pub decodes: bool,
    /// The attention of a `fork { .. } => multi_head_attention(..)`: a layer the merge adds,
    /// with no item of its own in the declaration.
    pub merge: bool,
}

pub enum StepKind {
    Layer(LayerStep),
    /// A fork's merge. `outer` is what multiplies the batch in the chunked concat/split: the
    /// product of the dims before the concatenated axis (1 for `stack`).
    Merge {
        kind: MergeKind,
        outer: TokenStream,
        /// The dotted path of the merge's quantization: the fork's name (`block`), or
        /// `merge_<position>` for an unnamed fork.
        path: Vec<String>,
    },
    /// The same values under the type a layer type takes (a nested network's input, or a
    /// layer after one): the shapes are checked equal by a `ConstCheck`, so a mismatch at the
    /// boundary is one error naming both shapes rather than a type error at every call.
    Bridge,
    /// Layers with an error in between: the chain resumed at a layer that fixes its own input
    /// shape. Only generated beside that error, which stops the build, so it computes nothing;
    /// it keeps the network's API whole, so the one mistake stays one error.
    Unchecked,
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

/// One input of the network: its name when it is one of several, and its node.
pub struct PlanInput {
    pub name: Option<Ident>,
    pub node: usize,
}

/// The buffers, the steps between them, the named points, and the checks left to the
/// compiler.
pub struct Plan {
    pub nodes: Vec<Node>,
    pub steps: Vec<Step>,
    pub points: Vec<Point>,
    pub checks: Vec<ConstCheck>,
    /// The network's inputs: one unnamed, or several named.
    pub inputs: Vec<PlanInput>,
    /// The node that is the network's output.
    pub output: usize,
}

impl Plan {
    /// Whether layers with an error were skipped: then the code exists for the API alone.
    pub fn has_unchecked(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step.kind, StepKind::Unchecked))
    }

    pub fn layer_steps(&self) -> impl Iterator<Item = (usize, &LayerStep)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.kind {
                StepKind::Layer(layer) => Some((i, layer)),
                _ => None,
            })
    }

    /// The parts of the merge that wrote `packed` (a cross-attention's input): queries, keys,
    /// values and, with a mask, the keys' ids.
    pub fn pack_parts(&self, packed: usize) -> Vec<usize> {
        self.steps
            .iter()
            .find(|step| step.output == packed && matches!(step.kind, StepKind::Merge { .. }))
            .map_or_else(Vec::new, |step| step.inputs.clone())
    }

    /// How the network decodes with input `decoded` as its steps, when it does: one input, or
    /// two whose other reaches the decoded branch only as cross-attention's keys and values
    /// (the memory); every step that depends on the decoded input a layer that decodes, a
    /// merge that keeps the steps apart, or such a cross-attention; and every buffer of the
    /// decoded branch a `(T, F)` sequence (the input's ids count 1 per step).
    pub fn decode_plan(&self, decoded: usize) -> Option<DecodePlan> {
        let memory = match self.inputs.len() {
            1 => None,
            2 => Some(1 - decoded),
            _ => return None,
        };
        let input = self.inputs[decoded].node;
        let mut depends = vec![false; self.nodes.len()];
        depends[input] = true;
        let mut packs = HashSet::new();
        for step in &self.steps {
            if !step.inputs.iter().any(|&k| depends[k]) {
                continue;
            }
            depends[step.output] = true;
            let ok = match &step.kind {
                StepKind::Layer(layer) if layer.merge => {
                    // Its queries step by step, its keys, values (and ids) the memory's.
                    let parts = self.pack_parts(step.inputs[0]);
                    let pack = self.steps.iter().position(|p| p.output == step.inputs[0]);
                    match (parts.split_first(), pack) {
                        (Some((&queries, rest)), Some(pack)) if memory.is_some() => {
                            packs.insert(pack);
                            depends[queries] && rest.iter().all(|&k| !depends[k])
                        }
                        _ => false,
                    }
                }
                StepKind::Layer(layer) => layer.decodes,
                StepKind::Merge { .. } if self.feeds_cross(step.output) => true,
                StepKind::Merge { kind, .. } => {
                    matches!(kind, MergeKind::Add | MergeKind::Concat(None | Some(1)))
                        && step.inputs.iter().all(|&k| depends[k])
                }
                // Into a nested network: the same values, checked to be the same shape.
                StepKind::Bridge => true,
                StepKind::Unchecked => false,
            };
            if !ok {
                return None;
            }
        }
        if !depends[self.output] {
            return None;
        }
        let packed: HashSet<usize> = packs.iter().map(|&s| self.steps[s].output).collect();
        let mut widths: Vec<Option<Width>> = vec![None; self.nodes.len()];
        let width_of = |k: usize| -> Option<Width> {
            let node = &self.nodes[k];
            match &node.shape.dims {
                Dims::Known(dims) if k == input && node.shape.tokens && dims.len() == 1 => {
                    Some(Width::known(1))
                }
                Dims::Known(dims) if dims.len() == 2 && !node.shape.tokens => Some(dims[1].clone()),
                _ => None,
            }
        };
        widths[input] = Some(width_of(input)?);
        for step in self.steps.iter().filter(|step| depends[step.output]) {
            let k = step.output;
            if packed.contains(&k) {
                continue;
            }
            widths[k] = match step.kind {
                // A nested network's input, whose shape only the compiler sees: its source's.
                StepKind::Bridge => widths[step.inputs[0]].clone(),
                _ => width_of(k),
            };
            widths[k].as_ref()?;
        }
        Some(DecodePlan {
            decoded,
            memory,
            widths,
            packs,
        })
    }

    /// Whether `node` is the packed input of a cross-attention.
    fn feeds_cross(&self, node: usize) -> bool {
        self.steps.iter().any(|step| {
            matches!(&step.kind, StepKind::Layer(layer) if layer.merge) && step.inputs[0] == node
        })
    }
}

/// How a network decodes.
pub struct DecodePlan {
    /// The input a step comes from, and the memory's, as indices of `plan.inputs`.
    pub decoded: usize,
    pub memory: Option<usize>,
    /// Per node: its values in one step when it depends on the decoded input.
    pub widths: Vec<Option<Width>>,
    /// The merges that pack a cross-attention's input: a step reads their parts instead.
    pub packs: HashSet<usize>,
}
