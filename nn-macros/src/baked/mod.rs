//! Weights baked in at compile time: `#[weights = "file.safetensors"]` on a declaration.
//!
//! The macro reads the file while it expands (relative to the calling crate's
//! `CARGO_MANIFEST_DIR`), checks every tensor's name, shape, dtype and values against the
//! declaration, and emits `NameBaked`: a unit struct whose `infer` runs the network over
//! `static` `[f32; N]` arrays of the file's values, with the activations in a work arena the
//! caller passes. Nothing in it needs a heap or an allocator (see `nn_core::baked`).
//!
//! Each layer kind says how it bakes (`kinds::bake`: its parameters and their shapes, its
//! scratch, its code); this module reads and checks the file (`file`), folds batch norms into
//! the layer before them, plans the arena (`memory`), checks a `#[budget(..)]` (`budget`) and
//! drives the kinds over the plan's steps (`emit`).
//!
//! Why literal arrays and not `include_bytes!` cast to `f32`: an included byte string is only
//! 1-byte aligned, so a cast needs a wrapper type, `unsafe` and an endianness check in the
//! user's crate; literals are always aligned, need no `unsafe`, let f16/bf16 files be converted
//! here, and cost about a second of compile time for the 101,770 values of the MNIST MLP. An
//! unused `include_bytes!` of the file is still emitted, so that cargo rebuilds the crate when
//! the file changes.
//!
//! Every problem is a compile error: a wrong tensor on the layer that takes it, a missing or
//! unreadable file on the attribute. The macro never panics on a file.

pub mod budget;
mod emit;
mod file;
mod flat;
#[cfg(feature = "baked")]
mod int8;
mod memory;
mod quant;
mod resolve;

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Layer, MergeKind, Network, Weights};
use crate::ctxt::Ctxt;
use crate::kinds::Spec;
use crate::kinds::bake::{BakeCx, Baking, Fold, Run};
use crate::validate::Plan;
use file::Wanted;
use flat::{Flat, FlatKind};
use memory::StepUse;
pub use quant::{fake_quant_hooks, quantize_impl};

/// One step of the plan, as it bakes.
enum Baked<'a> {
    Layer(BakedLayer<'a>),
    /// A fork's merge; `outer` is the number of blocks a concat interleaves.
    Merge {
        kind: MergeKind,
        outer: u64,
    },
}

struct BakedLayer<'a> {
    layer: &'a Layer,
    spec: &'a dyn Spec,
    baking: Baking,
    input: Vec<u64>,
    output: Vec<u64>,
    /// The dotted parameter prefix, `fc1`.
    path: String,
    /// A batch norm folded into the layer before it: it runs no code.
    folded: bool,
}

impl BakedLayer<'_> {
    fn cx(&self) -> BakeCx<'_> {
        BakeCx {
            input: &self.input,
            output: &self.output,
        }
    }

    fn param_name(&self, param: &str) -> String {
        format!("{}.{param}", self.path)
    }
}

