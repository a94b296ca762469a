//! Networks with several named inputs: the generated code's gradients with respect to the
//! parameters and to every input pass a central-difference check, and a two-input network
//! learns a task that needs both inputs, which neither input alone can.

use nn::init::uniform;
use nn::prelude::*;
use nn::testing::{compare_gradients, random_tensor, weighted_loss};

network! {
    /// Each input read by two branches, one of them straight into the merge (`skip`), so the
    /// check covers summed input gradients and an input gradient that comes from a merge.
    pub struct Pair<
        input(image: 6),
        input(meta: 3),
        joined: fork {
            image => [dense(6 -> 4), tanh],
            again: image => [dense(6 -> 2), sigmoid],
            meta => [dense(3 -> 3), gelu],
            raw: meta => skip,
        } => concat,                                   // (4 + 2 + 3 + 3)
        head: dense(12 -> 2),
    >

    /// Inputs of other ranks, merged by `add`: a sequence and a flat vector.
    pub struct SequenceAndVector<
        input(steps: 3, 2),
        input(vector: 5),
        fork {
            steps => [gru(2 -> 3), last, dense(3 -> 4)],
            vector => [dense(5 -> 4), elu],
        } => add,
        tanh,
    >
}

/// Every parameter value of `net`, in visiting order, one `Vec` per tensor.
fn param_values<N: HasParams>(net: &mut N) -> Vec<Vec<f32>> {
    let mut values = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| values.push(p.value.to_vec()),
    );
    values
}

/// Every accumulated parameter gradient of `net`, one `Vec` per tensor, with its name.
fn param_grads<N: HasParams>(net: &mut N) -> Vec<(String, Vec<f32>)> {
    let mut grads = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| grads.push((format!("{path}"), p.grad.to_vec())),
    );
    grads
}

/// Sets element `i` of parameter tensor `t` of `net` to `value`.
fn set_param<N: HasParams>(net: &mut N, t: usize, i: usize, value: f32) {
    let mut seen = 0;
    net.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| {
            if seen == t {
                p.value[i] = value;
            }
            seen += 1;
        },
    );
}

/// The central difference of `loss` in every parameter of `net`, restoring each one.
fn numeric_param_grads<N: HasParams>(
    net: &mut N,
    mut loss: impl FnMut(&mut N) -> f64,
) -> Vec<Vec<f64>> {
    let step = nn::testing::STEP;
    param_values(net)
        .iter()
        .enumerate()
        .map(|(t, values)| {
            (0..values.len())
                .map(|i| {
                    set_param(net, t, i, values[i] + step);
                    let plus = loss(net);
                    set_param(net, t, i, values[i] - step);
                    let minus = loss(net);
                    set_param(net, t, i, values[i]);
                    (plus - minus) / (2.0 * f64::from(step))
                })
                .collect()
        })
        .collect()
}

/// The central difference of `loss` in every element of `x`.
fn numeric_input_grad<T: Tensor>(x: &T, mut loss: impl FnMut(&T) -> f64) -> Vec<f64> {
    let mut probe = T::zeros();
    probe.copy_from(x);
    nn::testing::numeric_gradient(probe.as_mut_slice(), |values| {
        let mut moved = T::zeros();
        moved.as_mut_slice().copy_from_slice(values);
        loss(&moved)
    })
}

#[test]
fn two_input_gradients_match_central_differences() {
    let mut rng = seeded(5);
    let mut net = Pair::new(&mut rng);
    let image = random_tensor::<Tensor2<3, 6>>(&mut rng);
    let meta = random_tensor::<Tensor2<3, 3>>(&mut rng);
    // The loss Σ y ⊙ r, whose gradient at the output is r.
    let r = random_tensor::<Tensor2<3, 2>>(&mut rng);
    let mut tape = PairTape::<3>::new();

    net.zero_grad();
    net.forward_train(&image, &meta, &mut tape);
    let grads = net.backward(&mut tape, &r);
    let (d_image, d_meta) = (
        grads.image.as_slice().to_vec(),
        grads.meta.as_slice().to_vec(),
    );
    assert!(d_image.iter().chain(&d_meta).any(|&g| g.abs() > 1e-3));

    let loss = |net: &mut Pair, image: &Tensor2<3, 6>, meta: &Tensor2<3, 3>| {
        let mut tape = PairTape::<3>::new();
        weighted_loss(
            net.forward_train(image, meta, &mut tape).as_slice(),
            r.as_slice(),
        )
    };
    let numeric_image = numeric_input_grad(&image, |x| loss(&mut net.clone(), x, &meta));
    let numeric_meta = numeric_input_grad(&meta, |m| loss(&mut net.clone(), &image, m));
    compare_gradients("image", &d_image, &numeric_image).unwrap();
    compare_gradients("meta", &d_meta, &numeric_meta).unwrap();

    let analytic = param_grads(&mut net);
    let numeric = numeric_param_grads(&mut net, |net| loss(net, &image, &meta));
    assert_eq!(analytic.len(), numeric.len());
    let mut checked = 0;
    for ((name, analytic), numeric) in analytic.iter().zip(&numeric) {
        compare_gradients(name, analytic, numeric).unwrap();
        checked += analytic.len();
    }
    assert_eq!(checked, Pair::PARAM_COUNT);

    // `backward_params` leaves the input gradients as they were, and `input_grads` shows them.
    let before = tape.input_grads().image.as_slice().to_vec();
    net.forward_train(&meta_as_image(&meta), &meta, &mut tape);
    net.backward_params(&mut tape, &r);
    assert_eq!(tape.input_grads().image.as_slice(), &before[..]);
}

