//! Baked networks (`#[weights = ".."]`) against the heap network loaded from the same file:
//! the same kernels run in the same order, so the outputs are bit-identical.

use nn::prelude::*;

network! {
    /// The MNIST MLP of `models/mnist_mlp.safetensors`.
    #[weights = "models/mnist_mlp.safetensors"]
    struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    /// Every kind a baked network takes, on the weights of `tests/fixtures/baked_mixed.safetensors`.
    #[weights = "tests/fixtures/baked_mixed.safetensors"]
    struct Mixed<
        input(2, 3), flatten,
        fc1: dense(6 -> 8), leaky_relu, gelu, leaky_relu(0.2),
        fc2: dense(8 -> 8), tanh, elu, elu(0.5), sigmoid, dropout(0.3), relu,
        reshape(2, 4), flatten,
        fc3: dense(8 -> 4), softmax,
    >

    /// An activation first, on the (read-only) input, and a dense layer after a dense layer.
    #[weights = "tests/fixtures/baked_mixed.safetensors"]
    struct ActivationFirst< input(6), sigmoid, fc1: dense(6 -> 8), fc2: dense(8 -> 8), fc3: dense(8 -> 4) >
}

/// Deterministic inputs in about [-1, 2].
fn input(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 333.0) - 1.0)
        .collect()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn baked_mlp_matches_the_heap_network_bit_for_bit() {
    let mut heap = Mlp::seeded(1);
    nn::weights::load(&mut heap, MlpBaked::WEIGHTS_FILE).unwrap();
    let mut tape = MlpTape::<1, Eval>::new();
    let mut work = [0.0; MlpBaked::WORK_LEN];
    for seed in 0..20 {
        let x: [f32; 784] = input(784, seed).try_into().unwrap();
        let heap_out = heap.infer(&Tensor2::<1, 784>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = MlpBaked::infer(&x, &mut work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
    }
    assert_eq!(MlpBaked::PARAM_COUNT, Mlp::PARAM_COUNT);
    assert_eq!((MlpBaked::INPUTS, MlpBaked::OUTPUTS), (784, 10));
}

#[test]
fn baked_mixed_network_matches_the_heap_network_bit_for_bit() {
    let mut heap = Mixed::seeded(1);
    nn::weights::load(&mut heap, MixedBaked::WEIGHTS_FILE).unwrap();
    let mut tape = MixedTape::<1, Eval>::new();
    let mut work = [0.0; MixedBaked::WORK_LEN];
    for seed in 0..20 {
        let x: [f32; 6] = input(6, seed).try_into().unwrap();
        let heap_out = heap.infer(&Tensor3::<1, 2, 3>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = MixedBaked::infer(&x, &mut work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
        let sum: f32 = baked_out.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6, "softmax output sums to {sum}");
    }
}

#[test]
fn an_activation_on_the_input_matches_the_heap_network() {
    let mut heap = ActivationFirst::seeded(1);
    nn::weights::load(&mut heap, ActivationFirstBaked::WEIGHTS_FILE).unwrap();
    let mut tape = ActivationFirstTape::<1, Eval>::new();
    let mut work = [0.0; ActivationFirstBaked::WORK_LEN];
    let x: [f32; 6] = input(6, 3).try_into().unwrap();
    let heap_out = heap.infer(&Tensor2::<1, 6>::from_slice(&x).unwrap(), &mut tape);
    let baked_out = ActivationFirstBaked::infer(&x, &mut work);
    assert_eq!(bits(heap_out.as_slice()), bits(baked_out));
    assert_eq!(
        x,
        <[f32; 6]>::try_from(input(6, 3)).unwrap(),
        "the input is left as it was"
    );
}

/// `include_bytes!` of the file is in the expansion (`WEIGHTS_FILE_BYTES`), which is what makes
/// cargo rebuild a crate when its weights file changes.
#[test]
fn the_expansion_includes_the_weights_file() {
    assert!(std::path::Path::new(MlpBaked::WEIGHTS_FILE).is_absolute());
    assert!(MlpBaked::WEIGHTS_FILE.ends_with("models/mnist_mlp.safetensors"));
    let on_disk = std::fs::read(MlpBaked::WEIGHTS_FILE).unwrap();
    assert_eq!(MlpBaked::WEIGHTS_FILE_BYTES, on_disk.as_slice());
    assert_eq!(MlpBaked::WEIGHTS_BYTES, 4 * MlpBaked::PARAM_COUNT);
}
