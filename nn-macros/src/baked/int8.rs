//! An int8 network baked from a quantized file (`#[weights = "model.q.safetensors"]`, as
//! `nn::quant::QuantModel::save` writes it): `i8` weights, `i32` biases and fixed-point
//! multipliers as `static`s, an `i8` work arena, and `infer` on `&[i8]`.
//!
//! The macro reads the file with `nn-core`'s own reader (`QuantModel::from_bytes`), so the
//! checks, the scales each step takes and its fused clamp are the runtime model's; the
//! generated code calls the same `nn::quant` kernels in the same order. A baked int8 network
//! therefore gives the runtime `QuantModel`'s bytes, which the tests check.

use std::collections::BTreeSet;

use nn_core::quant::{Multiplier, Op, Plan, QuantModel, QuantStep, QuantizeError, Step};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::emit::{Regions, plan_doc};
use super::flat::{self, Flat, FlatKind};
use super::memory::{self, Loc, StepUse};
use super::quant::{conv_tokens, pool_tokens, step_op};
use crate::ast::{Layer, Network, Weights};
use crate::ctxt::Ctxt;
use crate::kinds::bake::Run;
use crate::validate::Plan as DeclaredPlan;

/// Whether `names` are a quantized file's: it has the input's scale.
pub fn is_quantized(names: &BTreeSet<String>) -> bool {
    names.contains("input.scale")
}

/// Whether `bytes` are a TensorFlow Lite model: its identifier, `TFL3`, at bytes 4..8.
pub fn is_tflite(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(b"TFL3".as_slice())
}

/// The layer of the flat step whose path `tensor` is under, for an error's span.
fn layer_of<'a>(flat: &Flat<'a>, tensor: &str) -> Option<&'a Layer> {
    flat.steps.iter().find_map(|step| match &step.kind {
        FlatKind::Layer { layer, path, .. } if tensor.starts_with(&format!("{path}.")) => {
            Some(*layer)
        }
        _ => None,
    })
}

/// A `Plan` of the flat steps, its slices leaked: the macro's process lives for one
/// compilation, and the plan is a few hundred bytes.
fn leaked_plan(flat: &Flat, ops: &[(Op, String)]) -> Plan {
    let nodes: Vec<usize> = flat
        .dims
        .iter()
        .map(|d| d.iter().product::<u64>() as usize)
        .collect();
    let steps: Vec<Step> = flat
        .steps
        .iter()
        .zip(ops)
        .map(|(step, (op, path))| Step {
            op: *op,
            inputs: Vec::leak(step.inputs.clone()),
            output: step.output,
            path: String::leak(path.clone()),
        })
        .collect();
    Plan {
        nodes: Vec::leak(nodes),
        input: flat.inputs[0].1,
        output: flat.output,
        steps: Vec::leak(steps),
    }
}

