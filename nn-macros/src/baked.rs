//! Weights baked in at compile time: `#[weights = "file.safetensors"]` on a declaration.
//!
//! The macro reads the file while it expands (relative to the calling crate's
//! `CARGO_MANIFEST_DIR`), checks every tensor's name, shape, dtype and values against the
//! declaration, and emits `NameBaked`: a unit struct whose `infer` runs the network over
//! `static` `[f32; N]` arrays of the file's values, with the activations in a buffer the caller
//! passes. Nothing in it needs a heap or an allocator (see `nn_core::baked`).
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

use std::collections::BTreeMap;
#[cfg(feature = "baked")]
use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
#[cfg(feature = "baked")]
use safetensors::{Dtype, SafeTensors};

use crate::ast::{Layer, LayerKind, Network, Weights};
use crate::ctxt::Ctxt;
use crate::kinds::{Alpha, Bake};
use crate::shape::Dims;
use crate::validate::{Plan, StepKind};

/// The keywords a baked network may use, for the "cannot be baked yet" error.
const BAKEABLE: &str = "dense, relu, leaky_relu, sigmoid, tanh, elu, gelu, softmax, flatten, reshape and dropout (the identity at inference)";

/// One layer of the baked chain.
struct Step<'a> {
    layer: &'a Layer,
    bake: Bake,
    /// Dotted parameter prefix, `fc1`.
    path: String,
    /// Values per sample in and out.
    input_len: u64,
    output_len: u64,
    /// For dense: `(OUT, IN)`.
    dense: Option<(u64, u64)>,
}

/// A tensor read from the file, as `f32`.
struct Tensor {
    values: Vec<f32>,
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
    let steps = steps(network, plan, ctxt)?;
    let (full_path, tensors) = read_file(weights, &steps, ctxt)?;
    Some(emit(
        network, weights, plan, nn, &steps, &full_path, &tensors,
    ))
}

/// The chain as baked steps, or `None` after reporting why it cannot be baked.
fn steps<'a>(network: &'a Network, plan: &Plan, ctxt: &Ctxt) -> Option<Vec<Step<'a>>> {
    let mut layer_steps = plan.steps.iter().filter_map(|step| match &step.kind {
        StepKind::Layer(layer) => Some((step, layer)),
        _ => None,
    });
    let mut steps = Vec::new();
    let mut ok = true;
    for layer in &network.layers {
        let spec = match &layer.kind {
            LayerKind::Input { .. } => continue,
            LayerKind::Spec(spec) => spec,
            LayerKind::Fork(_) => {
                ctxt.error(
                    &layer.tokens,
                    format!("`fork` cannot be baked yet; a baked network is a chain of {BAKEABLE}"),
                );
                ok = false;
                continue;
            }
            LayerKind::Custom { path } => {
                ctxt.error(
                    &layer.tokens,
                    format!(
                        "`{}` (a layer type, e.g. a nested network) cannot be baked yet; a baked network is a chain of {BAKEABLE}",
                        crate::ast::tokens_text(path)
                    ),
                );
                ok = false;
                continue;
            }
            LayerKind::Unknown | LayerKind::Invalid => return None,
        };
        let bake = spec.bake();
        if matches!(bake, Bake::Unsupported) {
            ctxt.error(
                &layer.tokens,
                format!(
                    "`{}` cannot be baked yet; a baked network takes {BAKEABLE}",
                    layer.keyword
                ),
            );
            ok = false;
            continue;
        }
        let (step, layer_step) = layer_steps.next()?;
        let input = known_dims(&plan.nodes[step.inputs[0]].shape.dims);
        let output = known_dims(&plan.nodes[step.output].shape.dims);
        let (Some(input), Some(output)) = (input, output) else {
            ctxt.error(
                &layer.tokens,
                format!(
                    "{} has a size the macro cannot see (a named constant); a baked network needs literal sizes, e.g. `dense(784 -> 128)`",
                    layer.reference()
                ),
            );
            ok = false;
            continue;
        };
        let dense = match bake {
            Bake::Dense => Some((*output.last().unwrap_or(&1), *input.last().unwrap_or(&1))),
            _ => None,
        };
        steps.push(Step {
            layer,
            bake,
            path: layer_step.path.join("."),
            input_len: input.iter().product(),
            output_len: output.iter().product(),
            dense,
        });
    }
    ok.then_some(steps)
}

