//! Step-by-step decoding with a key/value cache (`nn::layers::Decoder`): each step's output
//! equals the full forward's row for the same prefix, on generated networks with every kind
//! that decodes, across attention's 64-key tile, and on encoder-decoders whose cross-attention
//! reads a memory (a padded source; image features); bad input is an error that changes
//! nothing.

use nn::layers::{Decode, DecodeError, Decoder};
use nn::prelude::*;

network! {
    /// Two pre-norm blocks over 70 ids (past one 64-key tile of the full forward), with a
    /// learned position table, dropout, both norms, a concat on the features and every
    /// decoding activation.
    pub struct LongLm<
        input(70) tokens,
        embed: embedding(13 -> 8),
        positional(70, 8),
        dropout(0.1),
        b1: fork { attn: [layer_norm, multi_head_attention(8, heads = 2, causal)], skip: skip } => add,
        m1: fork {
            ff: [rms_norm(eps = 1e-6), dense(8 -> 16), gelu, dense(16 -> 8)],
            skip: skip,
        } => add,
        b2: fork { attn: [rms_norm, multi_head_attention(8, heads = 4, causal)], skip: skip } => add,
        wide: fork { a: [dense(8 -> 4), relu], b: [dense(8 -> 4), tanh], c: [dense(8 -> 4), sigmoid, leaky_relu(0.1), elu] } => concat,
        head: dense(12 -> 13),
    >

    /// An encoder-decoder: 70 target ids (causal self-attention, then cross-attention to the
    /// source), 66 source ids padded with 0 and encoded with a padded, full self-attention.
    pub struct Translator<
        input(source: 66) tokens,
        input(target: 70) tokens,
        cross: fork {
            target => [
                embed: embedding(11 -> 8),
                positional(sinusoidal),
                self_attn: fork {
                    attn: [layer_norm, multi_head_attention(8, heads = 2, causal)],
                    skip: skip,
                } => add,
            ],
            memory: source => [
                source_embed: embedding(11 -> 8),
                positional(sinusoidal),
                encoder: fork {
                    attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
                    skip: skip,
                } => add,
            ],
        } => multi_head_attention(8, heads = 2, key_padding = 0),
        ff: fork { ff: [layer_norm, dense(8 -> 16), relu, dense(16 -> 8)], skip: skip } => add,
        head: dense(8 -> 11),
    >

    /// A captioner: text queries over image features, keys and values from branches of their
    /// own, no mask.
    pub struct Captioner<
        input(text: 6) tokens,
        input(image: 4, 5),
        cross: fork {
            text => [embedding(11 -> 8), positional(sinusoidal)],
            keys: image => [dense(5 -> 8)],
            values: image => [dense(5 -> 8), tanh],
        } => multi_head_attention(8, heads = 4),
        head: dense(8 -> 11),
    >

    /// A pre-norm block, nested twice below: a network of the same call that decodes decodes
    /// as a layer too.
    pub struct CausalBlock<
        input(10, 16),
        attn: fork { attn: [layer_norm, multi_head_attention(16, heads = 4, causal)], skip: skip } => add,
        mlp: fork { mlp: [layer_norm, dense(16 -> 32), gelu, dense(32 -> 16)], skip: skip } => add,
    >
    pub struct NestedLm<
        input(10) tokens,
        embedding(50 -> 16),
        positional(sinusoidal),
        b1: CausalBlock,
        b2: CausalBlock,
        head: dense(16 -> 50),
    >

    /// Features in rather than ids: `(T, F)` sequences decode too.
    pub struct FeatureDecoder<
        input(5, 3),
        dense(3 -> 4),
        positional(sinusoidal),
        fork { attn: [layer_norm, multi_head_attention(4, heads = 1, causal)], skip: skip } => add,
        dense(4 -> 2),
    >
}

fn close(a: &[f32], b: &[f32]) -> Result<(), String> {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if (x - y).abs() > 1e-5 * (1.0 + y.abs()) {
            return Err(format!("value {i}: step by step {x}, full forward {y}"));
        }
    }
    Ok(())
}

#[test]
fn every_step_equals_the_full_forward_on_its_prefix() {
    let net = LongLm::seeded(3);
    let mut rng = seeded(4);
    let ids = Tensor2::<1, 70>::from_fn(|_| {
        (nn::init::uniform(&mut rng, 0.0, 13.0) as usize).min(12) as f32
    });
    let full = net.forward(&ids);
    let mut decoder = Decoder::new(&net);
    assert_eq!(decoder.steps(), 70);
    for (t, &id) in ids.as_slice().iter().enumerate() {
        let logits = decoder.step_token(id as usize).unwrap();
        close(logits, &full.as_slice()[t * 13..(t + 1) * 13])
            .unwrap_or_else(|e| panic!("step {t}: {e}"));
    }
    assert_eq!(decoder.position(), 70);

    // Full: an error, and the decoder starts over after `reset`, giving the first step again.
    assert_eq!(
        decoder.step_token(0).unwrap_err(),
        DecodeError::Full { steps: 70 }
    );
    decoder.reset();
    let first = decoder.step_token(ids.as_slice()[0] as usize).unwrap();
    close(first, &full.as_slice()[..13]).unwrap();
}

#[test]
fn a_sequence_of_features_decodes_step_by_step() {
    let net = FeatureDecoder::seeded(5);
    let x = nn::testing::random_tensor::<Tensor3<1, 5, 3>>(&mut seeded(6));
    let full = net.forward(&x);
    let mut decoder = Decoder::new(&net);
    for (t, step) in x.as_slice().chunks(3).enumerate() {
        let y = decoder.step(step).unwrap();
        close(y, &full.as_slice()[t * 2..(t + 1) * 2]).unwrap();
    }
    assert_eq!(
        decoder.step(&[0.0; 2]).unwrap_err(),
        DecodeError::Width {
            expected: 3,
            given: 2
        }
    );
}

