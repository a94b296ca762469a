//! Rules on the inputs: `input(..)` items come before the first layer. One input is unnamed
//! (`input(784)`); several are named (`input(image: 784), input(meta: 10)`), uniquely, and the
//! item after them is a fork whose every branch says which input it reads (`image => [..]`),
//! each input read by at least one branch.

use syn::Ident;

use super::plan::PlanInput;
use super::{Builder, Flow};
use crate::ast::{Branch, Dim, Layer, LayerKind};
use crate::shape::SampleShape;
use crate::suggest;

/// Input names the generated methods already give to parameters of their own.
const RESERVED: &[&str] = &["tape", "dy", "extra"];

/// One of several named inputs, while the fork that reads them is checked.
pub struct NamedInput {
    pub name: Ident,
    pub node: usize,
    /// Whether a branch reads it.
    pub read: bool,
}

impl<'a> Builder<'a> {
    /// Reads the `input(..)` items that open the network; returns where the chain stands after
    /// them and the layers that follow.
    pub(super) fn declared_inputs(&mut self) -> (Flow, &'a [Layer]) {
        let layers = &self.network.layers;
        let count = layers
            .iter()
            .take_while(|layer| matches!(layer.kind, LayerKind::Input { .. }))
            .count();
        let (declared, rest) = layers.split_at(count);
        let flow = match declared {
            [] => Flow::Start,
            [single] => self.single_input(single),
            several => self.several_inputs(several),
        };
        (flow, rest)
    }

    /// Rule: `input(T) tokens` is a sequence of `T` token ids: one axis.
    fn input_shape(&self, layer: &Layer, dims: &[Dim], tokens: bool) -> Option<SampleShape> {
        if tokens && dims.len() != 1 {
            self.ctxt.error(
                &layer.tokens,
                format!(
                    "`{}` has {} sizes, but token ids come as one sequence per sample: write `input(T) tokens`, T ids each",
                    layer.text(),
                    dims.len()
                ),
            );
            return None;
        }
        let shape = self.cx(layer, None).dims_shape(dims)?;
        Some(SampleShape { tokens, ..shape })
    }

    /// Rule: `input(D, ..)` alone is unnamed, and a name before it (`x: input(3)`) does nothing.
    fn single_input(&mut self, layer: &Layer) -> Flow {
        let LayerKind::Input { name, dims, tokens } = &layer.kind else {
            return self.broken();
        };
        self.unnamed_layer(layer);
        let more_later = self.network.layers[1..]
            .iter()
            .any(|l| matches!(l.kind, LayerKind::Input { .. }));
        if let Some(name) = name
            && !more_later
        {
            self.ctxt.error(
                name,
                format!(
                    "`{}` names the only input of `{}`; names are for a network with several inputs, so write `input({})`",
                    layer.text(),
                    self.network.name,
                    crate::ast::dims_text(dims)
                ),
            );
        }
        match self.input_shape(layer, dims, *tokens) {
            Some(shape) => {
                let node = self.node(shape);
                self.plan_inputs.push(PlanInput { name: None, node });
                Flow::At(node)
            }
            None => self.broken(),
        }
    }

    /// Rule: several inputs are each named, uniquely, with a name the generated methods do not
    /// already use.
    fn several_inputs(&mut self, layers: &[Layer]) -> Flow {
        let mut whole = true;
        for layer in layers {
            let LayerKind::Input { name, dims, tokens } = &layer.kind else {
                continue;
            };
            self.unnamed_layer(layer);
            let shape = self.input_shape(layer, dims, *tokens);
            let Some(name) = name else {
                self.ctxt.error(
                    &layer.tokens,
                    format!(
                        "`{}` has several inputs, so each is named: write `input(NAME: {})` and read it in the fork that follows as `NAME => [..]`",
                        self.network.name,
                        crate::ast::dims_text(dims)
                    ),
                );
                // No code without a name for every input; the fork is still checked.
                self.complete = false;
                if let Some(shape) = shape {
                    self.node(shape);
                }
                continue;
            };
            if let Some(first) = self.inputs.iter().find(|input| input.name == *name) {
                self.ctxt.error(
                    name,
                    format!(
                        "duplicate input name `{name}`; the first `{}` is declared before it, and each input of `{}` needs a name of its own",
                        first.name, self.network.name
                    ),
                );
                self.complete = false;
                continue;
            }
            if RESERVED.iter().any(|word| name == word) {
                self.ctxt.error(
                    name,
                    format!(
                        "`{name}` cannot name an input: the generated methods already have a parameter `{name}`; pick another name"
                    ),
                );
                self.complete = false;
            }
            let Some(mut shape) = shape else {
                whole = false;
                continue;
            };
            shape.source = format!("`{name}`");
            let node = self.node(shape);
            self.inputs.push(NamedInput {
                name: name.clone(),
                node,
                read: false,
            });
            self.plan_inputs.push(PlanInput {
                name: Some(name.clone()),
                node,
            });
        }
        if whole { Flow::Inputs } else { self.broken() }
    }

