//! `nn::quant::Quantize` for every network of one input whose layers all have an int8 form
//! (`Spec::quant_op`): the flat plan (nested networks of the same call spliced in) as a
//! `const`, which calibration runs in float and the int8 model on its kernels.
//!
//! A network that does not qualify gets no impl, silently: it is still a valid float
//! network, and `Quantize`'s `on_unimplemented` note says which kinds have an int8 form when
//! someone asks for it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use nn_core::linalg::conv::{ConvAxis, ConvShape};
use nn_core::linalg::pool::PoolShape;
use nn_core::quant::Op;

use super::flat::{self, Flat, FlatKind, FlatStep};
use crate::ast::{Layer, MergeKind, Network};
use crate::ctxt::Ctxt;
use crate::kinds::bake::BakeCx;
use crate::validate::Plan;

/// Each flat step's int8 operation and path; `None` when one has no int8 form.
pub fn flat_ops(flat: &Flat) -> Option<Vec<(Op, String)>> {
    flat.steps
        .iter()
        .map(|step| step_op(flat, step).ok())
        .collect()
}

/// A flat step's int8 operation and path, or the step's layer when it has no int8 form (`None`
/// for a merge that has none).
pub fn step_op<'a>(
    flat: &Flat<'a>,
    step: &FlatStep<'a>,
) -> Result<(Op, String), Option<&'a Layer>> {
    let first = *step.inputs.first().ok_or(None)?;
    let cx = BakeCx {
        input: &flat.dims[first],
        output: &flat.dims[step.output],
    };
    match &step.kind {
        FlatKind::Merge { kind, path } => {
            let op = match kind {
                MergeKind::Add if step.inputs.len() == 2 => Op::Add,
                MergeKind::Concat(axis) => {
                    let axis =
                        axis.unwrap_or_else(|| crate::validate::feature_axis(cx.input.len()));
                    Op::Concat {
                        outer: cx.input.iter().take(axis).product::<u64>() as usize,
                    }
                }
                MergeKind::Stack => Op::Concat { outer: 1 },
                _ => return Err(None),
            };
            Ok((op, path.clone()))
        }
        FlatKind::Layer { layer, spec, path } => {
            let op = spec.quant_op(&cx).ok_or(Some(*layer))?;
            Ok((op, path.clone()))
        }
    }
}

/// `nn::baked::ConvAxis { .. }` of `axis`.
fn axis_tokens(axis: &ConvAxis, nn: &TokenStream) -> TokenStream {
    let ConvAxis {
        size,
        out,
        kernel,
        stride,
        dilation,
        pad_before,
        pad_after,
    } = *axis;
    quote!(#nn::baked::ConvAxis {
        size: #size, out: #out, kernel: #kernel, stride: #stride,
        dilation: #dilation, pad_before: #pad_before, pad_after: #pad_after,
    })
}

/// `nn::baked::ConvShape { .. }` of `shape`.
pub fn conv_tokens(shape: &ConvShape, nn: &TokenStream) -> TokenStream {
    let (c_in, c_out, groups) = (shape.c_in, shape.c_out, shape.groups);
    let (height, width) = (
        axis_tokens(&shape.height, nn),
        axis_tokens(&shape.width, nn),
    );
    quote!(#nn::baked::ConvShape {
        c_in: #c_in, c_out: #c_out, groups: #groups, height: #height, width: #width,
    })
}

