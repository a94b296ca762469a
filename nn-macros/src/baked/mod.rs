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
mod memory;

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::{Layer, LayerKind, MergeKind, Network, Weights};
use crate::ctxt::Ctxt;
use crate::kinds::Spec;
use crate::kinds::bake::{BakeCx, Baking, Fold, Run};
use crate::shape::Dims;
use crate::validate::{Plan, StepKind};
use file::Wanted;
use memory::StepUse;

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

/// The baked items of `network`, and the errors found (combined into one).
pub fn expand(
    network: &Network,
    weights: &Weights,
    plan: Option<&Plan>,
    nn: &TokenStream,
) -> (TokenStream, Option<syn::Error>) {
    let ctxt = Ctxt::default();
    let baked = plan.and_then(|plan| bake(network, weights, plan, nn, &ctxt));
    let (_, error) = ctxt.finish();
    let code = match (baked, &error) {
        (Some(code), None) => code,
        _ => stub(network, plan),
    };
    (code, error)
}

fn bake(
    network: &Network,
    weights: &Weights,
    plan: &Plan,
    nn: &TokenStream,
    ctxt: &Ctxt,
) -> Option<TokenStream> {
    // Layers with an error in between: the build stops at that error.
    if plan.has_unchecked() {
        return None;
    }
    let mut steps = steps(network, plan, ctxt)?;
    fold_targets(plan, &mut steps);
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
    let (full_path, mut tensors) = file::read_file(weights, &wanted, ctxt)?;
    fold(&steps, &mut tensors);
    let memory = plan_memory(plan, &steps);
    if let Some(budget) = &weights.budget {
        let weight_bytes = emit::weight_bytes(&steps, &tensors);
        budget::check(
            budget,
            network,
            &memory,
            weight_bytes,
            &steps_weights(&steps, &tensors),
            ctxt,
        )?;
    }
    Some(emit::emit(
        network, weights, plan, nn, &steps, &memory, &full_path, &tensors,
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

/// The layers of `layers` that are plan steps, in the order validation made them: a fork's
/// branches in turn, each branch's layers in order.
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
            }
            _ => order.push(layer),
        }
    }
}