/// `nn::quant::Multiplier { .. }`.
fn multiplier_tokens(m: &Multiplier, nn: &TokenStream) -> TokenStream {
    let (multiplier, shift) = (m.multiplier, m.shift);
    quote!(#nn::quant::Multiplier { multiplier: #multiplier, shift: #shift })
}

/// The baked int8 network, or `None` after reporting why not.
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one expansion, as `baked::bake` has them"
)]
pub fn bake(
    network: &Network,
    siblings: &[Network],
    weights: &Weights,
    plan: &DeclaredPlan,
    bytes: &[u8],
    full_path: &str,
    nn: &TokenStream,
    ctxt: &Ctxt,
) -> Option<TokenStream> {
    let file = weights.path.value();
    let flat = flat::build(network, siblings, plan, nn, ctxt)?;
    if flat.inputs.len() != 1 {
        ctxt.error(
            &network.list_tokens,
            format!(
                "`{file}` is a quantized file, and an int8 network takes one input; `{}` has {}",
                network.name,
                flat.inputs.len()
            ),
        );
        return None;
    }
    let mut ops = Vec::new();
    let mut ok = true;
    for step in &flat.steps {
        match step_op(&flat, step) {
            Ok(op) => ops.push(op),
            Err(layer) => {
                ok = false;
                let why = format!(
                    "has no int8 form yet, so `{file}` (a quantized file) cannot bake it; bake a float weights file instead"
                );
                match layer {
                    Some(layer) => ctxt.error(&layer.tokens, format!("`{}` {why}", layer.text())),
                    None => ctxt.error(
                        &network.list_tokens,
                        format!(
                            "a merge of `{}` {why} (an int8 `add` takes two branches)",
                            network.name
                        ),
                    ),
                }
            }
        }
    }
    if !ok {
        return None;
    }
    let quant_plan = leaked_plan(&flat, &ops);
    let tflite = is_tflite(bytes);
    if tflite {
        return match QuantModel::from_tflite(&quant_plan, bytes) {
            Ok(model) => finish(
                network,
                weights,
                &flat,
                &quant_plan,
                &model,
                full_path,
                nn,
                ctxt,
            ),
            Err(error) => {
                let step = match &error {
                    QuantizeError::Tflite { step, .. } => *step,
                    _ => None,
                };
                let why = match &error {
                    QuantizeError::Tflite { why, .. } => why.clone(),
                    other => other.to_string(),
                };
                match step.map(|s| &flat.steps[s].kind) {
                    Some(FlatKind::Layer { layer, .. }) => ctxt.error(
                        &layer.tokens,
                        format!("`{}` does not match the TensorFlow Lite model `{file}`: {why}", layer.text()),
                    ),
                    Some(FlatKind::Merge { .. }) => ctxt.error(
                        &network.list_tokens,
                        format!("a merge of `{}` does not match the TensorFlow Lite model `{file}`: {why}", network.name),
                    ),
                    None => ctxt.error(
                        &weights.attr,
                        format!("the TensorFlow Lite model `{file}`: {why}"),
                    ),
                }
                None
            }
        };
    }
    let model = match QuantModel::from_bytes(&quant_plan, bytes) {
        Ok(model) => model,
        Err(error) => {
            let tensor = match &error {
                QuantizeError::MissingTensor(name) | QuantizeError::BadTensor { name, .. } => {
                    Some(name.clone())
                }
                _ => None,
            };
            let message = match (&error, tensor.as_deref().and_then(|t| layer_of(&flat, t))) {
                (QuantizeError::MissingTensor(name), Some(layer)) => format!(
                    "the quantized file `{file}` has no `{name}`, which `{}` reads: is it another network's file? (`examples/quantize` shows how to write one)",
                    layer.text()
                ),
                _ => format!("the quantized file `{file}`: {error}"),
            };
            match tensor.as_deref().and_then(|t| layer_of(&flat, t)) {
                Some(layer) => ctxt.error(&layer.tokens, message),
                None => ctxt.error(&weights.attr, message),
            }
            return None;
        }
    };
    // Every tensor of the file is read: a stray one is a file for another declaration.
    if let Ok(written) = model.to_bytes()
        && let (Ok(ours), Ok(theirs)) = (
            safetensors::SafeTensors::deserialize(&written),
            safetensors::SafeTensors::deserialize(bytes),
        )
    {
        let ours: BTreeSet<&str> = ours.names().into_iter().collect();
        let mut stray: Vec<&str> = theirs
            .names()
            .into_iter()
            .filter(|name| !ours.contains(name))
            .collect();
        stray.sort_unstable();
        if !stray.is_empty() {
            ctxt.error(
                &weights.attr,
                format!(
                    "`{file}` has tensors no layer of `{}` reads: {}; is it another network's file?",
                    network.name,
                    stray.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        }
    }
    finish(
        network,
        weights,
        &flat,
        &quant_plan,
        &model,
        full_path,
        nn,
        ctxt,
    )
}

/// The memory plan, the budget check and the code of a quantized model read from either kind
/// of file.
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one expansion, gathered by `bake`"
)]
fn finish(
    network: &Network,
    weights: &Weights,
    flat: &Flat,
    quant_plan: &Plan,
    model: &QuantModel,
    full_path: &str,
    nn: &TokenStream,
    ctxt: &Ctxt,
) -> Option<TokenStream> {
    let memory = plan_memory(flat, model);
    let weight_bytes: usize = model
        .plan
        .steps
        .iter()
        .zip(&model.steps)
        .map(|(step, s)| {
            weight_static_bytes(&step.op, s) + 4 * s.bias.len() + 8 * s.weight_scale.len()
        })
        .sum();
    if let Some(budget) = &weights.budget {
        let per_layer: Vec<(String, usize)> = flat
            .steps
            .iter()
            .zip(&model.steps)
            .filter_map(|(step, quant)| match &step.kind {
                FlatKind::Layer { layer, .. } if !quant.weight.is_empty() => Some((
                    layer.reference(),
                    quant.weight.len() + 4 * quant.bias.len() + 8 * quant.weight_scale.len(),
                )),
                _ => None,
            })
            .collect();
        super::budget::check(budget, network, &memory, weight_bytes, &per_layer, 1, ctxt)?;
    }
    Some(emit(
        network,
        weights,
        flat,
        quant_plan,
        model,
        &memory,
        weight_bytes,
        full_path,
        nn,
    ))
}