/// A sample shape's sizes, when every one is a literal.
fn known_dims(dims: &Dims) -> Option<Vec<u64>> {
    match dims {
        Dims::Known(widths) => widths.iter().map(|w| w.value).collect(),
        Dims::Of { .. } => None,
    }
}

/// `(128, 784)`.
#[cfg(feature = "baked")]
fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("({})", parts.join(", "))
}

/// Without the `baked` feature there is no reader: the attribute is an error that says so.
#[cfg(not(feature = "baked"))]
fn read_file(
    weights: &Weights,
    _steps: &[Step],
    ctxt: &Ctxt,
) -> Option<(String, BTreeMap<String, Tensor>)> {
    ctxt.error(
        &weights.attr,
        "`#[weights = ..]` needs the `baked` feature of `nn` (on by default): turn it on, as in \
         `nn = { version = \"..\", features = [\"baked\"] }`",
    );
    None
}

/// Reads and checks the file; returns its absolute path and every parameter, by name.
#[cfg(feature = "baked")]
fn read_file(
    weights: &Weights,
    steps: &[Step],
    ctxt: &Ctxt,
) -> Option<(String, BTreeMap<String, Tensor>)> {
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        ctxt.error(
            &weights.attr,
            "`#[weights = ..]` is relative to `CARGO_MANIFEST_DIR`, which is not set: build with cargo",
        );
        return None;
    };
    let full = PathBuf::from(manifest_dir).join(weights.path.value());
    // `../models/x.safetensors` reads better resolved; a path that does not resolve keeps its
    // form, and the read below reports it.
    let full = std::fs::canonicalize(&full).unwrap_or(full);
    let full_text = full.display().to_string();
    let bytes = match std::fs::read(&full) {
        Ok(bytes) => bytes,
        Err(e) => {
            ctxt.error(
                &weights.attr,
                format!("cannot read the weights file `{full_text}`: {e}"),
            );
            return None;
        }
    };
    // The crate reports bad files as errors; `catch_unwind` keeps a bug in it from becoming an
    // ICE-like panic of the macro.
    let parsed =
        std::panic::catch_unwind(|| SafeTensors::deserialize(&bytes).map_err(|e| e.to_string()));
    let file = match parsed {
        Ok(Ok(file)) => file,
        Ok(Err(e)) => {
            ctxt.error(
                &weights.attr,
                format!(
                    "`{}` is not a valid safetensors file: {e}",
                    weights.path.value()
                ),
            );
            return None;
        }
        Err(_) => {
            ctxt.error(
                &weights.attr,
                format!("`{}` is not a valid safetensors file", weights.path.value()),
            );
            return None;
        }
    };
    // In declaration order, each layer's weight before its bias, as errors should come.
    let mut wanted: Vec<(String, &Layer, Vec<usize>)> = Vec::new();
    for step in steps {
        if let Some((out, inputs)) = step.dense {
            let (out, inputs) = (out as usize, inputs as usize);
            wanted.push((
                format!("{}.weight", step.path),
                step.layer,
                vec![out, inputs],
            ));
            wanted.push((format!("{}.bias", step.path), step.layer, vec![out]));
        }
    }
    let mut tensors = BTreeMap::new();
    let mut ok = true;
    for (name, layer, shape) in &wanted {
        let reference = layer.reference();
        let view = match file.tensor(name) {
            Ok(view) => view,
            Err(_) => {
                ctxt.error(
                    &layer.tokens,
                    format!(
                        "{reference}: the weights file has no `{name}`; the declaration needs it, of shape {}",
                        shape_text(shape)
                    ),
                );
                ok = false;
                continue;
            }
        };
        if view.shape() != shape.as_slice() {
            ctxt.error(
                &layer.tokens,
                format!(
                    "{reference}: the weights file has `{name}` of shape {}, the declaration needs {}",
                    shape_text(view.shape()),
                    shape_text(shape)
                ),
            );
            ok = false;
            continue;
        }
        let values = match decode(view.dtype(), view.data()) {
            Some(values) => values,
            None => {
                ctxt.error(
                    &layer.tokens,
                    format!(
                        "{reference}: `{name}` is {:?}; a baked network takes F32, or F16/BF16 converted to f32",
                        view.dtype()
                    ),
                );
                ok = false;
                continue;
            }
        };
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            ctxt.error(
                &layer.tokens,
                format!(
                    "{reference}: `{name}` holds {} at index {index}; a baked network needs finite weights",
                    values[index]
                ),
            );
            ok = false;
            continue;
        }
        tensors.insert(name.clone(), Tensor { values });
    }
    let mut unexpected: Vec<&str> = file
        .names()
        .into_iter()
        .filter(|name| !wanted.iter().any(|(wanted, ..)| wanted == name))
        .collect();
    unexpected.sort_unstable();
    if !unexpected.is_empty() {
        let list: Vec<String> = unexpected.iter().map(|n| format!("`{n}`")).collect();
        ctxt.error(
            &weights.attr,
            format!(
                "the weights file `{}` has {}, which no layer of the declaration takes",
                weights.path.value(),
                list.join(", ")
            ),
        );
        ok = false;
    }
    ok.then_some((full_text, tensors))
}