#[test]
fn a_bad_token_is_an_error_that_names_it_and_changes_nothing() {
    let net = LongLm::seeded(3);
    let mut decoder = Decoder::new(&net);
    let first = decoder.step_token(5).unwrap().to_vec();
    let error = decoder.step_token(13).unwrap_err();
    assert_eq!(
        error.to_string(),
        "token 13 at sample 0, position 1 is not below the vocabulary size 13"
    );
    for bad in [-1.0, 2.5, f32::NAN] {
        assert!(matches!(decoder.step(&[bad]), Err(DecodeError::Token(_))));
    }
    assert_eq!(decoder.position(), 1);
    // The next good token continues the same sequence.
    let second = decoder.step_token(7).unwrap().to_vec();
    let ids = Tensor2::<1, 70>::from_fn(|[_, t]| [5.0, 7.0].get(t).copied().unwrap_or(0.0));
    let full = net.forward(&ids);
    close(&first, &full.as_slice()[..13]).unwrap();
    close(&second, &full.as_slice()[13..26]).unwrap();
}

#[test]
fn the_network_reports_its_step_sizes() {
    assert_eq!(<LongLm as Decode>::STEPS, 70);
    assert_eq!(<LongLm as Decode>::STEP_INPUTS, 1);
    assert_eq!(<LongLm as Decode>::STEP_OUTPUTS, 13);
    assert_eq!(<FeatureDecoder as Decode>::STEP_INPUTS, 3);
}

#[test]
fn an_encoder_decoder_decodes_against_its_memory() {
    let net = Translator::seeded(7);
    let id = |i: usize| (1 + (i * 7 + i * i) % 10) as f32;
    let sources: [Tensor2<1, 66>; 2] = [
        Tensor2::from_fn(|[_, i]| if i < 40 { id(i) } else { 0.0 }),
        Tensor2::from_fn(|[_, i]| if i % 5 == 2 { 0.0 } else { id(i + 3) }),
    ];
    let target = Tensor2::<1, 70>::from_fn(|[_, t]| ((t * 3 + 1) % 11) as f32);
    let mut decoder = Decoder::with_memory(&net, sources[0].as_slice()).unwrap();
    assert_eq!(<Translator as Decode>::MEMORY, 66);
    for (k, source) in sources.iter().enumerate() {
        if k > 0 {
            decoder.remember(source.as_slice()).unwrap();
        }
        let full = net.forward(source, &target);
        for (t, &id) in target.as_slice().iter().enumerate() {
            let logits = decoder.step_token(id as usize).unwrap();
            close(logits, &full.as_slice()[t * 11..(t + 1) * 11])
                .unwrap_or_else(|e| panic!("source {k}, step {t}: {e}"));
        }
    }
    // A memory of the wrong length or with a bad id is an error that changes nothing.
    assert_eq!(
        decoder.remember(&[1.0; 65]).unwrap_err(),
        DecodeError::MemoryWidth {
            expected: 66,
            given: 65
        }
    );
    let mut bad = sources[0].as_slice().to_vec();
    bad[3] = 11.0;
    assert_eq!(
        decoder.remember(&bad).unwrap_err().to_string(),
        "the memory's token 11 at position 3 is not below the vocabulary size 11"
    );
    assert_eq!(decoder.position(), 70);
}

#[test]
fn a_captioner_decodes_against_image_features() {
    let net = Captioner::seeded(8);
    let image = nn::testing::random_tensor::<Tensor3<1, 4, 5>>(&mut seeded(9));
    let text = Tensor2::<1, 6>::from_fn(|[_, t]| ((t * 5 + 2) % 11) as f32);
    let full = net.forward(&text, &image);
    let mut decoder = Decoder::with_memory(&net, image.as_slice()).unwrap();
    for (t, &id) in text.as_slice().iter().enumerate() {
        let logits = decoder.step_token(id as usize).unwrap();
        close(logits, &full.as_slice()[t * 11..(t + 1) * 11]).unwrap();
    }

    // A non-finite memory spreads as in the full forward: a NaN in every image row makes every
    // key's score NaN, and every logit NaN, step by step too (not a query that saw no key).
    let mut bad = image.clone();
    for row in bad.as_mut_slice().chunks_mut(5) {
        row[2] = f32::NAN;
    }
    let full = net.forward(&text, &bad);
    assert!(full.as_slice().iter().all(|v| v.is_nan()));
    decoder.remember(bad.as_slice()).unwrap();
    for &id in text.as_slice() {
        let logits = decoder.step_token(id as usize).unwrap();
        assert!(logits.iter().all(|v| v.is_nan()), "{logits:?}");
    }
}

#[test]
fn nested_blocks_decode_step_by_step() {
    let net = NestedLm::seeded(10);
    let ids = Tensor2::<1, 10>::from_fn(|[_, t]| ((t * 7 + 3) % 50) as f32);
    let full = net.forward(&ids);
    let mut decoder = Decoder::new(&net);
    for (t, &id) in ids.as_slice().iter().enumerate() {
        let logits = decoder.step_token(id as usize).unwrap();
        close(logits, &full.as_slice()[t * 50..(t + 1) * 50])
            .unwrap_or_else(|e| panic!("step {t}: {e}"));
    }
}