/// The memory plan: the same rules as the float network's, over `i8` values; no kernel needs
/// scratch.
fn plan_memory(flat: &Flat, model: &QuantModel) -> memory::Memory {
    let plan = &model.plan;
    let lens: Vec<usize> = plan.nodes.to_vec();
    let uses: Vec<StepUse> = plan
        .steps
        .iter()
        .zip(&flat.steps)
        .enumerate()
        .map(|(s, (step, flat_step))| StepUse {
            inputs: step.inputs.to_vec(),
            output: step.output,
            run: run_of(&step.op, model.relu_is_fused(s)),
            scratch: 0,
            label: match &flat_step.kind {
                FlatKind::Layer { layer, .. } => layer.reference(),
                FlatKind::Merge { .. } => "the merge".to_string(),
            },
        })
        .collect();
    memory::plan(&lens, &[plan.input], plan.output, &uses)
}

/// The max pool that convolution step `s` runs in its own pass
/// ([`QuantModel::pool_after`]): its step, the `relu` floor on the way and its output buffer,
/// when every multiplier keeps order and that buffer does not overlap the convolution's input
/// (the plan, made for the steps one by one, may reuse the input's place once it is read).
fn pooled_after(
    model: &QuantModel,
    memory: &memory::Memory,
    s: usize,
    input: Loc,
) -> Option<(usize, i8, usize)> {
    let (p, floor) = model.pool_after(s)?;
    if !model.multipliers(s).iter().all(|m| m.is_monotone()) {
        return None;
    }
    let Loc::Buf(out) = memory.steps[p].output else {
        return None;
    };
    let apart = match input {
        Loc::Input(_) => true,
        Loc::Buf(b) => {
            let (a, o) = (&memory.buffers[b], &memory.buffers[out]);
            a.offset + a.len <= o.offset || o.offset + o.len <= a.offset
        }
    };
    apart.then_some((p, floor, out))
}

fn run_of(op: &Op, fused: bool) -> Run {
    match op {
        Op::Relu if fused => Run::Identity,
        Op::Relu => Run::InPlace,
        Op::BatchNorm { .. } | Op::Identity => Run::Identity,
        _ => Run::Fresh,
    }
}

