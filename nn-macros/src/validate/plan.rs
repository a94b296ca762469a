//! What validation hands to expansion: a graph of buffers ([`Node`]s, node 0 being the
//! network's input) and the [`Step`]s between them in forward order.

use proc_macro2::{Ident, Span, TokenStream};

use crate::ast::MergeKind;
use crate::ctxt::ConstCheck;
use crate::shape::SampleShape;

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
}
