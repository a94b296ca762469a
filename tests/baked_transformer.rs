//! Baked transformers (`#[weights = ".."]`) against the heap network loaded from the same file:
//! embedding, both position codes, layer and RMS norms, causal and full attention, patches,
//! the mean over steps and the padded mean and last run the heap layers' own kernels, so the
//! outputs are bit-identical
//! at batch 1. The files are written by `tests/bake_fixtures.rs` from the same declarations.

use nn::prelude::*;

network! {
    /// A causal language model over 80 ids: the attention's second block of queries crosses
    /// the 64-key tile.
    #[weights = "tests/fixtures/baked_causal_lm.safetensors"]
    struct CausalLm<
        input(80) tokens,
        embed: embedding(13 -> 16),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(16, heads = 4, causal)],
            skip: skip,
        } => add,
        rms_norm,
        head: dense(16 -> 13),
    >

    /// A vision transformer on 1 x 8 x 8 images: 4 patches of 4 x 4.
    #[weights = "tests/fixtures/baked_tiny_vit.safetensors"]
    struct TinyVit<
        input(1, 8, 8),
        patches(4),
        embed: dense(16 -> 8),
        pos: positional(4, 8),
        fork { attn: [layer_norm, multi_head_attention(8, heads = 2)], skip: skip } => add,
        norm: layer_norm(eps = 1e-6),
        mean_pool,
        head: dense(8 -> 3),
    >

    /// Padded ids pooled two ways: the mean and an LSTM's last state of the steps that are
    /// not padding.
    #[weights = "tests/fixtures/baked_padded_pools.safetensors"]
    struct PaddedPools<
        input(10) tokens,
        embed: embedding(9 -> 6),
        fork {
            mean: [mean_pool(key_padding = 0)],
            recurrent: [lstm: lstm(6 -> 4), last(key_padding = 0)],
        } => concat,
        head: dense(10 -> 3),
    >

    /// Attention over padded ids, full and causal, then the mean of the steps that are not
    /// padding.
    #[weights = "tests/fixtures/baked_padded_encoder.safetensors"]
    struct PaddedEncoder<
        input(12) tokens,
        embed: embedding(9 -> 8),
        positional(sinusoidal),
        full: fork { attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)], skip: skip } => add,
        causal: fork { attn: [multi_head_attention(8, heads = 2, causal, key_padding = 0)], skip: skip } => add,
        mean_pool(key_padding = 0),
        head: dense(8 -> 3),
    >

    /// Cross-attention: 70 text steps attend to 66 patches (both cross a block and a tile of
    /// the kernel), then the steps attend to keys and values of their own from three branches.
    #[weights = "tests/fixtures/baked_cross_reader.safetensors"]
    struct CrossReader<
        input(text: 70) tokens,
        input(image: 66, 6),
        cross: fork {
            text => [embed: embedding(11 -> 8), positional(sinusoidal)],
            memory: image => [patch: dense(6 -> 8), gelu],
        } => multi_head_attention(8, heads = 2),
        again: fork {
            queries: [layer_norm],
            keys: [keys: dense(8 -> 8)],
            values: [tanh],
        } => multi_head_attention(8, heads = 4),
        mean_pool,
        head: dense(8 -> 3),
    >

    /// An encoder-decoder: 70 target ids attend to 66 source ids padded with 0 (both cross a
    /// block and a tile of the kernel), the padding masked in the encoder and the
    /// cross-attention.
    #[weights = "tests/fixtures/baked_padded_translator.safetensors"]
    struct PaddedTranslator<
        input(source: 66) tokens,
        input(target: 70) tokens,
        cross: fork {
            target => [embed: embedding(11 -> 8), positional(sinusoidal)],
            memory: source => [
                source_embed: embedding(11 -> 8),
                positional(sinusoidal),
                encoder: fork {
                    attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
                    skip: skip,
                } => add,
            ],
        } => multi_head_attention(8, heads = 2, key_padding = 0),
        head: dense(8 -> 3),
    >

    /// Attention that is not causal over 80 steps: every query reads two tiles of keys.
    #[weights = "tests/fixtures/baked_long_encoder.safetensors"]
    struct LongEncoder<
        input(80, 8),
        positional(sinusoidal),
        fork { attn: [rms_norm(eps = 1e-6), multi_head_attention(8, heads = 2)], skip: skip } => add,
        mean_pool,
        head: dense(8 -> 3),
    >
}

