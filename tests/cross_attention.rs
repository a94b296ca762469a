//! Cross-attention, `fork { queries, keys/values } => multi_head_attention(D, heads = H)`: a
//! central-difference gradient check through generated networks (keys and values from one
//! branch, whose gradient is the sum of both uses, and from two), PyTorch's parameter names,
//! and a network of two inputs where text attends to an image.

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