/// The baked items of `network`, and the errors found (combined into one). `siblings` are
/// the networks of the same call: a nested one of them bakes inline.
pub fn expand(
    network: &Network,
    siblings: &[Network],
    weights: &Weights,
    plan: Option<&Plan>,
    nn: &TokenStream,
) -> (TokenStream, Option<syn::Error>) {
    let ctxt = Ctxt::default();
    let mut checks = Vec::new();
    let baked =
        plan.and_then(|plan| bake(network, siblings, weights, plan, nn, &ctxt, &mut checks));
    let (_, error) = ctxt.finish();
    let code = match (baked, &error) {
        (Some(code), None) => code,
        _ => stub(network, plan, nn),
    };
    let checks = checks.iter().map(|check| check.to_item(nn));
    (quote!(#(#checks)* #code), error)
}

fn bake(
    network: &Network,
    siblings: &[Network],
    weights: &Weights,
    plan: &Plan,
    nn: &TokenStream,
    ctxt: &Ctxt,
    checks: &mut Vec<crate::ctxt::ConstCheck>,
) -> Option<TokenStream> {
    // Layers with an error in between: the build stops at that error.
    if plan.has_unchecked() {
        return None;
    }
    let opened = file::open(weights, ctxt)?;
    #[cfg(feature = "baked")]
    {
        let names = file::shapes(&opened).into_keys().collect();
        if int8::is_quantized(&names) || int8::is_tflite(opened.bytes()) {
            return int8::bake(
                network,
                siblings,
                weights,
                plan,
                opened.bytes(),
                &opened.full,
                nn,
                ctxt,
            );
        }
    }
    // Sizes written as named constants take their values from the file's shapes.
    let resolved = if resolve::has_named_sizes(network, siblings) {
        let (resolved, found) =
            resolve::resolve(network, siblings, nn, &file::shapes(&opened), ctxt);
        *checks = found;
        resolved?
    } else {
        Vec::new()
    };
    crate::ast::with_resolved(&resolved, || {
        let revalidated;
        let plan = if resolved.is_empty() {
            plan
        } else {
            let (again, error) = crate::validate::validate(network, siblings, nn);
            if let Some(error) = error {
                ctxt.push(error);
                return None;
            }
            revalidated = again?;
            &revalidated
        };
        let flat = flat::build(network, siblings, plan, nn, ctxt)?;
        bake_flat(network, weights, &flat, &opened, nn, ctxt)
    })
}

fn bake_flat(
    network: &Network,
    weights: &Weights,
    flat: &Flat,
    opened: &file::Opened,
    nn: &TokenStream,
    ctxt: &Ctxt,
) -> Option<TokenStream> {
    let mut steps = steps(network, flat, ctxt)?;
    fold_targets(flat, &mut steps);
    let wanted: Vec<Wanted> = steps
        .iter()
        .filter_map(|step| match step {
            Baked::Layer(layer) => Some(layer),
            Baked::Merge { .. } => None,
        })
        .flat_map(|layer| {
            layer.baking.params.iter().map(|param| Wanted {
                name: layer.param_name(param.name),
                layer: layer.layer,
                shape: param.shape.clone(),
            })
        })
        .collect();
    let mut tensors = file::read_file(weights, opened, &wanted, ctxt)?;
    fold(&steps, &mut tensors);
    let memory = plan_memory(flat, &steps);
    if let Some(budget) = &weights.budget {
        let weight_bytes = emit::weight_bytes(&steps, &tensors);
        budget::check(
            budget,
            network,
            &memory,
            weight_bytes,
            &steps_weights(&steps, &tensors),
            4,
            ctxt,
        )?;
    }
    Some(emit::emit(
        network,
        weights,
        flat,
        nn,
        &steps,
        &memory,
        &opened.full,
        &tensors,
    ))
}

/// The bytes of every layer's baked weights, by layer, for the budget error.
fn steps_weights(steps: &[Baked], tensors: &BTreeMap<String, Vec<f32>>) -> Vec<(String, usize)> {
    steps
        .iter()
        .filter_map(|step| match step {
            Baked::Layer(layer) if !layer.folded => Some(layer),
            _ => None,
        })
        .map(|layer| {
            let values: usize = layer
                .baking
                .params
                .iter()
                .filter_map(|param| tensors.get(&layer.param_name(param.name)))
                .map(Vec::len)
                .sum();
            (layer.layer.reference(), 4 * values)
        })
        .collect()
}

/// The flat plan's steps as baked steps, or `None` after reporting why the network cannot be
/// baked.
fn steps<'a>(network: &Network, flat: &Flat<'a>, ctxt: &Ctxt) -> Option<Vec<Baked<'a>>> {
    for (name, _) in &flat.inputs {
        if let Some(name) = name
            .as_ref()
            .filter(|name| *name == "work" || *name == "probe")
        {
            ctxt.error(
                name,
                format!(
                    "`{name}` cannot name an input of the baked `{}`: its `infer_probed` already has a parameter `{name}`; pick another name",
                    network.name
                ),
            );
            return None;
        }
    }
    let mut steps = Vec::new();
    let mut ok = true;
    for step in &flat.steps {
        let input = flat.dims[*step.inputs.first()?].clone();
        let output = flat.dims[step.output].clone();
        let (layer, spec, path) = match &step.kind {
            FlatKind::Merge { kind, .. } => {
                let outer = match kind {
                    MergeKind::Concat(axis) => {
                        let axis =
                            axis.unwrap_or_else(|| crate::validate::feature_axis(input.len()));
                        input.iter().take(axis).product()
                    }
                    _ => 1,
                };
                steps.push(Baked::Merge { kind: *kind, outer });
                continue;
            }
            FlatKind::Layer { layer, spec, path } => (*layer, *spec, path.clone()),
        };
        let cx = BakeCx {
            input: &input,
            output: &output,
        };
        match spec.bake(&cx) {
            Ok(baking) => steps.push(Baked::Layer(BakedLayer {
                layer,
                spec,
                baking,
                input,
                output,
                path,
                folded: false,
            })),
            Err(why) => {
                ctxt.error(&layer.tokens, why);
                ok = false;
            }
        }
    }
    ok.then_some(steps)
}

/// Marks every batch norm that folds: right after a [`Fold::Target`] whose output nothing
/// else reads. Such a batch norm runs no code.
fn fold_targets(flat: &Flat, steps: &mut [Baked]) {
    for s in 1..steps.len() {
        let (before, after) = steps.split_at_mut(s);
        let (Baked::Layer(target), Baked::Layer(norm)) = (&before[s - 1], &mut after[0]) else {
            continue;
        };
        let (target_step, norm_step) = (&flat.steps[s - 1], &flat.steps[s]);
        norm.folded = target.baking.fold == Fold::Target
            && norm.baking.fold == Fold::Folds
            && norm_step.inputs == [target_step.output]
            && flat.consumers[target_step.output] == 1;
        if norm.folded {
            norm.baking.run = Run::Identity;
        }
    }
}