    /// Rule: `input(..)` is not a layer, so a name in front of it (`x: input(3)`) would do
    /// nothing.
    fn unnamed_layer(&self, layer: &Layer) {
        let (Some(name), LayerKind::Input { dims, .. }) = (&layer.name, &layer.kind) else {
            return;
        };
        self.ctxt.error(
            name,
            format!(
                "`input(..)` declares a shape, not a layer, so it cannot be named; drop `{name}:` (one of several inputs is named inside: `input({name}: {})`)",
                crate::ast::dims_text(dims)
            ),
        );
    }

    /// Rule: after several inputs comes a fork that reads them, not a layer.
    pub(super) fn not_a_fork_after_inputs(&mut self, layer: &Layer) -> Flow {
        let names: Vec<String> = self.inputs.iter().map(|i| i.name.to_string()).collect();
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let example: Vec<String> = names.iter().map(|n| format!("{n} => [..]")).collect();
        self.ctxt.error(
            &layer.tokens,
            format!(
                "`{}` has several inputs ({}), so the item after them is a `fork` whose branches say which input each reads, e.g. `fork {{ {} }} => concat`; `{}` cannot tell which input it reads",
                self.network.name,
                quoted.join(", "),
                example.join(", "),
                layer.text()
            ),
        );
        self.broken()
    }

    /// Rule: a branch of the fork after several inputs names one of them (`img: image => [..]`),
    /// and only that fork's branches do. Returns the node the branch starts from.
    pub(super) fn branch_start(&mut self, branch: &Branch, input: Option<usize>) -> Option<usize> {
        match (input, &branch.source) {
            (Some(node), None) => Some(node),
            (None, Some(source)) => {
                let found = self.inputs.iter_mut().find(|i| i.name == *source);
                if let Some(named) = found {
                    named.read = true;
                    return Some(named.node);
                }
                let names: Vec<String> = self.inputs.iter().map(|i| i.name.to_string()).collect();
                let hint =
                    match suggest::closest(&source.to_string(), names.iter().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => {
                            let quoted: Vec<String> =
                                names.iter().map(|n| format!("`{n}`")).collect();
                            format!("its inputs are {}", quoted.join(", "))
                        }
                    };
                self.ctxt.error(
                    source,
                    format!(
                        "unknown input `{source}` in branch `{}` of `{}`; {hint}",
                        branch.name, self.network.name
                    ),
                );
                None
            }
            (None, None) => {
                let example = self
                    .inputs
                    .first()
                    .map_or_else(|| "image".to_string(), |i| i.name.to_string());
                self.ctxt.error(
                    &branch.name,
                    format!(
                        "branch `{0}` of the fork after the inputs of `{1}` must say which input it reads, e.g. `{0}: {example} => [..]`",
                        branch.name, self.network.name
                    ),
                );
                None
            }
            (Some(_), Some(source)) => {
                let message = if self.plan_inputs.iter().any(|i| i.name.is_some()) {
                    format!(
                        "branch `{}` reads the input `{source}`, but only the fork right after the inputs reads them; put the layers on `{source}` in a branch of that fork",
                        branch.name
                    )
                } else {
                    format!(
                        "`{}` has no named input `{source}`; a branch reads one (`{source} => [..]`) in the fork after several inputs, declared as `input({source}: ..), input(other: ..)`",
                        self.network.name
                    )
                };
                self.ctxt.error(source, message);
                None
            }
        }
    }

    /// Rule: every named input is read by a branch (an unread one would still be an argument
    /// of every method). Checked by the fork after the inputs, once its branches are read.
    pub(super) fn check_inputs_read(&self) {
        for input in self.inputs.iter().filter(|input| !input.read) {
            self.ctxt.error(
                &input.name,
                format!(
                    "input `{0}` of `{1}` is read by no branch; read it in the fork after the inputs (`{0} => [..]`), or remove it",
                    input.name, self.network.name
                ),
            );
        }
    }

    /// Rule: an `input(..)` after the first layer.
    pub(super) fn misplaced_input(&self, layer: &Layer, name: Option<&Ident>) {
        let message = match name {
            Some(_) => format!(
                "`{}` declares an input of `{}`, so it must come before the first layer, with the other inputs",
                layer.text(),
                self.network.name
            ),
            None => format!(
                "`{}` declares the input shape of `{}`, so it must come first",
                layer.text(),
                self.network.name
            ),
        };
        self.ctxt.error(&layer.tokens, message);
    }
}
