//! Sizes written as named constants (`dense(IN -> HIDDEN)`), taken from the weights file.
//!
//! A macro cannot evaluate a constant, but a baked network's file has every parameter's
//! shape. Each named size gets a distinct probe value (a prime above 200); the declaration is
//! validated and its parameter shapes worked out with the probes, then again with one probe
//! doubled at a time. A tensor axis that doubles with one probe alone, and is `c` times it, is
//! `c · NAME`: the file's axis divided by `c` is `NAME`'s value. Rounds go on while they
//! resolve more sizes (a size resolved once fixes the shapes that depend on it).
//!
//! Each resolved size becomes an item-level `const _: () = assert!(NAME == value, ..)`,
//! spanned on the layer whose tensor gave it, so a constant that disagrees with the file is a
//! compile error naming both values. A size no tensor gives (`reshape(N)` between layers
//! without weights) stays an error.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use super::flat::{self, FlatKind};
use crate::ast::{Dim, Layer, LayerKind, Network, with_resolved};
use crate::ctxt::{ConstCheck, Ctxt, Message};
use crate::kinds::Spec;
use crate::kinds::bake::BakeCx;
use crate::shape::MAX_SIZE;

/// A named size of the declaration: its text (`HIDDEN`), its `usize` expression, and the first
/// layer that writes it.
struct Unknown<'a> {
    text: String,
    value: TokenStream,
    layer: &'a Layer,
}

/// Where a resolved size came from.
struct Source<'a> {
    value: u64,
    layer: &'a Layer,
    tensor: String,
    shape: Vec<usize>,
}

/// Every parameter's name, shape as the declaration gives it, and layer, in plan order (a
/// layer's weight before its bias, so a size is traced to the weight when both give it).
type Shapes<'a> = Vec<(String, Vec<usize>, &'a Layer)>;