/// `nn::baked::PoolShape { .. }` of `shape`.
pub fn pool_tokens(shape: &PoolShape, nn: &TokenStream) -> TokenStream {
    let (height, width) = (
        axis_tokens(&shape.height, nn),
        axis_tokens(&shape.width, nn),
    );
    let counts = shape.count_include_pad;
    quote!(#nn::baked::PoolShape { height: #height, width: #width, count_include_pad: #counts })
}

/// The `nn::quant::Op` expression of `op`.
fn op_tokens(op: &Op, nn: &TokenStream) -> TokenStream {
    match op {
        Op::Dense => quote!(#nn::quant::Op::Dense),
        Op::Conv(shape) => {
            let shape = conv_tokens(shape, nn);
            quote!(#nn::quant::Op::Conv(#shape))
        }
        Op::BatchNorm { channels } => quote!(#nn::quant::Op::BatchNorm { channels: #channels }),
        Op::Relu => quote!(#nn::quant::Op::Relu),
        Op::MaxPool(shape) => {
            let shape = pool_tokens(shape, nn);
            quote!(#nn::quant::Op::MaxPool(#shape))
        }
        Op::AvgPool(shape) => {
            let shape = pool_tokens(shape, nn);
            quote!(#nn::quant::Op::AvgPool(#shape))
        }
        Op::GlobalAvgPool { plane } => quote!(#nn::quant::Op::GlobalAvgPool { plane: #plane }),
        Op::Identity => quote!(#nn::quant::Op::Identity),
        Op::Add => quote!(#nn::quant::Op::Add),
        Op::Concat { outer } => quote!(#nn::quant::Op::Concat { outer: #outer }),
        Op::Softmax { depth } => quote!(#nn::quant::Op::Softmax { depth: #depth }),
        Op::Sigmoid => quote!(#nn::quant::Op::Sigmoid),
        Op::Tanh => quote!(#nn::quant::Op::Tanh),
    }
}

/// The `impl Quantize`, or nothing.
pub fn quantize_impl(
    network: &Network,
    siblings: &[Network],
    plan: &Plan,
    nn: &TokenStream,
) -> TokenStream {
    if plan.has_unchecked() {
        return TokenStream::new();
    }
    // Errors of flattening are the baked network's to report; here they only mean "no impl".
    let muted = Ctxt::default();
    let flat = flat::build(network, siblings, plan, nn, &muted);
    let _ = muted.finish();
    let Some(flat) = flat else {
        return TokenStream::new();
    };
    let [(_, input)] = flat.inputs.as_slice() else {
        return TokenStream::new();
    };
    let Some(steps) = flat_ops(&flat) else {
        return TokenStream::new();
    };
    let steps = flat.steps.iter().zip(&steps).map(|(step, (op, path))| {
        let op = op_tokens(op, nn);
        let inputs = &step.inputs;
        let output = step.output;
        quote! {
            #nn::quant::Step { op: #op, inputs: &[#(#inputs),*], output: #output, path: #path }
        }
    });
    let nodes = flat
        .dims
        .iter()
        .map(|dims| dims.iter().product::<u64>() as usize);
    let output = flat.output;
    let name = &network.name;
    let doc = format!(
        "`{name}` step by step for int8 (generated by `network!`): what `nn::quant` calibrates and quantizes."
    );
    let konst = format_ident!("PLAN");
    quote! {
        #[doc = #doc]
        impl #nn::quant::Quantize for #name {
            const #konst: #nn::quant::Plan = #nn::quant::Plan {
                nodes: &[#(#nodes),*],
                input: #input,
                output: #output,
                steps: &[#(#steps),*],
            };
        }
    }
}

/// For each step of `plan`, the fake-quantization point its output is (the order of
/// `nn::quant::fake_quant_points`), when the network gets a `Quantize` plan and has no nested
/// network (its flat plan is its plan, step for step); `None` otherwise.
pub fn fake_quant_hooks(
    network: &Network,
    siblings: &[Network],
    plan: &Plan,
    nn: &TokenStream,
) -> Option<Vec<Option<usize>>> {
    if plan.has_unchecked() {
        return None;
    }
    let muted = Ctxt::default();
    let flat = flat::build(network, siblings, plan, nn, &muted);
    let _ = muted.finish();
    let flat = flat?;
    if flat.inputs.len() != 1
        || flat.steps.len() != plan.steps.len()
        || flat.dims.len() != plan.nodes.len()
        || flat
            .steps
            .iter()
            .zip(&plan.steps)
            .any(|(f, p)| f.output != p.output || f.inputs != p.inputs)
    {
        return None;
    }
    let ops = flat_ops(&flat)?;
    let steps: Vec<nn_core::quant::Step> = flat
        .steps
        .iter()
        .zip(&ops)
        .map(|(step, (op, _))| nn_core::quant::Step {
            op: *op,
            inputs: Vec::leak(step.inputs.clone()),
            output: step.output,
            path: "",
        })
        .collect();
    let nodes: Vec<usize> = flat
        .dims
        .iter()
        .map(|d| d.iter().product::<u64>() as usize)
        .collect();
    let quant_plan = nn_core::quant::Plan {
        nodes: Vec::leak(nodes),
        input: flat.inputs[0].1,
        output: flat.output,
        steps: Vec::leak(steps),
    };
    let mut points: Vec<usize> = Vec::new();
    for step in quant_plan.steps {
        if let Some(node) = quant_plan.quantized_node(step)
            && !points.contains(&node)
        {
            points.push(node);
        }
    }
    Some(
        plan.steps
            .iter()
            .map(|step| points.iter().position(|&node| node == step.output))
            .collect(),
    )
}
