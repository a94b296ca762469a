//! Generated transformer networks: token ids in, every attention kind, a central-difference
//! gradient check through the whole network, and causality end to end.

use nn::prelude::*;
use nn::testing::{check_gradients, check_param_gradients, random_tensor};

network! {
    /// A causal language model: 6 ids of a 11-symbol vocabulary, one pre-norm block.
    pub struct TinyLm<
        input(6) tokens,
        embed: embedding(11 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2, causal)],
            skip: skip,
        } => add,
        mlp: fork {
            ff: [rms_norm, dense(8 -> 12), gelu, dense(12 -> 8)],
            skip: skip,
        } => add,
        head: dense(8 -> 11),
    >

    /// A vision transformer on 1 x 6 x 6 images: 9 patches of 2 x 2.
    pub struct TinyVit<
        input(1, 6, 6),
        patches(2),
        embed: dense(4 -> 8),
        pos: positional(9, 8),
        fork { attn: [layer_norm, multi_head_attention(8, heads = 4)], skip: skip } => add,
        norm: layer_norm(eps = 1e-6),
        mean_pool,
        head: dense(8 -> 3),
    >
}

network! {
    /// Padding id 0: the (full, not causal) attention ignores the keys of padded steps.
    pub struct PaddedLm<
        input(8) tokens,
        embed: embedding(12 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
            skip: skip,
        } => add,
        head: dense(8 -> 12),
    >

    /// The same network over the 3 ids that are not padding.
    pub struct ShortLm<
        input(3) tokens,
        embed: embedding(12 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2)],
            skip: skip,
        } => add,
        head: dense(8 -> 12),
    >
}

network! {
    /// A sequence classifier over padded ids: the attention and the pool leave padding out.
    pub struct PaddedClassifier<
        input(8) tokens,
        embed: embedding(12 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
            skip: skip,
        } => add,
        norm: layer_norm,
        mean_pool(key_padding = 0),
        head: dense(8 -> 3),
    >

    /// The same classifier over the 3 ids that are not padding.
    pub struct ShortClassifier<
        input(3) tokens,
        embed: embedding(12 -> 8),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(8, heads = 2)],
            skip: skip,
        } => add,
        norm: layer_norm,
        mean_pool,
        head: dense(8 -> 3),
    >
}

network! {
    /// An LSTM over right-padded ids, read at each sequence's own end.
    pub struct PaddedRecurrent<
        input(8) tokens,
        embed: embedding(12 -> 6),
        rnn: lstm(6 -> 5),
        last(key_padding = 0),
        head: dense(5 -> 3),
    >

    /// The same LSTM over the 3 ids that are not padding.
    pub struct ShortRecurrent<
        input(3) tokens,
        embed: embedding(12 -> 6),
        rnn: lstm(6 -> 5),
        last,
        head: dense(5 -> 3),
    >
}

fn ids<const B: usize>(seed: u64) -> Tensor2<B, 6> {
    let mut rng = seeded(seed);
    Tensor2::from_fn(|_| (nn::init::uniform(&mut rng, 0.0, 11.0) as usize).min(10) as f32)
}

#[test]
fn language_model_passes_a_parameter_gradient_check() {
    let mut net = TinyLm::seeded(1);
    let checked = check_param_gradients::<_, 2>(&mut net, &ids(2), 3).unwrap();
    assert_eq!(checked, TinyLm::PARAM_COUNT);
}

#[test]
fn vision_transformer_passes_a_gradient_check() {
    let mut net = TinyVit::seeded(4);
    let x = random_tensor::<Tensor4<2, 1, 6, 6>>(&mut seeded(5));
    let checked = check_gradients::<_, 2>(&mut net, &x, 6).unwrap();
    assert_eq!(checked, 2 * 36 + TinyVit::PARAM_COUNT);
}

#[test]
fn a_causal_model_does_not_see_later_tokens() {
    let net = TinyLm::seeded(7);
    let mut tape = TinyLmTape::<1, Eval>::new();
    let before = ids::<1>(8);
    let mut after = before.clone();
    after.as_mut_slice()[4] = (after.as_slice()[4] + 1.0) % 11.0;
    let first = net.infer(&before, &mut tape).clone();
    let second = net.infer(&after, &mut tape).clone();
    // Steps 0..4 read tokens 0..=step only: bit for bit the same.
    assert_eq!(first.as_slice()[..4 * 11], second.as_slice()[..4 * 11]);
    assert_ne!(first.as_slice()[4 * 11..], second.as_slice()[4 * 11..]);
}