/// Folds each folded batch norm into the layer before it: per output channel `c`, with
/// `s = γ / √(var + eps)`, `w' = w · s` and `b' = (b − mean) · s + β`, in `f64`, rounded once.
fn fold(steps: &[Baked], tensors: &mut BTreeMap<String, Vec<f32>>) {
    for pair in steps.windows(2) {
        let [Baked::Layer(target), Baked::Layer(norm)] = pair else {
            continue;
        };
        if !norm.folded {
            continue;
        }
        let get = |name: &str| tensors.get(&norm.param_name(name)).cloned();
        let (Some(gamma), Some(beta), Some(mean), Some(var)) = (
            get("weight"),
            get("bias"),
            get("running_mean"),
            get("running_var"),
        ) else {
            continue;
        };
        let scale: Vec<f64> = gamma
            .iter()
            .zip(&var)
            .map(|(&g, &v)| f64::from(g) / (f64::from(v) + f64::from(BATCH_NORM_EPS)).sqrt())
            .collect();
        if let Some(bias) = tensors.get_mut(&target.param_name("bias")) {
            for (c, b) in bias.iter_mut().enumerate() {
                *b = ((f64::from(*b) - f64::from(mean[c])) * scale[c] + f64::from(beta[c])) as f32;
            }
        }
        if let Some(weight) = tensors.get_mut(&target.param_name("weight")) {
            let run = weight.len() / scale.len().max(1);
            for (row, &s) in weight.chunks_exact_mut(run.max(1)).zip(&scale) {
                for w in row {
                    *w = (f64::from(*w) * s) as f32;
                }
            }
        }
    }
}

/// `batch_norm`'s eps: the heap layer's default, `nn::baked::BATCH_NORM_EPS`.
const BATCH_NORM_EPS: f32 = 1e-5;

/// The memory plan of the baked steps.
fn plan_memory(flat: &Flat, steps: &[Baked]) -> memory::Memory {
    let lens: Vec<usize> = flat
        .dims
        .iter()
        .map(|d| d.iter().product::<u64>() as usize)
        .collect();
    let uses: Vec<StepUse> = flat
        .steps
        .iter()
        .zip(steps)
        .map(|(step, baked)| {
            let (run, scratch, label) = match baked {
                Baked::Layer(layer) => (
                    layer.baking.run,
                    layer.baking.scratch,
                    layer.layer.reference(),
                ),
                Baked::Merge { .. } => (Run::Fresh, 0, "the merge".to_string()),
            };
            StepUse {
                inputs: step.inputs.clone(),
                output: step.output,
                run,
                scratch,
                label,
            }
        })
        .collect();
    let inputs: Vec<usize> = flat.inputs.iter().map(|&(_, node)| node).collect();
    memory::plan(&lens, &inputs, flat.output, &uses)
}

/// The identifier of the static that holds `name`: `fc1.weight` is `FC1_WEIGHT`.
fn static_ident(name: &str, used: &mut std::collections::HashSet<String>) -> proc_macro2::Ident {
    // A name that only differs in case from an earlier one gets a suffix.
    let mut ident = name.replace('.', "_").to_uppercase();
    while !used.insert(ident.clone()) {
        ident.push('_');
    }
    format_ident!("{}", ident)
}

/// What stands in for the baked items after an error: the same API, so that uses of it do
/// not add errors of their own. Its lengths are the heap network's (named sizes as the
/// constants they are), so a caller's arrays fit it even when the error is that the macro
/// cannot evaluate a size.
fn stub(network: &Network, plan: Option<&Plan>, nn: &TokenStream) -> TokenStream {
    let vis = &network.vis;
    let baked = format_ident!("{}Baked", network.name);
    let len = |node: usize| match plan {
        Some(plan) => plan.nodes[node].shape.len_value(nn),
        None => quote!(0usize),
    };
    let inputs: Vec<(Option<syn::Ident>, TokenStream)> = match plan {
        Some(plan) => plan
            .inputs
            .iter()
            .map(|input| (input.name.clone(), len(input.node)))
            .collect(),
        None => vec![(None, quote!(0usize))],
    };
    let (params, consts) = emit::inputs_api(&inputs);
    let outputs = plan.map_or(quote!(0usize), |p| len(p.output));
    quote! {
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #baked;

        #[allow(dead_code, unused_variables, reason = "stands in for a baked network with an error")]
        impl #baked {
            #consts
            pub const OUTPUTS: usize = #outputs;
            pub const WORK_LEN: usize = 0;
            pub const PARAM_COUNT: usize = 0;
            pub const WEIGHTS_BYTES: usize = 0;
            pub const WEIGHT_BYTES: usize = 0;
            pub const PEAK_ACTIVATION_BYTES: usize = 0;
            pub const WEIGHTS_FILE: &'static str = "";
            pub const WEIGHTS_FILE_BYTES: &'static [u8] = &[];
            pub fn infer<'w>(#params work: &'w mut [f32; 0]) -> &'w [f32; #outputs] {
                ::core::unreachable!("`network!` reported an error for this network")
            }
            pub fn infer_probed<'w>(
                #params
                work: &'w mut [f32; 0],
                probe: &mut impl FnMut(&'static str, usize),
            ) -> &'w [f32; #outputs] {
                ::core::unreachable!("`network!` reported an error for this network")
            }
        }
    }
}

#[cfg(test)]
mod tests;
