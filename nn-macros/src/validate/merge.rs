//! Forks and their merges. Rules: a fork has at least two uniquely named branches; `stack` and
//! `add` need equal branch shapes, `concat(AXIS)` equal shapes but on its axis, which must exist.
//! The fork after several inputs starts each branch at the input it names (`inputs`).

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;

use super::plan::{Point, Step, StepKind};
use super::{Builder, Flow};
use crate::ast::{Fork, Layer, MergeKind, located};
use crate::ctxt::{ConstCheck, Message};
use crate::shape::{Dims, MAX_RANK, SampleShape, Width};

impl Builder<'_> {
    /// Runs every branch from `input` (or, after several inputs, from the input each branch
    /// names), then merges their outputs.
    pub(super) fn fork(
        &mut self,
        layer: &Layer,
        fork: &Fork,
        input: Option<usize>,
        prefix: &[String],
    ) -> Flow {
        if fork.branches.len() < 2 {
            self.ctxt.error(
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
            self.ctxt.error(&branch.name, message);
            segments.push(format!("{}{index}_{}", branch.name, layer.position));
        }
        let mut fork_prefix = prefix.to_vec();
        if let Some(name) = &layer.name {
            fork_prefix.push(name.to_string());
        }
        let mut ends = Vec::new();
        let mut whole = true;
        let mut sources_known = true;
        for (branch, segment) in fork.branches.iter().zip(segments) {
            let Some(start) = self.branch_start(branch, input) else {
                whole = false;
                sources_known = false;
                continue;
            };
            let end = match &branch.layers {
                None => Flow::At(start),
                Some(layers) => {
                    let mut branch_prefix = fork_prefix.clone();
                    branch_prefix.push(segment);
                    self.chain(layers, Flow::At(start), &branch_prefix)
                }
            };
            match end {
                Flow::At(node) => ends.push((branch.name.to_string(), node)),
                _ => whole = false,
            }
        }
        // An input a misspelt branch meant to read would also look unread.
        if input.is_none() && sources_known {
            self.check_inputs_read();
        }
        if !whole || fork.merge.kind == MergeKind::Invalid || ends.len() < 2 {
            return self.broken();
        }
        if fork.merge.kind == MergeKind::Attention {
            return self.attention_merge(layer, fork, &ends, prefix);
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
        let mut path = prefix.to_vec();
        path.push(match &layer.name {
            Some(name) => name.to_string(),
            None => format!("merge_{}", layer.position),
        });
        self.steps.push(Step {
            kind: StepKind::Merge {
                kind: fork.merge.kind,
                outer,
                path,
            },
            inputs: ends.iter().map(|&(_, node)| node).collect(),
            output,
            span: located(fork.merge.keyword.span()),
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
                        "`{word}` cannot check branch `{name}`: it ends in {}, whose shape is not known to `network!` (a network declared in the same call would be); end the branch with a layer that fixes the shape, such as `dense` or `reshape`",
                        self.nodes[*node].shape.source
                    );
                    self.ctxt.error(&merge.tokens, message);
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
                let axis = axis.unwrap_or_else(|| feature_axis(first.len()));
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
                    self.ctxt.error(&merge.tokens, message);
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
                // A sequence beside a vector is most often a recurrent branch without `last`.
                let sequence = match (first.len(), dims.len()) {
                    (1, 2) => Some(&ends[i].0),
                    (2, 1) => Some(&ends[0].0),
                    _ => None,
                };
                let mismatch = format!(
                    "`{word}` needs branches with the same number of axes but `{}` gives {} and `{}` gives {}{}",
                    ends[0].0,
                    shape_text(0),
                    ends[i].0,
                    shape_text(i),
                    match sequence {
                        Some(branch) => format!(
                            "; `{branch}` gives a sequence: end it with `last` to merge its final step"
                        ),
                        None => String::new(),
                    }
                );
                self.ctxt.error(&merge.tokens, mismatch);
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
                        self.ctxt.error(&merge.tokens, mismatch);
                        ok = false;
                        break;
                    }
                    _ => {
                        let (x, y) = (&a.value_tokens, &b.value_tokens);
                        let message = Message::default()
                            .text(format!("{mismatch}, whose axis {d} is "))
                            .value(x.clone())
                            .text(" against ")
                            .value(y.clone());
                        self.ctxt.check(ConstCheck {
                            span: located(merge.keyword.span()),
                            condition: quote!(#x == #y),
                            message,
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
                dims[axis] = Width::sum(&joined);
                let before = &first[..axis];
                let outer = if before.is_empty() {
                    quote!(1usize)
                } else {
                    Width::product(before).value_tokens
                };
                (dims, outer)
            }
            MergeKind::Stack => {
                if first.len() + 1 > MAX_RANK {
                    let message = format!(
                        "`stack` would give samples of {} axes but a sample has at most {MAX_RANK}; {}",
                        first.len() + 1,
                        if first.len() == 3 {
                            "to join images, `concat` their channels; or `flatten` the branches first"
                        } else {
                            "`flatten` the branches first"
                        }
                    );
                    self.ctxt.error(&merge.tokens, message);
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

impl Builder<'_> {
    /// `fork { q: [..], kv: [..] } => multi_head_attention(D, heads = H)`: the queries of the
    /// first branch attend to the keys and values of the second (or the keys of the second and
    /// the values of the third). Rules: every branch gives a `(T, D)` sequence of the declared
    /// `D`, keys and values have the same length, the heads divide `D`, and no `causal`. The
    /// branches are packed along the steps (`concat(0)`, the values twice for two branches)
    /// into one input of `nn::layers::CrossAttention`, a layer named after the fork.
    fn attention_merge(
        &mut self,
        layer: &Layer,
        fork: &Fork,
        ends: &[(String, usize)],
        prefix: &[String],
    ) -> Flow {
        let merge = &fork.merge;
        let Some(attention) = &merge.attention else {
            return self.broken();
        };
        let text = merge.text();
        if attention.causal {
            self.ctxt.error(
                &merge.tokens,
                format!(
                    "`{text}` after a fork attends from one sequence to another, so it cannot be `causal`; causal attention is self-attention, `multi_head_attention(D, heads = H, causal)` in the chain"
                ),
            );
            return self.broken();
        }
        if ends.len() > 3 {
            self.ctxt.error(
                &merge.tokens,
                format!(
                    "`{text}` after a fork takes two branches, the queries and the keys/values (or three: the queries, the keys, the values), but this fork has {}",
                    ends.len()
                ),
            );
            return self.broken();
        }
        // (name, steps, features) of each branch.
        let mut sequences: Vec<(&str, Width, Width)> = Vec::new();
        for (name, node) in ends {
            let shape = &self.nodes[*node].shape;
            match &shape.dims {
                Dims::Known(dims) if dims.len() == 2 && !shape.tokens => {
                    sequences.push((name, dims[0].clone(), dims[1].clone()));
                }
                _ => {
                    self.ctxt.error(
                        &merge.tokens,
                        format!(
                            "`{text}` needs a sequence (T, D) from every branch, but `{name}` gives {}",
                            shape.text()
                        ),
                    );
                    return self.broken();
                }
            }
        }
        let declared = Width::of(&attention.features);
        let (query, steps, features) = sequences[0].clone();
        let heads = attention.heads.text();
        let mut ok = self.same_size(
            &merge.tokens,
            located(merge.keyword.span()),
            &declared,
            &features,
            format!(
                "`{text}` expects {} features per step but the queries `{query}` give {}; did you mean `multi_head_attention({}, heads = {heads})`?",
                declared.text, features.text, features.text
            ),
        );
        for (name, _, given) in &sequences[1..] {
            ok &= self.same_size(
                &merge.tokens,
                located(merge.keyword.span()),
                &features,
                given,
                format!(
                    "`{text}` takes keys and values of the queries' {} features (PyTorch's packed `in_proj_weight`, 3·D x D), but `{name}` gives {}; end `{name}` with `dense({} -> {})`",
                    features.text, given.text, given.text, features.text
                ),
            );
        }
        if let [_, (keys, key_steps, _), (values, value_steps, _)] = sequences.as_slice() {
            ok &= self.same_size(
                &merge.tokens,
                located(merge.keyword.span()),
                key_steps,
                value_steps,
                format!(
                    "`{text}` needs one value per key, but the keys `{keys}` have {} steps and the values `{values}` {}",
                    key_steps.text, value_steps.text
                ),
            );
        }
        crate::kinds::attention::heads_divide(
            &attention.features,
            &attention.heads,
            &text,
            self.ctxt,
            &merge.tokens,
            located(merge.keyword.span()),
        );
        if !ok {
            return self.broken();
        }
        let kv = ends[1].1;
        let key_steps = sequences[1].1.clone();
        let ids = match &attention.key_padding {
            Some(pad) => match self.key_ids(merge, (sequences[1].0, kv), &key_steps, pad) {
                Some(ids) => Some(ids),
                None => return self.broken(),
            },
            None => None,
        };

        // The packed input: queries, keys, values along the steps; with a mask, every value
        // of those rows and then the keys' ids.
        let (keys, values) = (kv, ends.get(2).map_or(kv, |&(_, node)| node));
        let packed_steps = Width::sum(&[steps.clone(), key_steps.clone(), key_steps.clone()]);
        let (packed_dims, pack) = match ids {
            Some(_) => {
                let rows = Width::product(&[packed_steps.clone(), features.clone()]);
                let len = Width::sum(&[rows, key_steps.clone()]);
                (vec![len], MergeKind::Pack)
            }
            None => (
                vec![packed_steps.clone(), features.clone()],
                MergeKind::Concat(Some(0)),
            ),
        };
        let packed = self.node(SampleShape::known(packed_dims.clone(), layer.reference()));
        let inputs: Vec<usize> = [ends[0].1, keys, values].into_iter().chain(ids).collect();
        for &node in &inputs {
            self.nodes[node].consumers += 1;
        }
        let segment = match &layer.name {
            Some(name) => name.to_string(),
            None => format!("attention_{}", layer.position),
        };
        let mut path = prefix.to_vec();
        path.push(segment.clone());
        let span = located(merge.keyword.span());
        self.steps.push(Step {
            kind: StepKind::Merge {
                kind: pack,
                outer: quote!(1usize),
                path: path.clone(),
            },
            inputs,
            output: packed,
            span,
        });

        let nn = self.nn;
        let (tq, tk, n, d, h) = (
            &steps.tokens,
            &key_steps.tokens,
            &packed_steps.tokens,
            &features.tokens,
            attention.heads.as_const_arg(),
        );
        let ty = match &attention.key_padding {
            Some(pad) => {
                let (len, pad) = (&packed_dims[0].tokens, pad.as_const_arg());
                quote::quote_spanned!(span=> #nn::layers::PaddedCrossAttention<#tq, #tk, #len, #d, #h, #pad, #n>)
            }
            None => quote::quote_spanned!(span=> #nn::layers::CrossAttention<#tq, #tk, #n, #d, #h>),
        };
        let wanted = match &layer.name {
            Some(name) => name.clone(),
            None if prefix.is_empty() => quote::format_ident!("{}", segment),
            None => quote::format_ident!("{}_{}", prefix.join("_"), segment),
        };
        let field = self.claim(wanted, layer, prefix.is_empty());
        let output = self.node(SampleShape::known(vec![steps, features], layer.reference()));
        self.nodes[packed].consumers += 1;
        if layer.name.is_some() {
            self.points.push(Point {
                name: field.clone(),
                node: output,
            });
        }
        self.steps.push(Step {
            kind: StepKind::Layer(super::plan::LayerStep {
                field,
                path,
                init: quote::quote_spanned!(span=> <#ty as #nn::layers::Composable>::build(rng)),
                param_count: quote::quote_spanned!(span=> <#ty as #nn::layers::Composable>::PARAM_COUNT),
                ty,
                text,
                decodes: false,
                merge: true,
            }),
            inputs: vec![packed],
            output,
            span,
        });
        Flow::At(output)
    }

    /// Rule: a cross-attention's `key_padding` masks its keys by token ids, so the keys
    /// (`name`, ending at `keys`) come from an `input(T) tokens`, one step per id. Returns the
    /// ids' node.
    fn key_ids(
        &self,
        merge: &crate::ast::Merge,
        (name, keys): (&str, usize),
        key_steps: &Width,
        pad: &crate::ast::Dim,
    ) -> Option<usize> {
        let text = merge.text();
        let source = self.source_input(keys);
        let shape = &self.nodes[source].shape;
        if !shape.tokens {
            self.ctxt.error(
                &merge.tokens,
                format!(
                    "`{text}` masks the keys whose token id is {}, but the keys `{name}` come from {}, which is not token ids; start `{name}` from an `input(T) tokens`, or drop `key_padding`",
                    pad.text(),
                    shape.source
                ),
            );
            return None;
        }
        let Dims::Known(id_dims) = &shape.dims else {
            return None;
        };
        let id_steps = id_dims.first()?;
        let mismatch = format!(
            "`{text}` masks its keys by the ids of {}, {} per sample, but the keys `{name}` have {} steps; the mask needs one id per key (a layer in `{name}` changed the number of steps)",
            shape.source, id_steps.text, key_steps.text
        );
        let span = located(merge.keyword.span());
        self.same_size(&merge.tokens, span, id_steps, key_steps, mismatch)
            .then_some(source)
    }
}

/// The axis a bare `concat` joins: the feature axis, as Keras's `Concatenate` and channels-first
/// PyTorch models (`torch.cat(.., dim=1)`) do. That is C on `(C, H, W)` images, F on `(T, F)`
/// sequences and the only axis of a vector, so an inception, U-Net or DenseNet block joins its
/// channels without an explicit axis, and a fix for a channel mismatch never lays feature maps
/// side by side.
pub(crate) fn feature_axis(rank: usize) -> usize {
    match rank {
        3 => 0,
        rank => rank.saturating_sub(1),
    }
}