/// Another image, for a second pass whose input gradients would differ.
fn meta_as_image(meta: &Tensor2<3, 3>) -> Tensor2<3, 6> {
    let mut image = Tensor2::<3, 6>::zeros();
    for (i, v) in image.as_mut_slice().iter_mut().enumerate() {
        *v = meta.as_slice()[i % 9] * 0.5;
    }
    image
}

#[test]
fn sequence_and_vector_gradients_match_central_differences() {
    let mut rng = seeded(9);
    let mut net = SequenceAndVector::new(&mut rng);
    let steps = random_tensor::<Tensor3<2, 3, 2>>(&mut rng);
    let vector = random_tensor::<Tensor2<2, 5>>(&mut rng);
    let r = random_tensor::<Tensor2<2, 4>>(&mut rng);
    let mut tape = SequenceAndVectorTape::<2>::new();
    net.zero_grad();
    net.forward_train(&steps, &vector, &mut tape);
    let grads = net.backward(&mut tape, &r);
    let (d_steps, d_vector) = (
        grads.steps.as_slice().to_vec(),
        grads.vector.as_slice().to_vec(),
    );

    let loss = |net: &mut SequenceAndVector, s: &Tensor3<2, 3, 2>, v: &Tensor2<2, 5>| {
        let mut tape = SequenceAndVectorTape::<2>::new();
        weighted_loss(net.forward_train(s, v, &mut tape).as_slice(), r.as_slice())
    };
    let numeric_steps = numeric_input_grad(&steps, |s| loss(&mut net.clone(), s, &vector));
    let numeric_vector = numeric_input_grad(&vector, |v| loss(&mut net.clone(), &steps, v));
    compare_gradients("steps", &d_steps, &numeric_steps).unwrap();
    compare_gradients("vector", &d_vector, &numeric_vector).unwrap();
    let analytic = param_grads(&mut net);
    let numeric = numeric_param_grads(&mut net, |net| loss(net, &steps, &vector));
    for ((name, analytic), numeric) in analytic.iter().zip(&numeric) {
        compare_gradients(name, analytic, numeric).unwrap();
    }
    // Eval mode gives the training forward's output for a network without dropout or batch norm.
    let y = net.forward(&steps, &vector);
    let mut train = SequenceAndVectorTape::<2>::new();
    assert_eq!(
        y.as_slice(),
        net.forward_train(&steps, &vector, &mut train).as_slice()
    );
}

// The synthetic task: target = f(image) + g(meta), where f is a smooth function of a
// 16-value "image" and g an offset chosen by a one-hot category. Either input alone leaves the
// other term's variance unexplained.
const IMAGE: usize = 16;
const CATEGORIES: usize = 4;
const BATCH: usize = 32;
const OFFSETS: [f32; CATEGORIES] = [-1.0, -0.3, 0.4, 1.0];

network! {
    /// Both inputs.
    struct Both<
        input(image: IMAGE),
        input(meta: CATEGORIES),
        fork {
            image => [dense(IMAGE -> 32), tanh],
            meta => [dense(CATEGORIES -> 8), tanh],
        } => concat,
        dense(40 -> 1),
    >

    /// The image alone.
    struct ImageOnly< dense(IMAGE -> 32), tanh, dense(32 -> 1) >

    /// The metadata alone.
    struct MetaOnly< dense(CATEGORIES -> 8), tanh, dense(8 -> 1) >
}

/// A batch of the task: images, one-hot categories and targets.
fn batch(
    rng: &mut Rng,
    weights: &[f32; IMAGE],
) -> (
    Tensor2<BATCH, IMAGE>,
    Tensor2<BATCH, CATEGORIES>,
    Tensor2<BATCH, 1>,
) {
    let mut image = Tensor2::<BATCH, IMAGE>::zeros();
    let mut meta = Tensor2::<BATCH, CATEGORIES>::zeros();
    let mut target = Tensor2::<BATCH, 1>::zeros();
    for b in 0..BATCH {
        let row = &mut image.as_mut_slice()[b * IMAGE..(b + 1) * IMAGE];
        for v in row.iter_mut() {
            *v = uniform(rng, -1.0, 1.0);
        }
        let projection: f32 = row.iter().zip(weights).map(|(x, w)| x * w).sum();
        let category = ((uniform(rng, 0.0, 1.0) * CATEGORIES as f32) as usize).min(CATEGORIES - 1);
        meta.as_mut_slice()[b * CATEGORIES + category] = 1.0;
        target.as_mut_slice()[b] = projection.tanh() + OFFSETS[category];
    }
    (image, meta, target)
}

