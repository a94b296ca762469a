//! Cross-attention, `fork { queries, keys/values } => multi_head_attention(D, heads = H)`: a
//! central-difference gradient check through generated networks (keys and values from one
//! branch, whose gradient is the sum of both uses, and from two; keys masked by their token
//! ids), PyTorch's parameter names, a network of two inputs where text attends to an image,
//! and an encoder-decoder whose padded source ids reach nothing.

use nn::prelude::*;
use nn::testing::{check_gradients, random_tensor};

network! {
    /// Queries: 5 steps; keys and values: one branch, the input read as 2 steps of 10.
    pub struct Shared<
        input(5, 4),
        cross: fork {
            q: [dense(4 -> 6), tanh],
            memory: [flatten, dense(20 -> 12), reshape(2, 6)],
        } => multi_head_attention(6, heads = 3),
        head: dense(6 -> 2),
    >

    /// Keys and values from branches of their own, and the queries straight from the input.
    pub struct Separate<
        input(3, 4),
        fork {
            q: skip,
            k: [dense(4 -> 4)],
            v: [layer_norm],
        } => multi_head_attention(4, heads = 2),
    >

    /// A caption model: 6 token ids attend to 4 steps of image features.
    pub struct Captioner<
        input(text: 6) tokens,
        input(image: 4, 5),
        cross: fork {
            text => [embedding(11 -> 8), positional(sinusoidal)],
            memory: image => [dense(5 -> 8)],
        } => multi_head_attention(8, heads = 2),
        head: dense(8 -> 11),
    >

    /// The keys masked by their token ids (`key_padding`), in a network of one input.
    pub struct PaddedKeys<
        input(6) tokens,
        embedding(9 -> 4),
        cross: fork {
            q: [dense(4 -> 4), tanh],
            memory: [layer_norm],
        } => multi_head_attention(4, heads = 2, key_padding = 0),
        head: dense(4 -> 3),
    >

    /// An encoder-decoder: the target's ids attend to the encoded source, padded with 0, whose
    /// padding neither the encoder's self-attention nor the cross-attention sees.
    pub struct Translator<
        input(source: 6) tokens,
        input(target: 4) tokens,
        cross: fork {
            target => [embedding(12 -> 8), positional(sinusoidal)],
            memory: source => [
                source_embed: embedding(12 -> 8),
                positional(sinusoidal),
                fork {
                    attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
                    skip: skip,
                } => add,
            ],
        } => multi_head_attention(8, heads = 2, key_padding = 0),
        head: dense(8 -> 12),
    >
}

#[test]
fn shared_keys_and_values_pass_a_gradient_check() {
    let mut net = Shared::seeded(1);
    let x = random_tensor::<Tensor3<2, 5, 4>>(&mut seeded(2));
    let checked = check_gradients::<_, 2>(&mut net, &x, 3).unwrap();
    assert_eq!(checked, 2 * 20 + Shared::PARAM_COUNT);
}

#[test]
fn separate_keys_and_values_pass_a_gradient_check() {
    let mut net = Separate::seeded(3);
    let x = random_tensor::<Tensor3<2, 3, 4>>(&mut seeded(4));
    let checked = check_gradients::<_, 2>(&mut net, &x, 5).unwrap();
    assert_eq!(checked, 2 * 12 + Separate::PARAM_COUNT);
}

#[test]
fn the_attention_is_named_after_its_fork_as_pytorch_names_it() {
    let mut net = Shared::seeded(0);
    let mut names = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| names.push((format!("{path}"), p.shape.to_vec())),
    );
    for (name, shape) in [
        ("cross.in_proj_weight", vec![18, 6]),
        ("cross.in_proj_bias", vec![18]),
        ("cross.out_proj.weight", vec![6, 6]),
        ("cross.out_proj.bias", vec![6]),
    ] {
        assert!(
            names.contains(&(name.to_string(), shape.clone())),
            "no `{name}` of {shape:?} in {names:?}"
        );
    }
    // An unnamed fork's attention is `attention_<position>`.
    let mut separate = Separate::seeded(0);
    let mut first = None;
    separate.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, _: Param<'_>| {
            let name = format!("{path}");
            if name.ends_with("in_proj_weight") {
                first.get_or_insert(name);
            }
        },
    );
    assert_eq!(first.as_deref(), Some("attention_1.in_proj_weight"));
}