/// Little-endian F32 as it is, F16 and BF16 widened (exactly); `None` for other dtypes.
#[cfg(feature = "baked")]
fn decode(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    match dtype {
        Dtype::F32 => Some(
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        Dtype::BF16 => Some(
            data.chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
        ),
        Dtype::F16 => Some(
            data.chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
        ),
        _ => None,
    }
}

/// IEEE half to single precision; every half is exactly a single.
#[cfg(feature = "baked")]
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        // Subnormal: the value is mantissa · 2^-24.
        (0, m) => {
            let value = m as f32 / 16_777_216.0;
            return if sign == 0 { value } else { -value };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// A float literal that gives back exactly `value` (finite): `1.5e-3f32`, negated with a `-`.
fn literal(value: f32) -> TokenStream {
    let text = format!("{:e}f32", value.abs());
    let lit = syn::LitFloat::new(&text, Span::call_site());
    if value.is_sign_negative() {
        quote!(-#lit)
    } else {
        quote!(#lit)
    }
}

/// Where a step reads or writes: the input, or one half of the work buffer.
#[derive(Clone, Copy, PartialEq)]
enum At {
    Input,
    Half(usize),
}

fn emit(
    network: &Network,
    weights: &Weights,
    plan: &Plan,
    nn: &TokenStream,
    steps: &[Step],
    full_path: &str,
    tensors: &BTreeMap<String, Tensor>,
) -> TokenStream {
    let name = &network.name;
    let vis = &network.vis;
    let baked = format_ident!("{}Baked", name);
    let inputs = known_dims(&plan.nodes[0].shape.dims)
        .map(|d| d.iter().product::<u64>())
        .unwrap_or(0) as usize;
    let outputs = steps.last().map_or(inputs as u64, |s| s.output_len) as usize;
    let half = steps
        .iter()
        .map(|s| s.output_len)
        .chain([outputs as u64])
        .max()
        .unwrap_or(1)
        .max(1) as usize;
    let work_len = 2 * half;
    let param_count: usize = tensors.values().map(|t| t.values.len()).sum();

    let mut statics = Vec::new();
    let mut used = std::collections::HashSet::new();
    let mut body = Vec::new();
    let mut at = At::Input;
    let slice = |at: At, len: u64| -> TokenStream {
        let len = len as usize;
        match at {
            At::Input => quote!(&x[..]),
            At::Half(0) => quote!(&lo[..#len]),
            At::Half(_) => quote!(&hi[..#len]),
        }
    };
    let slice_mut = |half: usize, len: u64| -> TokenStream {
        let len = len as usize;
        if half == 0 {
            quote!(&mut lo[..#len])
        } else {
            quote!(&mut hi[..#len])
        }
    };
    let other = |at: At| match at {
        At::Half(0) => 1,
        _ => 0,
    };
    for step in steps {
        let span = step.layer.span();
        match &step.bake {
            Bake::Dense => {
                let (_, inputs) = step.dense.unwrap_or((0, 0));
                let mut idents = Vec::new();
                for key in ["weight", "bias"] {
                    let name = format!("{}.{key}", step.path);
                    let Some(tensor) = tensors.get(&name) else {
                        continue;
                    };
                    // `fc1.weight` is the static `FC1_WEIGHT`; a name that only differs in case
                    // from an earlier one gets a suffix.
                    let mut ident = name.replace('.', "_").to_uppercase();
                    while !used.insert(ident.clone()) {
                        ident.push('_');
                    }
                    let ident = format_ident!("{}", ident);
                    let len = tensor.values.len();
                    let literals = tensor.values.iter().map(|&v| literal(v));
                    let doc = format!("`{name}`");
                    statics.push(quote! {
                        #[doc = #doc]
                        static #ident: #nn::baked::Aligned<#len> = #nn::baked::Aligned([#(#literals),*]);
                    });
                    idents.push(ident);
                }
                let [weight, bias] = idents.as_slice() else {
                    continue;
                };
                let to = other(at);
                let (x, y) = (slice(at, step.input_len), slice_mut(to, step.output_len));
                let inputs = inputs as usize;
                body.push(quote_spanned!(span=> #nn::baked::dense(&#weight.0, &#bias.0, #x, #y, #inputs);));
                at = At::Half(to);
            }
            Bake::Elementwise { function, alpha } => {
                // On the network's input (read-only), the activation works on a copy.
                let h = match at {
                    At::Half(h) => h,
                    At::Input => {
                        let (x, y) = (slice(at, step.input_len), slice_mut(0, step.input_len));
                        body.push(quote!((#y).copy_from_slice(#x);));
                        0
                    }
                };
                at = At::Half(h);
                let values = slice_mut(h, step.output_len);
                let function = format_ident!("{}", function);
                let call = match alpha {
                    Alpha::None => quote_spanned!(span=> #nn::baked::#function(#values);),
                    Alpha::Default(constant) => {
                        let constant = format_ident!("{}", constant);
                        quote_spanned!(span=> #nn::baked::#function(#values, #nn::baked::#constant);)
                    }
                    Alpha::Given(expr) => quote_spanned!(span=> {
                        let alpha: f32 = #expr;
                        #nn::baked::#function(#values, alpha);
                    }),
                };
                body.push(call);
            }
            Bake::Softmax => {
                let to = other(at);
                let (x, y) = (slice(at, step.input_len), slice_mut(to, step.output_len));
                let features = step.output_len as usize;
                body.push(quote_spanned!(span=> #nn::baked::softmax(#x, #y, #features);));
                at = At::Half(to);
            }
            Bake::Identity | Bake::Unsupported => {}
        }
    }
    let result = match at {
        At::Input => {
            let y = slice_mut(0, outputs as u64);
            body.push(quote!((#y).copy_from_slice(&x[..]);));
            quote!(lo)
        }
        At::Half(0) => quote!(lo),
        At::Half(_) => quote!(hi),
    };
    let file = weights.path.value();
    let doc = format!(
        "`{name}` with the weights of `{file}` baked in as `static` data, generated by `network!`.\n\n\
         [`infer`](Self::infer) runs one sample with no heap and no allocator; its activations live \
         in a `[f32; {work_len}]` (`{baked}::WORK_LEN`) the caller owns. The weights are {param_count} \
         `f32`s ({} bytes) of read-only data.",
        param_count * 4
    );
    let weights_len = param_count * 4;
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
            /// The length of the work buffer [`infer`](Self::infer) takes.
            pub const WORK_LEN: usize = #work_len;
            /// The number of scalar parameters baked in.
            pub const PARAM_COUNT: usize = #param_count;
            /// The bytes of read-only data the weights take.
            pub const WEIGHTS_BYTES: usize = #weights_len;
            /// The weights file, as the macro read it.
            pub const WEIGHTS_FILE: &'static str = #full_path;
            /// The file's bytes, through `include_bytes!`: that is what makes cargo rebuild the
            /// crate when the file changes. Only in the binary if a program uses it.
            pub const WEIGHTS_FILE_BYTES: &'static [u8] = ::core::include_bytes!(#full_path);

            /// Runs one sample through the baked network and returns its output, which lives
            /// in `work`. Allocates nothing.
            pub fn infer<'w>(x: &[f32; #inputs], work: &'w mut [f32; #work_len]) -> &'w [f32; #outputs] {
                #(#statics)*
                let (lo, hi) = work.split_at_mut(#half);
                #(#body)*
                #nn::baked::output::<#outputs>(#result)
            }
        }
    }
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

        #[test]
        fn half_precision_widens_exactly() {
            assert_eq!(crate::baked::f16_to_f32(0x3c00), 1.0);
            assert_eq!(crate::baked::f16_to_f32(0xc000), -2.0);
            assert_eq!(crate::baked::f16_to_f32(0x0001), 2f32.powi(-24));
            assert_eq!(crate::baked::f16_to_f32(0x7bff), 65504.0);
            assert!(crate::baked::f16_to_f32(0x7c00).is_infinite());
            assert!(crate::baked::f16_to_f32(0x7e00).is_nan());
            let bf16 = crate::baked::decode(safetensors::Dtype::BF16, &[0x80, 0x3f]).unwrap();
            assert_eq!(bf16, [1.0]);
        }
    }
}