/// Deterministic inputs in about [-1, 2].
fn input(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 1000) as f32 / 333.0) - 1.0)
        .collect()
}

/// Deterministic token ids in `0..13`.
fn ids(seed: usize) -> [f32; 80] {
    core::array::from_fn(|i| ((i * 31 + seed * 17 + i * i * seed) % 13) as f32)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn a_causal_language_model_matches_the_heap_network_bit_for_bit() {
    let mut heap = CausalLm::seeded(99);
    nn::weights::load(&mut heap, CausalLmBaked::WEIGHTS_FILE).unwrap();
    let mut tape = CausalLmTape::<1, Eval>::new();
    let mut work = vec![0.0; CausalLmBaked::WORK_LEN];
    let work: &mut [f32; CausalLmBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    for seed in 0..8 {
        let x = ids(seed);
        let heap_out = heap.infer(&Tensor2::<1, 80>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = CausalLmBaked::infer(&x, work);
        assert!(baked_out.iter().all(|v| v.is_finite()), "input {seed}");
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
    }
    assert_eq!(CausalLmBaked::PARAM_COUNT, CausalLm::PARAM_COUNT);
    assert_eq!(
        (CausalLmBaked::INPUTS, CausalLmBaked::OUTPUTS),
        (80, 80 * 13)
    );
}

#[test]
fn an_id_outside_the_vocabulary_gives_nan_rows_in_the_baked_model_too() {
    let mut heap = CausalLm::seeded(99);
    nn::weights::load(&mut heap, CausalLmBaked::WEIGHTS_FILE).unwrap();
    let mut tape = CausalLmTape::<1, Eval>::new();
    let mut work = vec![0.0; CausalLmBaked::WORK_LEN];
    let work: &mut [f32; CausalLmBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    for (position, bad) in [
        (64, 13.0),
        (70, -1.0),
        (79, 2.5),
        (64, f32::NAN),
        (70, 1e30),
    ] {
        let mut x = ids(3);
        x[position] = bad;
        let heap_out = heap
            .infer(&Tensor2::<1, 80>::from_slice(&x).unwrap(), &mut tape)
            .as_slice()
            .to_vec();
        let baked_out = CausalLmBaked::infer(&x, work);
        // From the bad id on, every step attends to its NaN row: NaN. The steps before it
        // never read it (the kernel keeps a masked 0 from meeting a NaN value): finite.
        assert!(
            baked_out[position * 13..].iter().all(|v| v.is_nan()),
            "id {bad} at {position}"
        );
        let unseen = position * 13;
        assert!(
            baked_out[..unseen].iter().all(|v| v.is_finite()),
            "id {bad} at {position}"
        );
        // Value for value the heap network's: the same bits, NaN where it has NaN.
        for (i, (h, b)) in heap_out.iter().zip(baked_out).enumerate() {
            assert!(
                h.to_bits() == b.to_bits() || (h.is_nan() && b.is_nan()),
                "id {bad} at {position}, value {i}: {h} vs {b}"
            );
        }
    }
}

#[test]
fn a_vision_transformer_matches_the_heap_network_bit_for_bit() {
    let mut heap = TinyVit::seeded(99);
    nn::weights::load(&mut heap, TinyVitBaked::WEIGHTS_FILE).unwrap();
    let mut tape = TinyVitTape::<1, Eval>::new();
    let mut work = [0.0; TinyVitBaked::WORK_LEN];
    for seed in 0..20 {
        let x: [f32; 64] = input(64, seed).try_into().unwrap();
        let heap_out = heap.infer(&Tensor4::<1, 1, 8, 8>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = TinyVitBaked::infer(&x, &mut work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
    }
    assert_eq!(TinyVitBaked::PARAM_COUNT, TinyVit::PARAM_COUNT);
}

#[test]
fn attention_over_two_tiles_of_keys_matches_the_heap_network_bit_for_bit() {
    let mut heap = LongEncoder::seeded(99);
    nn::weights::load(&mut heap, LongEncoderBaked::WEIGHTS_FILE).unwrap();
    let mut tape = LongEncoderTape::<1, Eval>::new();
    let mut work = vec![0.0; LongEncoderBaked::WORK_LEN];
    let work: &mut [f32; LongEncoderBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    for seed in 0..8 {
        let x: [f32; 640] = input(640, seed).try_into().unwrap();
        let heap_out = heap.infer(&Tensor3::<1, 80, 8>::from_slice(&x).unwrap(), &mut tape);
        let baked_out = LongEncoderBaked::infer(&x, work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
    }
}

/// Every step runs code of its own, and the attention's multiply-accumulates are the tiles its
/// kernel computes.
#[test]
fn the_probe_names_every_step_and_counts_the_attention_products() {
    let mut work = vec![0.0; CausalLmBaked::WORK_LEN];
    let work: &mut [f32; CausalLmBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    let mut steps = Vec::new();
    CausalLmBaked::infer_probed(&ids(0), work, &mut |name, macs| steps.push((name, macs)));
    let names: Vec<&str> = steps.iter().map(|&(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "embed",
            "positional(sinusoidal)",
            "layer_norm",
            "multi_head_attention(16, heads = 4, causal)",
            "add",
            "rms_norm",
            "head"
        ]
    );
    // The projections, 4·T·D², and per head the score and value products of the tiles: the
    // first block of 64 queries reads 64 keys, the second block of 16 all 80.
    let attention = 4 * 80 * 16 * 16 + 2 * 16 * (64 * 64 + 16 * 80);
    assert_eq!(steps[3].1, attention);
    assert_eq!(steps[6].1, 80 * 16 * 13);
    // The attention's scratch is the heap layer's at batch 1: 4·T·D + T·D/H + 64² + 2·64.
    let scratch = nn::baked::multi_head_attention_scratch_len(80, 16, 4);
    assert_eq!(scratch, 4 * 80 * 16 + 80 * 4 + 64 * 64 + 2 * 64);
    const { assert!(CausalLmBaked::WORK_LEN >= 4 * 80 * 16 + 80 * 4 + 64 * 64 + 2 * 64) };
}

#[test]
fn padded_pools_match_the_heap_network_bit_for_bit() {
    let mut heap = PaddedPools::seeded(99);
    nn::weights::load(&mut heap, PaddedPoolsBaked::WEIGHTS_FILE).unwrap();
    let mut tape = PaddedPoolsTape::<1, Eval>::new();
    let mut work = vec![0.0; PaddedPoolsBaked::WORK_LEN];
    let work: &mut [f32; PaddedPoolsBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    let cases: [[f32; 10]; 4] = [
        [3.0, 1.0, 8.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], // a padded tail
        [3.0, 0.0, 8.0, 2.0, 5.0, 0.0, 7.0, 0.0, 0.0, 0.0], // pads inside
        [4.0, 4.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0, 1.0], // no padding
        [0.0; 10],                                          // nothing but padding
    ];
    let mut outputs = Vec::new();
    for (case, x) in cases.iter().enumerate() {
        let heap_out = heap.infer(&Tensor2::<1, 10>::from_slice(x).unwrap(), &mut tape);
        let baked_out = PaddedPoolsBaked::infer(x, work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "case {case}");
        outputs.push(baked_out.to_vec());
    }
    // Nothing but padding pools to zeros both ways, so the scores are the head's bias.
    let mut bias = Vec::new();
    heap.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            if path.to_string() == "head.bias" {
                bias = p.value.to_vec();
            }
        },
    );
    assert_eq!(bits(&outputs[3]), bits(&bias));
    assert_eq!(PaddedPoolsBaked::PARAM_COUNT, PaddedPools::PARAM_COUNT);
}

#[test]
fn padded_attention_matches_the_heap_network_bit_for_bit() {
    let mut heap = PaddedEncoder::seeded(99);
    nn::weights::load(&mut heap, PaddedEncoderBaked::WEIGHTS_FILE).unwrap();
    let mut tape = PaddedEncoderTape::<1, Eval>::new();
    let mut work = vec![0.0; PaddedEncoderBaked::WORK_LEN];
    let work: &mut [f32; PaddedEncoderBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    let cases: [[f32; 12]; 4] = [
        [3.0, 1.0, 8.0, 2.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], // a padded tail
        [0.0, 0.0, 8.0, 2.0, 5.0, 0.0, 7.0, 0.0, 4.0, 4.0, 0.0, 1.0], // pads first and inside
        [4.0, 4.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0], // no padding
        [0.0; 12],                                                    // nothing but padding
    ];
    let mut outputs = Vec::new();
    for (case, x) in cases.iter().enumerate() {
        let heap_out = heap.infer(&Tensor2::<1, 12>::from_slice(x).unwrap(), &mut tape);
        let baked_out = PaddedEncoderBaked::infer(x, work);
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "case {case}");
        outputs.push(baked_out.to_vec());
    }
    // The padding changes what the unpadded steps see: the tail case is not the full one.
    assert_ne!(bits(&outputs[0]), bits(&outputs[2]));
    assert_eq!(PaddedEncoderBaked::PARAM_COUNT, PaddedEncoder::PARAM_COUNT);
}

#[test]
fn cross_attention_matches_the_heap_network_bit_for_bit() {
    let mut heap = CrossReader::seeded(99);
    nn::weights::load(&mut heap, CrossReaderBaked::WEIGHTS_FILE).unwrap();
    let mut tape = CrossReaderTape::<1, Eval>::new();
    let mut work = vec![0.0; CrossReaderBaked::WORK_LEN];
    let work: &mut [f32; CrossReaderBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    let mut outputs = Vec::new();
    for seed in 0..6 {
        let text: [f32; 70] = core::array::from_fn(|i| ((i * 7 + seed * 5 + i * i) % 11) as f32);
        let image: [f32; 66 * 6] = input(66 * 6, seed).try_into().unwrap();
        let heap_out = heap.infer(
            &Tensor2::<1, 70>::from_slice(&text).unwrap(),
            &Tensor3::<1, 66, 6>::from_slice(&image).unwrap(),
            &mut tape,
        );
        let baked_out = CrossReaderBaked::infer(&text, &image, work);
        assert!(baked_out.iter().all(|v| v.is_finite()), "input {seed}");
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "input {seed}");
        outputs.push(baked_out.to_vec());
    }
    // The inputs reach the output: no two give the same logits.
    assert_ne!(bits(&outputs[0]), bits(&outputs[1]));
    assert_eq!(CrossReaderBaked::PARAM_COUNT, CrossReader::PARAM_COUNT);
    // Each cross-attention is one step of the probe, with the products its kernel computes:
    // the projections ((2·TQ + 2·TK)·D²) and the scores and values (2·TQ·TK·D).
    let mut steps = Vec::new();
    CrossReaderBaked::infer_probed(&[0.0; 70], &[0.0; 66 * 6], work, &mut |name, products| {
        steps.push((name, products));
    });
    let attention: Vec<usize> = steps
        .iter()
        .filter(|(name, _)| *name == "cross" || *name == "again")
        .map(|&(_, products)| products)
        .collect();
    assert_eq!(
        attention,
        [
            (2 * 70 + 2 * 66) * 64 + 2 * 70 * 66 * 8,
            (2 * 70 + 2 * 70) * 64 + 2 * 70 * 70 * 8
        ],
        "{steps:?}"
    );
}

#[test]
fn padded_cross_attention_matches_the_heap_network_bit_for_bit() {
    let mut heap = PaddedTranslator::seeded(99);
    nn::weights::load(&mut heap, PaddedTranslatorBaked::WEIGHTS_FILE).unwrap();
    let mut tape = PaddedTranslatorTape::<1, Eval>::new();
    let mut work = vec![0.0; PaddedTranslatorBaked::WORK_LEN];
    let work: &mut [f32; PaddedTranslatorBaked::WORK_LEN] = work.as_mut_slice().try_into().unwrap();
    let id = |i: usize| (1 + (i * 7 + i * i) % 10) as f32;
    // The source: a padded tail crossing the first tile, pads first and inside, none, all.
    let sources: [[f32; 66]; 4] = [
        core::array::from_fn(|i| if i < 40 { id(i) } else { 0.0 }),
        core::array::from_fn(|i| if i < 3 || i % 5 == 2 { 0.0 } else { id(i) }),
        core::array::from_fn(id),
        [0.0; 66],
    ];
    let target: [f32; 70] = core::array::from_fn(|i| ((i * 3 + 1) % 11) as f32);
    let mut outputs = Vec::new();
    for (k, source) in sources.iter().enumerate() {
        let heap_out = heap.infer(
            &Tensor2::<1, 66>::from_slice(source).unwrap(),
            &Tensor2::<1, 70>::from_slice(&target).unwrap(),
            &mut tape,
        );
        let baked_out = PaddedTranslatorBaked::infer(source, &target, work);
        assert!(baked_out.iter().all(|v| v.is_finite()), "source {k}");
        assert_eq!(bits(heap_out.as_slice()), bits(baked_out), "source {k}");
        outputs.push(baked_out.to_vec());
    }
    // The padding changes what the queries see.
    assert_ne!(bits(&outputs[0]), bits(&outputs[2]));
    assert_eq!(
        PaddedTranslatorBaked::PARAM_COUNT,
        PaddedTranslator::PARAM_COUNT
    );
}