#[test]
fn each_query_sees_every_key_and_only_its_own_row_of_queries() {
    let net = Captioner::seeded(5);
    let text = Tensor2::<1, 6>::from_fn(|[_, t]| (t * 2 % 11) as f32);
    let image = random_tensor::<Tensor3<1, 4, 5>>(&mut seeded(6));
    let y = net.forward(&text, &image);
    // A change in the image (the keys and values) reaches every step.
    let mut other = image.clone();
    other.as_mut_slice()[3 * 5] += 1.0;
    let z = net.forward(&text, &other);
    for t in 0..6 {
        let (a, b) = (&y.as_slice()[t * 11..][..11], &z.as_slice()[t * 11..][..11]);
        assert_ne!(a, b, "step {t} did not see the last image step");
    }
    // A change of one token reaches that step only: attention runs over the image, not the
    // other tokens.
    let mut edited = text.clone();
    edited.as_mut_slice()[2] = 7.0;
    let w = net.forward(&edited, &image);
    for t in 0..6 {
        let (a, b) = (&y.as_slice()[t * 11..][..11], &w.as_slice()[t * 11..][..11]);
        assert_eq!(a == b, t != 2, "step {t}");
    }
}

#[test]
fn padded_keys_pass_a_gradient_check() {
    let mut net = PaddedKeys::seeded(7);
    // Padding (0) inside and at the end of the first sample, none in the second.
    let ids =
        Tensor2::<2, 6>::from_slice(&[3.0, 0.0, 5.0, 8.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            .unwrap();
    let checked = nn::testing::check_param_gradients::<_, 2>(&mut net, &ids, 8).unwrap();
    assert_eq!(checked, PaddedKeys::PARAM_COUNT);
    let names: Vec<String> = {
        let mut names = Vec::new();
        net.visit_params(
            &ParamPath::root(),
            &mut |path: &ParamPath<'_>, _: Param<'_>| names.push(format!("{path}")),
        );
        names
    };
    assert!(
        names.contains(&"cross.in_proj_weight".to_string()),
        "{names:?}"
    );
}

#[test]
fn a_padded_source_id_reaches_nothing() {
    let net = Translator::seeded(9);
    let source = Tensor2::<1, 6>::from_slice(&[5.0, 3.0, 7.0, 0.0, 0.0, 0.0]).unwrap();
    let target = Tensor2::<1, 4>::from_slice(&[1.0, 4.0, 4.0, 2.0]).unwrap();
    let y = net.forward(&source, &target);
    assert!(y.iter().all(|v| v.is_finite()));

    // The padding id's embedding row feeds only padded steps: changing it changes nothing.
    let mut changed = net.clone();
    changed.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            if format!("{path}") == "source_embed.weight" {
                p.value[..8].iter_mut().for_each(|w| *w += 3.0);
            }
        },
    );
    assert_eq!(changed.forward(&source, &target), y);

    // An id that is not padding reaches every target step.
    let mut other = source.clone();
    other.as_mut_slice()[1] = 9.0;
    let z = net.forward(&other, &target);
    for t in 0..4 {
        assert_ne!(
            &y.as_slice()[t * 12..][..12],
            &z.as_slice()[t * 12..][..12],
            "step {t}"
        );
    }

    // A source of nothing but padding leaves each step the bias of the attention's output
    // projection: the same logits at every step with the same target id.
    let empty = Tensor2::<1, 6>::zeros();
    let target = Tensor2::<1, 4>::from_slice(&[2.0, 2.0, 2.0, 2.0]).unwrap();
    let w = net.forward(&empty, &target);
    for t in 1..4 {
        assert_eq!(
            &w.as_slice()[t * 12..][..12],
            &w.as_slice()[..12],
            "step {t}"
        );
    }
}