#[test]
fn parameter_names_follow_pytorch() {
    let mut names = Vec::new();
    TinyLm::seeded(0).visit_params_ref(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, _: ParamRef<'_>| names.push(format!("{path}")),
    );
    for name in [
        "embed.weight",
        "block.attn.1.in_proj_weight",
        "block.attn.1.in_proj_bias",
        "block.attn.1.out_proj.weight",
        "block.attn.1.out_proj.bias",
        "block.attn.0.weight",
        "mlp.ff.0.weight",
    ] {
        assert!(names.iter().any(|n| n == name), "no `{name}` in {names:?}");
    }
}

#[test]
fn a_token_outside_the_vocabulary_is_named_never_read() {
    let mut bad = ids::<3>(9);
    bad.as_mut_slice()[2 * 6 + 2] = 11.0;
    let error = nn::layers::Embedding::<6, 11, 8>::check(&bad).unwrap_err();
    assert_eq!((error.sample, error.position), (2, 2));
    assert!(error.to_string().contains("vocabulary size 11"), "{error}");
    // The network runs: the bad step and the later ones, which attend to it, are NaN; the
    // earlier steps of its sequence and the other sequences are untouched.
    let net = TinyLm::seeded(0);
    let mut tape = TinyLmTape::<3, Eval>::new();
    let y = net.infer(&bad, &mut tape).clone();
    let mut good = bad.clone();
    good.as_mut_slice()[2 * 6 + 2] = 3.0;
    let clean = net.infer(&good, &mut tape);
    let (before, from) = y.as_slice().split_at((2 * 6 + 2) * 11);
    for (a, b) in before.iter().zip(clean.as_slice()) {
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} against {b}");
    }
    assert!(from.iter().all(|v| v.is_nan()));
}

#[test]
fn fit_names_a_token_outside_the_vocabulary_before_training() {
    use nn::data::{Dataset, LastBatch, StepLabels};
    use nn::train::{CrossEntropy, Fit};
    assert_eq!(<TinyLm as Layer>::TOKEN_VOCAB, Some(11));
    assert_eq!(<TinyVit as Layer>::TOKEN_VOCAB, None);
    let mut ids: Vec<f32> = ids::<4>(10).as_slice().to_vec();
    ids[3 * 6 + 4] = 12.0;
    let labels = vec![1; 4 * 6];
    let data = Dataset::<Features<6>, StepLabels<6>>::per_step(ids, labels, 11).unwrap();
    let mut net = TinyLm::seeded(0);
    let before = nn::testing::state_bits(&net);
    let mut adam = Adam::new(1e-3);
    let error = Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(1)
        .run(data.shuffled_batches::<2>(LastBatch::Drop, 0).unwrap())
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("token 12 at sample 3, position 4"),
        "{message}"
    );
    // Nothing trained on it.
    assert_eq!(nn::testing::state_bits(&net), before);
}

#[test]
fn evaluate_and_predict_name_a_token_outside_the_vocabulary() {
    use nn::data::{Dataset, LastBatch, StepLabels};
    use nn::train::{CrossEntropy, evaluate, predict};
    let mut ids: Vec<f32> = ids::<2>(11).as_slice().to_vec();
    ids[6 + 1] = -1.0;
    let data = Dataset::<Features<6>, StepLabels<6>>::per_step(ids, vec![0; 12], 11).unwrap();
    let net = TinyLm::seeded(0);
    let mut batches = data.sequential_batches::<2>(LastBatch::Pad).unwrap();
    let error = predict(&net, &mut batches).unwrap_err().to_string();
    assert!(error.contains("sample 1, position 1"), "{error}");
    let error = evaluate(&net, &mut batches, &CrossEntropy, &mut [])
        .unwrap_err()
        .to_string();
    assert!(error.contains("sample 1, position 1"), "{error}");
}