/// The products step `op` sums per sample.
fn multiply_accumulates(op: &Op, weights: usize) -> usize {
    match op {
        Op::Dense => weights,
        Op::Conv(shape) => weights * shape.height.out * shape.width.out,
        _ => 0,
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one expansion, gathered by `bake`"
)]
fn emit(
    network: &Network,
    weights: &Weights,
    flat: &Flat,
    plan: &Plan,
    model: &QuantModel,
    memory: &memory::Memory,
    weight_bytes: usize,
    full_path: &str,
    nn: &TokenStream,
) -> TokenStream {
    let name = &network.name;
    let vis = &network.vis;
    let baked = format_ident!("{}Baked", name);
    let (inputs, outputs) = (plan.inputs(), plan.outputs());
    let work_len = memory.work_len;
    let names: Vec<Ident> = vec![format_ident!("x")];
    let mut statics = Vec::new();
    let mut body = Vec::new();
    let mut param_count = 0usize;
    // Steps before this one have run: a convolution may run the pool after it too.
    let mut next = 0;
    for (s, ((step, quant), at)) in plan
        .steps
        .iter()
        .zip(&model.steps)
        .zip(&memory.steps)
        .enumerate()
    {
        if s < next || run_of(&step.op, model.relu_is_fused(s)) == Run::Identity {
            continue;
        }
        let span = match &flat.steps[s].kind {
            FlatKind::Layer { layer, .. } => layer.span(),
            FlatKind::Merge { .. } => network.name.span(),
        };
        let mut label = match &flat.steps[s].kind {
            FlatKind::Layer { layer, .. } => layer
                .name
                .as_ref()
                .map_or_else(|| layer.text(), ToString::to_string),
            FlatKind::Merge { .. } => match step.op {
                Op::Add => "add".to_string(),
                _ => "concat".to_string(),
            },
        };
        let mut macs = multiply_accumulates(&step.op, quant.weight.len());
        let mut regions = Regions::new(&names);
        let Loc::Buf(out) = at.output else { continue };
        let input = at.inputs.first().copied().unwrap_or(Loc::Input(0));
        let in_zp = model.input_params(s).zero_point;
        let out_zp = quant.output.zero_point;
        let (lo, hi) = model.activation(s);
        let code = match step.op {
            Op::Dense | Op::Conv(_) => {
                let prefix = step.path.replace('.', "_").to_uppercase();
                let (w, b, m) = (
                    format_ident!("{prefix}_WEIGHT"),
                    format_ident!("{prefix}_BIAS"),
                    format_ident!("{prefix}_MULTIPLIERS"),
                );
                let (wn, bn) = (quant.weight.len(), quant.bias.len());
                param_count += wn + bn;
                let bv = &quant.bias;
                let mv = model.multipliers(s);
                let mv = mv.iter().map(|m| multiplier_tokens(m, nn));
                let doc = format!(
                    "`{}.weight`, `.bias` and the requantization multipliers",
                    step.path
                );
                // A dense layer's rows go in pairs, as `PairedDenseInt8` reads them.
                let weight_static = match step.op {
                    Op::Dense => {
                        let words = paired_words(quant);
                        let n = words.len();
                        quote!(static #w: [u32; #n] = [#(#words),*];)
                    }
                    _ => {
                        let wv = &quant.weight;
                        quote!(static #w: [i8; #wn] = [#(#wv),*];)
                    }
                };
                statics.push(quote! {
                    #[doc = #doc]
                    #weight_static
                    static #b: [i32; #bn] = [#(#bv),*];
                    static #m: [#nn::quant::Multiplier; #bn] = [#(#mv),*];
                });
                let x = regions.read(memory, input);
                let row = plan.nodes[step.inputs[0]];
                // A 2 × 2 max pool after the convolution (through its `relu`) runs in the
                // same pass, into the pool's buffer, when that buffer is not the input's.
                let pooled = match step.op {
                    Op::Conv(_) => pooled_after(model, memory, s, input),
                    _ => None,
                };
                let y = regions.of(memory, pooled.map_or(out, |(.., pool_out)| pool_out));
                match step.op {
                    Op::Conv(shape) => {
                        let (scratch, padded) = nn_core::quant::Conv2dInt8::scratch_len_of(&shape);
                        let (forward, lo) = match pooled {
                            Some((p, floor, _)) => {
                                let windows = 4 * (shape.height.out / 2) * (shape.width.out / 2);
                                macs = quant.weight.len() * windows;
                                label = format!("{label} and its max_pool(2)");
                                next = p + 1;
                                (quote!(forward_with_pooled), lo.max(floor))
                            }
                            None => (quote!(forward_with), lo),
                        };
                        let shape = conv_tokens(&shape, nn);
                        quote_spanned!(span=> {
                            const SHAPE: #nn::baked::ConvShape = #shape;
                            let conv = #nn::quant::Conv2dInt8 {
                                shape: &SHAPE, weight: &#w, bias: &#b, multipliers: &#m,
                                input_zero_point: #in_zp, output_zero_point: #out_zp,
                                activation: (#lo, #hi),
                            };
                            let (mut scratch, mut padded) = ([0i16; #scratch], [0i8; #padded]);
                            conv.#forward(#x, #y, &mut scratch, &mut padded);
                        })
                    }
                    _ => {
                        let words = nn_core::quant::PairedDenseInt8::scratch_len(row);
                        quote_spanned!(span=> {
                            let mut words = [0u32; #words];
                            #nn::quant::PairedDenseInt8 {
                                weight: &#w, inputs: #row, bias: &#b, multipliers: &#m,
                                input_zero_point: #in_zp, output_zero_point: #out_zp,
                                activation: (#lo, #hi),
                            }.forward_with(#x, #y, &mut words);
                        })
                    }
                }
            }
            Op::Relu => {
                let y = regions.of(memory, out);
                let copy = at.copy_first.then(|| {
                    let x = regions.read(memory, input);
                    quote!(#y.copy_from_slice(#x);)
                });
                quote_spanned!(span=> #copy #nn::quant::relu_int8(#out_zp, #y);)
            }
            Op::MaxPool(shape) | Op::AvgPool(shape) => {
                let x = regions.read(memory, input);
                let y = regions.of(memory, out);
                let literal = pool_tokens(&shape, nn);
                let call = match step.op {
                    Op::MaxPool(_) => {
                        quote!(#nn::quant::max_pool_int8(&SHAPE, (-128, 127), #x, #y))
                    }
                    _ => quote!(#nn::quant::avg_pool_int8(&SHAPE, #in_zp, #x, #y)),
                };
                quote_spanned!(span=> {
                    const SHAPE: #nn::baked::PoolShape = #literal;
                    #call;
                })
            }
            Op::GlobalAvgPool { plane } => {
                let x = regions.read(memory, input);
                let y = regions.of(memory, out);
                quote_spanned!(span=> #nn::quant::global_avg_pool_int8(#plane, #x, #y);)
            }
            Op::Add => {
                let add = model.add(s);
                let parts: Vec<TokenStream> = at
                    .inputs
                    .iter()
                    .map(|&loc| regions.read(memory, loc))
                    .collect();
                let y = regions.of(memory, out);
                let inputs = add.inputs.iter().map(|(m, zp)| {
                    let m = multiplier_tokens(m, nn);
                    quote!((#m, #zp))
                });
                let output = multiplier_tokens(&add.output, nn);
                let zp = add.output_zero_point;
                quote_spanned!(span=> {
                    const ADD: #nn::quant::AddInt8<2> = #nn::quant::AddInt8 {
                        inputs: [#(#inputs),*], output: #output, output_zero_point: #zp,
                    };
                    ADD.forward([#(#parts),*], (#lo, #hi), #y);
                })
            }
            Op::Concat { outer } => {
                let parts: Vec<TokenStream> = at
                    .inputs
                    .iter()
                    .map(|&loc| regions.read(memory, loc))
                    .collect();
                let y = regions.of(memory, out);
                let requantize = model.concat_parts(s).into_iter().map(|r| {
                    let m = multiplier_tokens(&r.multiplier, nn);
                    let (zi, zo, identity) = (r.input_zero_point, r.output_zero_point, r.identity);
                    quote!(#nn::quant::Requantize {
                        multiplier: #m, input_zero_point: #zi, output_zero_point: #zo, identity: #identity,
                    })
                });
                let count = parts.len();
                quote_spanned!(span=> {
                    const PARTS: [#nn::quant::Requantize; #count] = [#(#requantize),*];
                    #nn::quant::concat_int8(#outer, &[#(#parts),*], &PARTS, #lo, #y);
                })
            }
            Op::Softmax { depth } => {
                let x = regions.read(memory, input);
                let y = regions.of(memory, out);
                let input_scale = model.input_params(s).scale;
                let Ok(softmax) = nn_core::quant::SoftmaxInt8::new(input_scale) else {
                    unreachable!("QuantModel::from_bytes checks the softmax's scale")
                };
                let nn_core::quant::SoftmaxInt8 {
                    multiplier,
                    left_shift,
                    diff_min,
                } = softmax;
                quote_spanned!(span=> {
                    const SOFTMAX: #nn::quant::SoftmaxInt8 = #nn::quant::SoftmaxInt8 {
                        multiplier: #multiplier, left_shift: #left_shift, diff_min: #diff_min,
                    };
                    SOFTMAX.forward(#depth, #x, #y);
                })
            }
            Op::Sigmoid | Op::Tanh => {
                let x = regions.read(memory, input);
                let y = regions.of(memory, out);
                let tanh = step.op == Op::Tanh;
                let Ok(sigmoid) = nn_core::quant::SigmoidInt8::new(model.input_params(s), tanh)
                else {
                    unreachable!("QuantModel::from_bytes checks the sigmoid's scale")
                };
                let nn_core::quant::SigmoidInt8 {
                    input_zero_point,
                    range_radius,
                    multiplier,
                    ..
                } = sigmoid;
                let multiplier = multiplier_tokens(&multiplier, nn);
                quote_spanned!(span=> {
                    const SIGMOID: #nn::quant::SigmoidInt8 = #nn::quant::SigmoidInt8 {
                        input_zero_point: #input_zero_point, range_radius: #range_radius,
                        multiplier: #multiplier, tanh: #tanh,
                    };
                    SIGMOID.forward(#x, #y);
                })
            }
            Op::BatchNorm { .. } | Op::Identity => continue,
        };
        body.push(regions.wrap(nn, code));
        body.push(quote!(probe(#label, #macs);));
    }
    let output = &memory.buffers[memory.output];
    if memory.copy_output.is_some() {
        let (offset, end) = (output.offset, output.offset + output.len);
        body.push(quote!(work[#offset..#end].copy_from_slice(&x[..]);));
    }
    let output_at = output.offset;
    let peak = memory.peak_activations;
    let (input_scale, input_zp) = (model.input.scale, model.input.zero_point);
    let out_params = model.output_params();
    let (output_scale, output_zp) = (out_params.scale, out_params.zero_point);
    let file = weights.path.value();
    let plan_doc = plan_doc(memory);
    let doc = format!(
        "`{name}` in int8, with the quantized weights of `{file}` baked in as `static` data, generated by `network!`.\n\n\
         [`infer`](Self::infer) runs one int8 sample with no heap and no allocator; its activations \
         live in a `[i8; {work_len}]` (`{baked}::WORK_LEN` bytes) the caller owns. The weights, biases and \
         requantization multipliers are {weight_bytes} bytes of read-only data. \
         [`infer_f32`](Self::infer_f32) quantizes a float sample in and dequantizes the output.\n\n\
         The work arena, as the macro planned it (offset, length in `i8`, steps alive):\n\n{plan_doc}"
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #baked;

        #[allow(dead_code, reason = "generated API: a program may use only part of it")]
        impl #baked {
            /// Values per input sample.
            pub const INPUTS: usize = #inputs;
            /// Values per output sample.
            pub const OUTPUTS: usize = #outputs;
            /// The length, in `i8`, of the work arena [`infer`](Self::infer) takes.
            pub const WORK_LEN: usize = #work_len;
            /// The int8 weights and int32 biases baked in (after folding batch norms).
            pub const PARAM_COUNT: usize = #param_count;
            /// The bytes of read-only data: int8 weights, int32 biases and 8-byte multipliers.
            pub const WEIGHT_BYTES: usize = #weight_bytes;
            /// The same as [`WEIGHT_BYTES`](Self::WEIGHT_BYTES).
            pub const WEIGHTS_BYTES: usize = #weight_bytes;
            /// The most bytes of activations alive at one step.
            pub const PEAK_ACTIVATION_BYTES: usize = #peak;
            /// The input's scale: `real = INPUT_SCALE · (q − INPUT_ZERO_POINT)`.
            pub const INPUT_SCALE: f32 = #input_scale;
            /// The input's zero point.
            pub const INPUT_ZERO_POINT: i32 = #input_zp;
            /// The output's scale.
            pub const OUTPUT_SCALE: f32 = #output_scale;
            /// The output's zero point.
            pub const OUTPUT_ZERO_POINT: i32 = #output_zp;
            /// The quantized file, as the macro read it.
            pub const WEIGHTS_FILE: &'static str = #full_path;
            /// The file's bytes, through `include_bytes!` (what makes cargo rebuild the crate
            /// when the file changes).
            pub const WEIGHTS_FILE_BYTES: &'static [u8] = ::core::include_bytes!(#full_path);

            /// Runs one int8 sample and returns the int8 output, which lives in `work`.
            /// Allocates nothing.
            #[inline]
            pub fn infer<'w>(x: &[i8; #inputs], work: &'w mut [i8; #work_len]) -> &'w [i8; #outputs] {
                Self::infer_probed(x, work, &mut |_, _| {})
            }

            /// [`infer`](Self::infer), calling `probe(layer, multiply_accumulates)` after each
            /// step that runs code.
            pub fn infer_probed<'w>(
                x: &[i8; #inputs],
                work: &'w mut [i8; #work_len],
                probe: &mut impl FnMut(&'static str, usize),
            ) -> &'w [i8; #outputs] {
                #(#statics)*
                #(#body)*
                let work: &'w [i8] = work;
                #nn::baked::output_i8::<#outputs>(&work[#output_at..])
            }

            /// One float sample through the int8 network: quantized with the input's scale and
            /// zero point (values outside the int8 range saturate at −128 and 127), run, and
            /// the output dequantized into `out`. The quantized input is a `[i8; INPUTS]` on
            /// the stack.
            pub fn infer_f32(x: &[f32; #inputs], work: &mut [i8; #work_len], out: &mut [f32; #outputs]) {
                let input = #nn::quant::QuantParams { scale: Self::INPUT_SCALE, zero_point: Self::INPUT_ZERO_POINT };
                let mut q = [0i8; #inputs];
                for (q, &v) in q.iter_mut().zip(x) {
                    *q = input.quantize(v);
                }
                let output = #nn::quant::QuantParams { scale: Self::OUTPUT_SCALE, zero_point: Self::OUTPUT_ZERO_POINT };
                for (o, &v) in out.iter_mut().zip(Self::infer(&q, work)) {
                    *o = output.dequantize(v);
                }
            }
        }
    }
}

/// The bytes of a step's weight static: a dense layer's paired words ([`paired_words`]), any
/// other's int8 weights.
fn weight_static_bytes(op: &Op, quant: &QuantStep) -> usize {
    match op {
        Op::Dense => 4 * paired_words(quant).len(),
        _ => quant.weight.len(),
    }
}

/// A dense step's weights in pairs of rows, as `nn::quant::PairedDenseInt8` reads them.
fn paired_words(quant: &QuantStep) -> Vec<u32> {
    let outputs = quant.bias.len().max(1);
    let inputs = quant.weight.len() / outputs;
    let mut words = vec![0; nn_core::quant::PairedDenseInt8::words(outputs, inputs)];
    if inputs > 0 {
        nn_core::quant::PairedDenseInt8::lay_out(&quant.weight, outputs, &mut words);
    }
    words
}