/// Every named size of `network` (and of the networks of the call it nests), once each.
fn unknowns<'a>(network: &'a Network, siblings: &'a [Network]) -> Vec<Unknown<'a>> {
    fn walk<'a>(
        layers: &'a [Layer],
        siblings: &'a [Network],
        depth: usize,
        out: &mut Vec<Unknown<'a>>,
    ) {
        for layer in layers {
            let dims: Vec<&Dim> = match &layer.kind {
                LayerKind::Spec(spec) => spec.sizes(),
                LayerKind::Input { dims, .. } => dims.iter().collect(),
                LayerKind::Fork(fork) => {
                    for branch in &fork.branches {
                        if let Some(layers) = &branch.layers {
                            walk(layers, siblings, depth, out);
                        }
                    }
                    // A cross-attention's sizes.
                    match &fork.merge.attention {
                        Some(attention) => attention.sizes(),
                        None => Vec::new(),
                    }
                }
                LayerKind::Custom { path } => {
                    if let Some(inner) = flat::sibling(path, siblings).filter(|_| depth < 16) {
                        walk(&inner.layers, siblings, depth + 1, out);
                    }
                    Vec::new()
                }
                _ => Vec::new(),
            };
            for dim in dims {
                if let Dim::Named(_) = dim {
                    let text = dim.text();
                    if !out.iter().any(|unknown| unknown.text == text) {
                        out.push(Unknown {
                            text,
                            value: dim.as_value(),
                            layer,
                        });
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&network.layers, siblings, 0, &mut out);
    out
}

/// Whether `network` writes a size as a named constant.
pub fn has_named_sizes(network: &Network, siblings: &[Network]) -> bool {
    !unknowns(network, siblings).is_empty()
}

/// The parameter shapes of `network` with the named sizes of `values`, by parameter name;
/// `None` when the declaration does not validate with them.
fn shapes<'a>(
    network: &'a Network,
    siblings: &'a [Network],
    nn: &TokenStream,
    values: &[(String, u64)],
) -> Option<Shapes<'a>> {
    with_resolved(values, || {
        let (plan, _) = crate::validate::validate(network, siblings, nn);
        let plan = plan.filter(|plan| !plan.has_unchecked())?;
        let muted = Ctxt::default();
        let flat = flat::build(network, siblings, &plan, nn, &muted)?;
        let mut out = Vec::new();
        for step in &flat.steps {
            let FlatKind::Layer { layer, spec, path } = &step.kind else {
                continue;
            };
            let cx = BakeCx {
                input: &flat.dims[*step.inputs.first()?],
                output: &flat.dims[step.output],
            };
            for param in spec.bake(&cx).map(|b| b.params).unwrap_or_default() {
                out.push((format!("{path}.{}", param.name), param.shape, *layer));
            }
        }
        Some(out)
    })
}

/// `count` distinct primes above 200: sizes no literal arithmetic confuses with one another.
fn probes(count: usize) -> Vec<u64> {
    let mut primes = Vec::with_capacity(count);
    let mut n = 211u64;
    while primes.len() < count {
        if (2..n)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
        {
            primes.push(n);
        }
        n += 2;
    }
    primes
}

/// The values of `network`'s named sizes, from the file's tensor shapes (`file`, by name),
/// and the checks that the constants have them; `None` after reporting a size no tensor gives.
pub fn resolve(
    network: &Network,
    siblings: &[Network],
    nn: &TokenStream,
    file: &BTreeMap<String, Vec<usize>>,
    ctxt: &Ctxt,
) -> (Option<Vec<(String, u64)>>, Vec<ConstCheck>) {
    let unknowns = unknowns(network, siblings);
    let mut known: Vec<(String, u64)> = Vec::new();
    let mut sources: Vec<(usize, Source)> = Vec::new();
    loop {
        let remaining: Vec<usize> = (0..unknowns.len())
            .filter(|&u| !known.iter().any(|(text, _)| *text == unknowns[u].text))
            .collect();
        if remaining.is_empty() {
            break;
        }
        let found = round(network, siblings, nn, file, &unknowns, &remaining, &known);
        if found.is_empty() {
            break;
        }
        for (u, source) in found {
            known.push((unknowns[u].text.clone(), source.value));
            sources.push((u, source));
        }
    }
    let checks = sources
        .iter()
        .map(|(u, source)| check(&unknowns[*u], source))
        .collect();
    let mut ok = true;
    for unknown in &unknowns {
        if !known.iter().any(|(text, _)| *text == unknown.text) {
            ctxt.error(
                &unknown.layer.tokens,
                format!(
                    "{} writes the size `{}` as a named constant, which the macro cannot evaluate, and no tensor of the weights file gives it; a baked network needs every size, so write it as a literal",
                    unknown.layer.reference(),
                    unknown.text
                ),
            );
            ok = false;
        }
    }
    (ok.then_some(known), checks)
}

/// One round: the sizes of `remaining` that some tensor axis gives, with `known` fixed.
fn round<'a>(
    network: &'a Network,
    siblings: &'a [Network],
    nn: &TokenStream,
    file: &BTreeMap<String, Vec<usize>>,
    unknowns: &[Unknown],
    remaining: &[usize],
    known: &[(String, u64)],
) -> Vec<(usize, Source<'a>)> {
    let probes = probes(remaining.len());
    let values = |doubled: Option<usize>| -> Vec<(String, u64)> {
        let mut values = known.to_vec();
        for (i, &u) in remaining.iter().enumerate() {
            let factor = if doubled == Some(i) { 2 } else { 1 };
            values.push((unknowns[u].text.clone(), probes[i] * factor));
        }
        values
    };
    let Some(base) = shapes(network, siblings, nn, &values(None)) else {
        return Vec::new();
    };
    let runs: Vec<Option<Shapes>> = (0..remaining.len())
        .map(|i| shapes(network, siblings, nn, &values(Some(i))))
        .collect();
    let mut found: Vec<(usize, Source)> = Vec::new();
    for (name, shape, layer) in &base {
        let Some(in_file) = file.get(name).filter(|s| s.len() == shape.len()) else {
            continue;
        };
        for (axis, &a) in shape.iter().enumerate() {
            // The probes this axis depends on, and how.
            let changed: Vec<(usize, usize)> = runs
                .iter()
                .enumerate()
                .filter_map(|(i, run)| {
                    let run = run.as_ref()?;
                    let (_, shape, _) = run.iter().find(|(other, _, _)| other == name)?;
                    let b = shape.get(axis).copied()?;
                    (b != a).then_some((i, b))
                })
                .collect();
            let [(i, b)] = changed[..] else { continue };
            let p = probes[i] as usize;
            if b != a.saturating_mul(2)
                || !a.is_multiple_of(p)
                || found.iter().any(|(u, _)| *u == i)
            {
                continue;
            }
            let c = a / p;
            let f = in_file[axis];
            if c == 0 || !f.is_multiple_of(c) || f / c == 0 || (f / c) as u64 > MAX_SIZE {
                continue;
            }
            found.push((
                i,
                Source {
                    value: (f / c) as u64,
                    layer,
                    tensor: name.clone(),
                    shape: in_file.clone(),
                },
            ));
        }
    }
    found
        .into_iter()
        .map(|(i, source)| (remaining[i], source))
        .collect()
}

/// The `const` assert that `unknown` has the value its tensor gave.
fn check(unknown: &Unknown, source: &Source) -> ConstCheck {
    let (expr, value) = (&unknown.value, source.value as usize);
    let name = &unknown.text;
    let message = Message::default()
        .text(format!(
            "{}: the weights file has `{}` of shape {}, so `{name}` must be {value}, but `{name}` is ",
            source.layer.reference(),
            source.tensor,
            shape_text(&source.shape),
        ))
        .value(expr.clone())
        .text(format!(
            "; set `{name}` to {value}, or bake a weights file that matches it"
        ));
    ConstCheck {
        span: source.layer.span(),
        condition: quote!(#expr == #value),
        message,
    }
}

/// `(128, 784)`.
fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("({})", parts.join(", "))
}