/// The plan's steps as baked steps, or `None` after reporting why the network cannot be
/// baked.
fn steps<'a>(network: &'a Network, plan: &Plan, ctxt: &Ctxt) -> Option<Vec<Baked<'a>>> {
    if plan.inputs.len() > 1 {
        ctxt.error(
            &network.list_tokens,
            format!(
                "`{}` has several named inputs, which a baked network cannot take yet (its `infer` takes one array); bake a network with one input",
                network.name
            ),
        );
        return None;
    }
    let mut order = Vec::new();
    layer_order(&network.layers, &mut order);
    let mut layers = order.into_iter();
    let mut steps = Vec::new();
    let mut ok = true;
    for step in &plan.steps {
        let input = known_dims(&plan.nodes[step.inputs[0]].shape.dims);
        let output = known_dims(&plan.nodes[step.output].shape.dims);
        let (layer, path) = match &step.kind {
            StepKind::Layer(layer_step) => (layers.next()?, layer_step.path.join(".")),
            StepKind::Merge { kind, .. } => {
                let dims = input.unwrap_or_default();
                let outer = match kind {
                    MergeKind::Concat(axis) => {
                        let axis =
                            axis.unwrap_or_else(|| crate::validate::feature_axis(dims.len()));
                        dims.iter().take(axis).product()
                    }
                    _ => 1,
                };
                steps.push(Baked::Merge { kind: *kind, outer });
                continue;
            }
            // Only beside a nested layer type, reported below.
            StepKind::Bridge => continue,
            StepKind::Unchecked => return None,
        };
        let spec = match &layer.kind {
            LayerKind::Spec(spec) => spec.as_ref(),
            LayerKind::Custom { path } => {
                ctxt.error(
                    &layer.tokens,
                    format!(
                        "`{}` (a layer type, e.g. a nested network) cannot be baked yet: the macro cannot see its layers from this declaration; declare its layers here instead",
                        crate::ast::tokens_text(path)
                    ),
                );
                ok = false;
                continue;
            }
            _ => return None,
        };
        let (Some(input), Some(output)) = (input, output) else {
            ctxt.error(
                &layer.tokens,
                format!(
                    "{} has a size the macro cannot see (a named constant), and a baked network's buffers and weights are sized by the macro; write its sizes as literals, e.g. `dense(784 -> 128)`",
                    layer.reference()
                ),
            );
            ok = false;
            continue;
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
fn fold_targets(plan: &Plan, steps: &mut [Baked]) {
    for s in 1..steps.len() {
        let (before, after) = steps.split_at_mut(s);
        let (Baked::Layer(target), Baked::Layer(norm)) = (&before[s - 1], &mut after[0]) else {
            continue;
        };
        let (target_step, norm_step) = (&plan.steps[s - 1], &plan.steps[s]);
        norm.folded = target.baking.fold == Fold::Target
            && norm.baking.fold == Fold::Folds
            && norm_step.inputs == [target_step.output]
            && plan.nodes[target_step.output].consumers == 1;
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
fn plan_memory(plan: &Plan, steps: &[Baked]) -> memory::Memory {
    let lens: Vec<usize> = plan
        .nodes
        .iter()
        .map(|node| known_dims(&node.shape.dims).map_or(0, |d| d.iter().product::<u64>() as usize))
        .collect();
    let mut uses = Vec::new();
    let mut layers = steps.iter();
    for step in &plan.steps {
        let (run, scratch, label) = match &step.kind {
            StepKind::Bridge => (Run::Identity, 0, String::new()),
            _ => match layers.next() {
                Some(Baked::Layer(layer)) => (
                    layer.baking.run,
                    layer.baking.scratch,
                    layer.layer.reference(),
                ),
                _ => (Run::Fresh, 0, "the merge".to_string()),
            },
        };
        uses.push(StepUse {
            inputs: step.inputs.clone(),
            output: step.output,
            run,
            scratch,
            label,
        });
    }
    let input = plan.inputs.first().map_or(0, |input| input.node);
    memory::plan(&lens, input, plan.output, &uses)
}

/// A sample shape's sizes, when every one is a literal.
fn known_dims(dims: &Dims) -> Option<Vec<u64>> {
    match dims {
        Dims::Known(widths) => widths.iter().map(|w| w.value).collect(),
        Dims::Of { .. } => None,
    }
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
/// not add errors of their own.
fn stub(network: &Network, plan: Option<&Plan>) -> TokenStream {
    let vis = &network.vis;
    let baked = format_ident!("{}Baked", network.name);
    let len = |node: usize| {
        plan.and_then(|p| known_dims(&p.nodes[node].shape.dims))
            .map_or(0, |d| d.iter().product::<u64>() as usize)
    };
    let inputs = len(0);
    let outputs = plan.map_or(0, |p| len(p.output));
    quote! {
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #baked;

        #[allow(dead_code, unused_variables, reason = "stands in for a baked network with an error")]
        impl #baked {
            pub const INPUTS: usize = #inputs;
            pub const OUTPUTS: usize = #outputs;
            pub const WORK_LEN: usize = 0;
            pub const PARAM_COUNT: usize = 0;
            pub const WEIGHTS_BYTES: usize = 0;
            pub const WEIGHT_BYTES: usize = 0;
            pub const PEAK_ACTIVATION_BYTES: usize = 0;
            pub const WEIGHTS_FILE: &'static str = "";
            pub const WEIGHTS_FILE_BYTES: &'static [u8] = &[];
            pub fn infer<'w>(x: &[f32; #inputs], work: &'w mut [f32; 0]) -> &'w [f32; #outputs] {
                ::core::unreachable!("`network!` reported an error for this network")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::ast::Networks;

    /// The errors `network!` gives for `source`, as text.
    fn errors(source: &str) -> String {
        let networks: Networks = syn::parse_str(source).expect("the declaration parses");
        let network = &networks.networks[0];
        let nn = quote!(::nn::__private);
        let (plan, _) = crate::validate::validate(network, &[], &nn);
        let weights = network.weights.as_ref().expect("a #[weights] attribute");
        let (_, error) = super::expand(network, weights, plan.as_ref(), &nn);
        error
            .map(|e| e.to_compile_error().to_string())
            .unwrap_or_default()
    }

    fn declaration(path: &str) -> String {
        format!("#[weights = {path:?}] struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2) >")
    }

    #[test]
    #[cfg(not(feature = "baked"))]
    fn without_the_baked_feature_the_attribute_names_it() {
        let message = errors(&declaration("any.safetensors"));
        assert!(
            message.contains("needs the `baked` feature of `nn`"),
            "{message}"
        );
    }

    /// Reading the file (the `baked` feature).
    #[cfg(feature = "baked")]
    mod file {
        use super::{declaration, errors};

        /// A file of `bytes` in the temporary directory, named after the test.
        fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
            let path =
                std::env::temp_dir().join(format!("nn-macros-{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).expect("the temporary directory is writable");
            path
        }

        fn tiny_file(fc1_weight: &[f32]) -> Vec<u8> {
            let bytes = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
            let tensors = [
                ("fc1.weight", vec![3, 4], bytes(fc1_weight)),
                ("fc1.bias", vec![3], bytes(&[0.0; 3])),
                ("fc2.weight", vec![2, 3], bytes(&[0.0; 6])),
                ("fc2.bias", vec![2], bytes(&[0.0; 2])),
            ];
            let views: Vec<_> = tensors
                .iter()
                .map(|(name, shape, data)| {
                    let view = safetensors::tensor::TensorView::new(
                        safetensors::Dtype::F32,
                        shape.clone(),
                        data,
                    );
                    (name.to_string(), view.expect("a valid view"))
                })
                .collect();
            safetensors::serialize(views, None).expect("serializes")
        }

        #[test]
        fn a_missing_file_names_the_full_path_tried() {
            let message = errors(&declaration("no/such/weights.safetensors"));
            let manifest_dir = env!("CARGO_MANIFEST_DIR");
            assert!(
                message.contains(&format!(
                    "cannot read the weights file `{manifest_dir}/no/such/weights.safetensors`"
                )),
                "{message}"
            );
        }

        #[test]
        fn malformed_and_truncated_files_are_errors() {
            let good = tiny_file(&[0.5; 12]);
            assert_eq!(
                errors(&declaration(temp_file("good", &good).to_str().unwrap())),
                ""
            );
            for (name, bytes) in [
                ("garbage", b"not a safetensors file at all".to_vec()),
                ("truncated", good[..good.len() / 2].to_vec()),
                ("empty", Vec::new()),
            ] {
                let path = temp_file(name, &bytes);
                let message = errors(&declaration(path.to_str().unwrap()));
                assert!(
                    message.contains("is not a valid safetensors file"),
                    "{name}: {message}"
                );
            }
        }

        #[test]
        fn a_missing_tensor_is_an_error_on_its_layer() {
            let path = temp_file("missing", &tiny_file(&[0.5; 12]));
            let source = format!(
                "#[weights = {:?}] struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2), relu, fc3: dense(2 -> 2) >",
                path.to_str().unwrap()
            );
            let message = errors(&source);
            assert!(
                message.contains("`fc3`: the weights file has no `fc3.weight`; the declaration needs it, of shape (2, 2)"),
                "{message}"
            );
            assert!(message.contains("no `fc3.bias`"), "{message}");
        }

        #[test]
        fn a_non_finite_weight_is_an_error_on_its_layer() {
            let mut weight = [0.5; 12];
            weight[7] = f32::NAN;
            let path = temp_file("nan", &tiny_file(&weight));
            let message = errors(&declaration(path.to_str().unwrap()));
            assert!(
                message.contains("`fc1`: `fc1.weight` holds NaN at index 7"),
                "{message}"
            );
        }

        /// [`declaration`]'s network, without its attribute.
        const TINY: &str = "struct Tiny< fc1: dense(4 -> 3), relu, fc2: dense(3 -> 2) >";

        /// A small network with a convolution and a batch norm folded into it, and a valid
        /// file for it (values of `seed`).
        const SMALL: &str = "struct Small< input(1, 4, 4), c1: conv2d(1 -> 2, kernel = 3), bn: batch_norm, relu, flatten, fc: dense(8 -> 2) >";

        fn small_file() -> Vec<u8> {
            let tensors: [(&str, Vec<usize>); 8] = [
                ("c1.weight", vec![2, 1, 3, 3]),
                ("c1.bias", vec![2]),
                ("bn.weight", vec![2]),
                ("bn.bias", vec![2]),
                ("bn.running_mean", vec![2]),
                ("bn.running_var", vec![2]),
                ("fc.weight", vec![2, 8]),
                ("fc.bias", vec![2]),
            ];
            let data: Vec<Vec<u8>> = tensors
                .iter()
                .map(|(_, shape)| {
                    let n: usize = shape.iter().product();
                    (0..n)
                        .flat_map(|i| (0.25 + i as f32 / 8.0).to_le_bytes())
                        .collect()
                })
                .collect();
            let views: Vec<_> = tensors
                .iter()
                .zip(&data)
                .map(|((name, shape), data)| {
                    let view = safetensors::tensor::TensorView::new(
                        safetensors::Dtype::F32,
                        shape.clone(),
                        data,
                    );
                    (name.to_string(), view.expect("a valid view"))
                })
                .collect();
            safetensors::serialize(views, None).expect("serializes")
        }

        /// What an edit does to the byte it lands on.
        #[derive(Clone, Copy, Debug)]
        enum Edit {
            /// Flips one bit.
            Flip(u8),
            /// Overwrites it.
            Byte(u8),
            /// Overwrites it with a character of JSON, so that the header stays near-JSON
            /// (digits make sizes and offsets huge, brackets and quotes move fields).
            Json(u8),
        }

        const JSON: &[u8] = b"0123456789999[]{},:\"-.eE";

        fn edit() -> impl proptest::strategy::Strategy<Value = Edit> {
            use proptest::prelude::*;
            prop_oneof![
                (0u8..8).prop_map(Edit::Flip),
                any::<u8>().prop_map(Edit::Byte),
                (0..JSON.len() as u8).prop_map(Edit::Json),
            ]
        }

        /// `bytes` cut at `cut` of its length, then edited at each `(where, edit)`.
        fn damage(
            bytes: &[u8],
            cut: proptest::sample::Index,
            edits: &[(proptest::sample::Index, Edit)],
        ) -> Vec<u8> {
            let mut bytes = bytes[..cut.index(bytes.len() + 1)].to_vec();
            for (at, edit) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at.index(bytes.len());
                bytes[at] = match *edit {
                    Edit::Flip(bit) => bytes[at] ^ (1 << bit),
                    Edit::Byte(byte) => byte,
                    Edit::Json(i) => JSON[usize::from(i)],
                };
            }
            bytes
        }

        /// The errors for `bytes` as the weights file of `declaration` (a network without its
        /// attribute); a panic anywhere in reading, checking, folding or emitting fails the
        /// property.
        fn errors_for(declaration: &str, bytes: &[u8]) -> String {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static CASE: AtomicUsize = AtomicUsize::new(0);
            let case = CASE.fetch_add(1, Ordering::Relaxed);
            let path = temp_file(&format!("damaged-{case}"), bytes);
            let message = errors(&format!(
                "#[weights = {:?}] {declaration}",
                path.to_str().unwrap()
            ));
            let _ = std::fs::remove_file(path);
            message
        }

        #[test]
        fn the_undamaged_files_bake() {
            assert_eq!(errors_for(TINY, &tiny_file(&[0.5; 12])), "");
            assert_eq!(errors_for(SMALL, &small_file()), "");
        }

        proptest::proptest! {
            // Each case expands the macro twice (about half a millisecond each): 400 cases
            // take well under a second in a debug build.
            #![proptest_config(proptest::test_runner::Config {
                cases: 400,
                failure_persistence: None,
                ..proptest::test_runner::Config::default()
            })]

            /// The macro never panics on a weights file: a valid file cut anywhere and with
            /// up to 8 bytes flipped or overwritten (its header included) gives errors or a
            /// network. Cut short and left unedited, it is always an error.
            #[test]
            fn damaged_files_are_errors_never_panics(
                cut in proptest::prelude::any::<proptest::sample::Index>(),
                edits in proptest::collection::vec(
                    (proptest::prelude::any::<proptest::sample::Index>(), edit()),
                    0..8,
                ),
            ) {
                for (declaration, good) in [
                    (TINY, tiny_file(&[0.5; 12])),
                    (SMALL, small_file()),
                ] {
                    let bytes = damage(&good, cut, &edits);
                    let message = errors_for(declaration, &bytes);
                    if edits.is_empty() && bytes.len() < good.len() {
                        proptest::prop_assert!(
                            message.contains("is not a valid safetensors file"),
                            "cut at {} of {}: {message}", bytes.len(), good.len()
                        );
                    }
                }
            }
        }

        #[test]
        fn half_precision_widens_exactly() {
            assert_eq!(crate::baked::file::f16_to_f32(0x3c00), 1.0);
            assert_eq!(crate::baked::file::f16_to_f32(0xc000), -2.0);
            assert_eq!(crate::baked::file::f16_to_f32(0x0001), 2f32.powi(-24));
            assert_eq!(crate::baked::file::f16_to_f32(0x7bff), 65504.0);
            assert!(crate::baked::file::f16_to_f32(0x7c00).is_infinite());
            assert!(crate::baked::file::f16_to_f32(0x7e00).is_nan());
            let bf16 = crate::baked::file::decode(safetensors::Dtype::BF16, &[0x80, 0x3f]).unwrap();
            assert_eq!(bf16, [1.0]);
        }
    }
}