/// One optimizer step.
fn step<N: HasParams>(adam: &mut Adam, net: &mut N) {
    adam.step(net)
        .expect("one optimizer per network, with a valid learning rate");
}

#[test]
fn a_two_input_network_learns_what_neither_input_alone_can() {
    let mut rng = seeded(3);
    let mut weights = [0.0f32; IMAGE];
    for w in &mut weights {
        *w = uniform(&mut rng, -0.6, 0.6);
    }
    let mut both = Both::seeded(1);
    let mut image_only = ImageOnly::seeded(1);
    let mut meta_only = MetaOnly::seeded(1);
    let (mut tape_both, mut tape_image, mut tape_meta) = (
        BothTape::<BATCH>::new(),
        ImageOnlyTape::<BATCH>::new(),
        MetaOnlyTape::<BATCH>::new(),
    );
    let (mut adam_both, mut adam_image, mut adam_meta) =
        (Adam::new(1e-2), Adam::new(1e-2), Adam::new(1e-2));
    let mut grad = Tensor2::<BATCH, 1>::zeros();
    let mut first_loss = None;
    for _ in 0..600 {
        let (image, meta, target) = batch(&mut rng, &weights);

        let y = both.forward_train(&image, &meta, &mut tape_both);
        let loss = mse(y, &target, &mut grad);
        first_loss.get_or_insert(loss);
        both.zero_grad();
        both.backward_params(&mut tape_both, &grad);
        step(&mut adam_both, &mut both);

        let y = image_only.forward_train(&image, &mut tape_image);
        mse(y, &target, &mut grad);
        image_only.zero_grad();
        image_only.backward_params(&mut tape_image, &grad);
        step(&mut adam_image, &mut image_only);

        let y = meta_only.forward_train(&meta, &mut tape_meta);
        mse(y, &target, &mut grad);
        meta_only.zero_grad();
        meta_only.backward_params(&mut tape_meta, &grad);
        step(&mut adam_meta, &mut meta_only);
    }

    // Held-out batches, in inference mode.
    let mut test_rng = seeded(99);
    let (mut l_both, mut l_image, mut l_meta) = (0.0, 0.0, 0.0);
    for _ in 0..8 {
        let (image, meta, target) = batch(&mut test_rng, &weights);
        l_both += mse(&both.forward(&image, &meta), &target, &mut grad);
        l_image += mse(&image_only.forward(&image), &target, &mut grad);
        l_meta += mse(&meta_only.forward(&meta), &target, &mut grad);
    }
    let (l_both, l_image, l_meta) = (l_both / 8.0, l_image / 8.0, l_meta / 8.0);
    let first = first_loss.unwrap_or(f32::NAN);
    // Either input alone leaves the other's variance: about 0.56 for the offsets, about 0.3
    // for tanh(w·x). (Seen: both 0.0006, image only 0.54, meta only 0.31, first batch 1.1.)
    assert!(
        l_image > 0.3 && l_meta > 0.15,
        "one input alone should not fit: image only {l_image}, meta only {l_meta}"
    );
    assert!(
        l_both < 0.05 * l_image.min(l_meta) && l_both < 0.01 * first,
        "both inputs {l_both} (first batch {first}) against image only {l_image}, meta only {l_meta}"
    );
}

#[test]
fn injected_gradients_and_points_work_with_several_inputs() {
    let mut rng = seeded(12);
    let mut net = Pair::new(&mut rng);
    let image = random_tensor::<Tensor2<2, 6>>(&mut rng);
    let meta = random_tensor::<Tensor2<2, 3>>(&mut rng);
    let dy = random_tensor::<Tensor2<2, 2>>(&mut rng);
    let extra = random_tensor::<Tensor2<2, 2>>(&mut rng);
    let mut tape = PairTape::<2>::new();

    // An extra gradient at the output point `head` is the same as adding it to `dy`.
    net.forward_train(&image, &meta, &mut tape);
    let joined: Tensor2<2, 12> = tape.outputs().joined.clone();
    let inject = PairInject {
        head: Some(&extra),
        ..Default::default()
    };
    let grads = net.backward_with(&mut tape, &dy, &inject);
    let injected = (grads.image.clone(), grads.meta.clone());
    let mut summed = Tensor2::<2, 2>::zeros();
    for ((s, a), b) in summed.iter_mut().zip(dy.iter()).zip(extra.iter()) {
        *s = a + b;
    }
    net.forward_train(&image, &meta, &mut tape);
    assert_eq!(tape.outputs().joined.as_slice(), joined.as_slice());
    let grads = net.backward(&mut tape, &summed);
    for (a, b) in injected.0.iter().zip(grads.image.iter()) {
        assert!((a - b).abs() < 1e-6, "image gradient {a} against {b}");
    }
    for (a, b) in injected.1.iter().zip(grads.meta.iter()) {
        assert!((a - b).abs() < 1e-6, "meta gradient {a} against {b}");
    }
    // The gradient at `joined` reaches both inputs: neither is all zero.
    assert!(injected.0.iter().any(|&g| g != 0.0) && injected.1.iter().any(|&g| g != 0.0));
}