#[test]
fn a_padded_model_passes_a_parameter_gradient_check() {
    let mut net = PaddedLm::seeded(2);
    let ids = Tensor2::<2, 8>::from_slice(&[
        4.0, 0.0, 7.0, 2.0, 9.0, 0.0, 0.0, 0.0, //
        0.0, 3.0, 3.0, 11.0, 1.0, 5.0, 6.0, 8.0,
    ])
    .unwrap();
    let checked = check_param_gradients::<_, 2>(&mut net, &ids, 3).unwrap();
    assert_eq!(checked, PaddedLm::PARAM_COUNT);
}

/// Gives `to` the parameters of `from`, tensor by tensor in declaration order (two networks
/// that differ only in their sequence length or masks).
fn copy_params(from: &(impl HasParams + Clone), to: &mut impl HasParams) {
    let mut values = Vec::new();
    from.clone().visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| values.push(p.value.to_vec()),
    );
    let mut next = values.into_iter();
    to.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| p.value.copy_from_slice(&next.next().unwrap()),
    );
}

/// The ids `[5, 2, 9]` followed by five padding ids (0), and the same three ids alone.
fn padded_and_short_ids() -> (Tensor2<1, 8>, Tensor2<1, 3>) {
    let padded = Tensor2::from_slice(&[5.0, 2.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
    (padded, Tensor2::from_slice(&[5.0, 2.0, 9.0]).unwrap())
}

/// Asserts that `got` and `want` have the same length and agree within 1e-5, value by value.
fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() < 1e-5, "{a} against {b}");
    }
}

#[test]
fn padding_ids_are_invisible_to_the_other_steps() {
    let padded = PaddedLm::seeded(6);
    let mut short = ShortLm::seeded(0);
    copy_params(&padded, &mut short);
    // Left-aligned ids and a padded tail: the first 3 steps give the short network's logits.
    let (ids, three_ids) = padded_and_short_ids();
    let long = padded.forward(&ids);
    assert_close(
        &long.as_slice()[..3 * 12],
        short.forward(&three_ids).as_slice(),
    );
    // Without the mask the real steps would attend to the padding: the ids after them matter.
    let filled = Tensor2::<1, 8>::from_slice(&[5.0, 2.0, 9.0, 1.0, 1.0, 1.0, 1.0, 1.0]).unwrap();
    assert_ne!(
        padded.forward(&filled).as_slice()[..12],
        long.as_slice()[..12]
    );
}

#[test]
fn a_padded_pool_passes_a_parameter_gradient_check() {
    let mut net = PaddedClassifier::seeded(8);
    let ids = Tensor2::<2, 8>::from_slice(&[
        4.0, 0.0, 7.0, 2.0, 9.0, 0.0, 0.0, 0.0, //
        1.0, 3.0, 3.0, 11.0, 1.0, 5.0, 6.0, 8.0,
    ])
    .unwrap();
    let checked = check_param_gradients::<_, 2>(&mut net, &ids, 9).unwrap();
    assert_eq!(checked, PaddedClassifier::PARAM_COUNT);
}

#[test]
fn a_padded_tail_changes_no_class_score() {
    let padded = PaddedClassifier::seeded(10);
    let mut short = ShortClassifier::seeded(0);
    copy_params(&padded, &mut short);
    let (ids, three_ids) = padded_and_short_ids();
    assert_close(
        padded.forward(&ids).as_slice(),
        short.forward(&three_ids).as_slice(),
    );
    // A plain `mean_pool` would average the five padding steps in, and the scores differ.
}

#[test]
fn the_last_step_that_is_not_padding_is_the_short_sequences_last() {
    let padded = PaddedRecurrent::seeded(12);
    let mut short = ShortRecurrent::seeded(0);
    copy_params(&padded, &mut short);
    let (ids, three_ids) = padded_and_short_ids();
    assert_close(
        padded.forward(&ids).as_slice(),
        short.forward(&three_ids).as_slice(),
    );
}

#[test]
fn a_padded_last_passes_a_parameter_gradient_check() {
    let mut net = PaddedRecurrent::seeded(13);
    let ids = Tensor2::<2, 8>::from_slice(&[
        4.0, 7.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, //
        1.0, 3.0, 3.0, 11.0, 1.0, 5.0, 6.0, 8.0,
    ])
    .unwrap();
    let checked = check_param_gradients::<_, 2>(&mut net, &ids, 14).unwrap();
    assert_eq!(checked, PaddedRecurrent::PARAM_COUNT);
}
