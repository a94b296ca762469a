//! After warm-up, a training step (training forward + loss + backward + optimizer step), an
//! inference call and filling a batch from a dataset allocate nothing, not even temporarily:
//! the matmul kernels read their operands in place and need no packing buffer.
//! `allocation-counter` installs a counting global allocator and counts per thread.
//!
//! The steps run on every core (the `threading` feature is on by default): the pool's workers
//! start during warm-up, and a split after that allocates nothing on the calling thread. The
//! workers themselves only run the kernels a split hands them, on the caller's buffers.

use nn::prelude::*;

network! {
    /// The MNIST MLP.
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

network! {
    /// Every activation, and an optimizer with momentum state.
    pub struct Mixed< dense(16 -> 8), tanh, dense(8 -> 8), sigmoid, leaky_relu(0.1), dense(8 -> 4), softmax >
}

network! {
    /// A small CNN with every vision layer: conv, batch norm, pools, dropout, upsampling.
    pub struct Cnn<
        input(1, 12, 12),
        conv1: conv2d(1 -> 6, kernel = 3, padding = 1), batch_norm, relu, max_pool(2),
        conv2: conv2d(6 -> 8, kernel = 3, stride = 2, padding = 1, floor), relu,
        upsample(2, bilinear), avg_pool(2), upsample(2), global_avg_pool,
        batch_norm, dropout(0.3),
        head: dense(8 -> 10),
    >
}

network! {
    /// Sequential MNIST's shape, smaller: an LSTM over the rows, its last state, a dense head.
    pub struct Recurrent< input(7, 5), lstm: lstm(5 -> 8), gru(8 -> 6), rnn(6 -> 6, relu), dense(6 -> 6), last, head: dense(6 -> 3) >
}

network! {
    /// A causal transformer over token ids, and a vision transformer over patches: every
    /// attention kind, with 70 steps so that attention crosses its 64-key tile.
    pub struct Lm<
        input(70) tokens,
        embed: embedding(11 -> 8),
        positional(sinusoidal),
        fork { attn: [layer_norm, multi_head_attention(8, heads = 2, causal)], skip: skip } => add,
        fork { mlp: [rms_norm, dense(8 -> 16), gelu, dense(16 -> 8)], skip: skip } => add,
        head: dense(8 -> 11),
    >

    pub struct Vit<
        input(1, 8, 8),
        patches(2),
        embed: dense(4 -> 8),
        positional(16, 8),
        fork { attn: [layer_norm, multi_head_attention(8, heads = 4)], skip: skip } => add,
        mean_pool,
        head: dense(8 -> 3),
    >
}

fn train_step<const B: usize>(
    net: &mut Mlp,
    adam: &mut Adam,
    x: &Tensor2<B, 784>,
    labels: &[usize; B],
    tape: &mut MlpTape<B>,
    grad: &mut Tensor2<B, 10>,
) -> f32 {
    let logits = net.forward_train(x, tape);
    let loss = softmax_cross_entropy(logits, labels, grad).expect("labels are below 10");
    net.zero_grad();
    net.backward_params(tape, grad);
    adam.step(net)
        .expect("one optimizer per model, with a valid learning rate");
    loss
}

#[test]
fn mlp_training_step_and_inference_allocate_nothing() {
    let mut net = Mlp::seeded(0);
    let mut adam = Adam::new(1e-3);
    let x = Tensor2::<64, 784>::from_fn(|[r, c]| ((r * 31 + c * 7) % 255) as f32 / 255.0);
    let labels: [usize; 64] = std::array::from_fn(|i| i % 10);
    let mut tape = MlpTape::<64>::new();
    let mut grad = Tensor2::<64, 10>::zeros();
    let mut tape1 = MlpTape::<1, Eval>::new();
    let mut eval_tape = MlpTape::<64, Eval>::new();
    let one = Tensor2::<1, 784>::full(0.5);

    // Every core, whatever NN_THREADS says.
    nn::linalg::threads::set_default_threads(nn::linalg::threads::available())
        .expect("at least one core");
    // Warm-up: Adam allocates its moments on the first step, and the first split starts the
    // pool's workers.
    let first = train_step(&mut net, &mut adam, &x, &labels, &mut tape, &mut grad);

    let steps = 3;
    let mut last = first;
    let training = allocation_counter::measure(|| {
        for _ in 0..steps {
            last = train_step(&mut net, &mut adam, &x, &labels, &mut tape, &mut grad);
        }
    });
    assert_eq!(
        training.count_total, 0,
        "a training step allocated: {training:?}"
    );
    assert!(
        last < first,
        "training should lower the loss ({first} -> {last})"
    );

    let batch64 = allocation_counter::measure(|| {
        let _ = std::hint::black_box(net.infer(&x, &mut eval_tape));
    });
    assert_eq!(
        batch64.count_total, 0,
        "batch-64 inference allocated: {batch64:?}"
    );

    let batch1 = allocation_counter::measure(|| {
        let _ = std::hint::black_box(net.infer(&one, &mut tape1));
    });
    assert_eq!(
        batch1.count_total, 0,
        "batch-1 inference allocated: {batch1:?}"
    );

    // The counter does see our own allocations: the convenience `forward` makes a tape.
    let allocating = allocation_counter::measure(|| {
        let _ = std::hint::black_box(net.forward(&one));
    });
    assert!(allocating.count_total > 0, "{allocating:?}");
}

#[test]
fn cnn_training_step_and_inference_allocate_nothing() {
    let mut net = Cnn::seeded(3);
    let mut adam = Adam::new(1e-3);
    let x =
        Tensor4::<16, 1, 12, 12>::from_fn(|[b, _, h, w]| ((b * 7 + h * 3 + w) % 11) as f32 / 11.0);
    let labels: [usize; 16] = std::array::from_fn(|i| i % 10);
    let mut tape = CnnTape::<16>::new();
    let mut eval_tape = CnnTape::<16, Eval>::new();
    let mut tape1 = CnnTape::<1, Eval>::new();
    let one = Tensor4::<1, 1, 12, 12>::full(0.5);
    let mut grad = Tensor2::<16, 10>::zeros();
    let mut step = |net: &mut Cnn| {
        let logits = net.forward_train(&x, &mut tape);
        let loss = softmax_cross_entropy(logits, &labels, &mut grad).expect("labels below 10");
        net.zero_grad();
        net.backward_params(&mut tape, &grad);
        adam.step(net)
            .expect("one optimizer per model, with a valid learning rate");
        loss
    };
    step(&mut net); // warm-up: Adam allocates its moments
    let training = allocation_counter::measure(|| {
        for _ in 0..3 {
            step(&mut net);
        }
    });
    assert_eq!(
        training.count_total, 0,
        "a CNN training step allocated: {training:?}"
    );
    let inference = allocation_counter::measure(|| {
        let _ = std::hint::black_box(net.infer(&x, &mut eval_tape));
        let _ = std::hint::black_box(net.infer(&one, &mut tape1));
    });
    assert_eq!(
        inference.count_total, 0,
        "CNN inference allocated: {inference:?}"
    );
}

#[test]
fn lstm_training_step_and_inference_allocate_nothing() {
    let mut net = Recurrent::seeded(5);
    let mut adam = Adam::new(1e-3);
    let x = Tensor3::<8, 7, 5>::from_fn(|[b, t, f]| ((b * 5 + t * 3 + f) % 7) as f32 / 7.0);
    let labels: [usize; 8] = std::array::from_fn(|i| i % 3);
    let mut tape = RecurrentTape::<8>::new();
    let mut eval_tape = RecurrentTape::<8, Eval>::new();
    let mut tape1 = RecurrentTape::<1, Eval>::new();
    let one = Tensor3::<1, 7, 5>::full(0.5);
    let mut grad = Tensor2::<8, 3>::zeros();
    let mut step = |net: &mut Recurrent| {
        let logits = net.forward_train(&x, &mut tape);
        let loss = softmax_cross_entropy(logits, &labels, &mut grad).expect("labels below 3");
        net.zero_grad();
        net.backward_params(&mut tape, &grad);
        clip_grad_norm(net, 1.0);
        adam.step(net)
            .expect("one optimizer per model, with a valid learning rate");
        loss
    };
    step(&mut net); // warm-up: Adam allocates its moments
    let training = allocation_counter::measure(|| {
        for _ in 0..3 {
            step(&mut net);
        }
    });
    assert_eq!(
        training.count_total, 0,
        "an LSTM training step allocated: {training:?}"
    );
    let inference = allocation_counter::measure(|| {
        let _ = std::hint::black_box(net.infer(&x, &mut eval_tape));
        let _ = std::hint::black_box(net.infer(&one, &mut tape1));
    });
    assert_eq!(
        inference.count_total, 0,
        "LSTM inference allocated: {inference:?}"
    );
}

#[test]
fn every_layer_kind_and_sgd_momentum_allocate_nothing() {
    let mut net = Mixed::seeded(1);
    let mut sgd = Sgd::with_momentum(0.1, 0.9);
    let x = Tensor2::<8, 16>::full(0.25);
    let target = Tensor2::<8, 4>::full(0.25);
    let mut tape = MixedTape::<8>::new();
    let mut grad = Tensor2::<8, 4>::zeros();
    let mut step = |net: &mut Mixed| {
        let y = net.forward_train(&x, &mut tape);
        mse(y, &target, &mut grad);
        net.zero_grad();
        let _ = net.backward(&mut tape, &grad);
        sgd.step(net)
            .expect("one optimizer per model, with a valid learning rate");
    };
    step(&mut net);
    let info = allocation_counter::measure(|| step(&mut net));
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn activations_losses_and_optimizers_allocate_nothing() {
    let relu = Relu::<Features<32>>::default();
    let mut softmax = Softmax::<32>;
    let x = Tensor2::<16, 32>::from_fn(|[r, c]| (r as f32 - c as f32) / 8.0);
    let mut y = Tensor2::<16, 32>::zeros();
    let mut dx = Tensor2::<16, 32>::zeros();
    let mut grad = Tensor2::<16, 32>::zeros();
    let labels: [usize; 16] = std::array::from_fn(|i| i);
    let mut rng = seeded(0);
    let mut dense = Dense::<1, 1>::new(&mut rng);
    let mut adam = Adam::new(0.1);
    adam.step(&mut dense)
        .expect("one optimizer per model, with a valid learning rate"); // warm-up: allocates the moments
    let info = allocation_counter::measure(|| {
        relu.forward(&x, &mut y, &mut ());
        Layer::backward(&mut softmax, &x, &y, &mut (), &x, Some(&mut dx));
        let _ = softmax_cross_entropy(&y, &labels, &mut grad);
        let _ = binary_cross_entropy_with_logits(&x, &y, &mut grad);
        let _ = mse(&x, &y, &mut grad);
        let _ = accuracy(&y, &labels);
        adam.step(&mut dense)
            .expect("one optimizer per model, with a valid learning rate");
    });
    assert_eq!(info.count_total, 0, "{info:?}");
}

#[test]
fn filling_image_and_sequence_batches_allocates_nothing() {
    use nn::data::{Batch, Batches, Dataset, LastBatch};
    let images = Dataset::<Shape3<1, 4, 4>>::new(vec![0.5; 10 * 16], vec![1; 10], 2).unwrap();
    let sequences = Dataset::<Shape2<3, 2>>::new(vec![0.5; 10 * 6], vec![0; 10], 2).unwrap();
    let mut image_batches = Batches::<4, _>::shuffled(&images, LastBatch::Pad, 0).unwrap();
    let mut sequence_batches = Batches::<4, _>::shuffled(&sequences, LastBatch::Drop, 0)
        .unwrap()
        .repeat();
    let (mut image_batch, mut sequence_batch) = (Batch::new(), Batch::new());
    // Several passes, so reshuffling at the start of a pass is measured too.
    let info = allocation_counter::measure(|| {
        for _ in 0..10 {
            let _ = image_batches.fill_next(&mut image_batch);
            sequence_batches.fill_next(&mut sequence_batch).unwrap();
        }
    });
    assert_eq!(info.count_total, 0, "{info:?}");
    let _: (&Tensor4<4, 1, 4, 4>, &Tensor3<4, 3, 2>) =
        (image_batch.inputs(), sequence_batch.inputs());
}

#[test]
fn transformer_training_step_and_inference_allocate_nothing() {
    let mut lm = Lm::seeded(3);
    let mut vit = Vit::seeded(4);
    let mut adam = Adam::new(1e-3);
    let mut adam_vit = Adam::new(1e-3);
    let ids = Tensor2::<4, 70>::from_fn(|[b, t]| ((b * 7 + t * 3) % 11) as f32);
    let images = Tensor4::<4, 1, 8, 8>::from_fn(|[b, _, r, c]| ((b + r * c) % 5) as f32 / 5.0);
    let (mut tape, mut eval) = (LmTape::<4>::new(), LmTape::<4, Eval>::new());
    let (mut vit_tape, mut vit_eval) = (VitTape::<4>::new(), VitTape::<4, Eval>::new());
    let dy = Tensor3::<4, 70, 11>::full(0.01);
    let dy_vit = Tensor2::<4, 3>::full(0.1);
    let mut step = |lm: &mut Lm, vit: &mut Vit| {
        lm.forward_train(&ids, &mut tape);
        lm.zero_grad();
        lm.backward_params(&mut tape, &dy);
        adam.step(lm).expect("one optimizer per model");
        vit.forward_train(&images, &mut vit_tape);
        vit.zero_grad();
        vit.backward_params(&mut vit_tape, &dy_vit);
        adam_vit.step(vit).expect("one optimizer per model");
    };
    step(&mut lm, &mut vit); // warm-up: Adam allocates its moments
    let training = allocation_counter::measure(|| {
        for _ in 0..2 {
            step(&mut lm, &mut vit);
        }
    });
    assert_eq!(
        training.count_total, 0,
        "a transformer training step allocated: {training:?}"
    );
    let inference = allocation_counter::measure(|| {
        let _ = std::hint::black_box(lm.infer(&ids, &mut eval));
        let _ = std::hint::black_box(vit.infer(&images, &mut vit_eval));
    });
    assert_eq!(
        inference.count_total, 0,
        "transformer inference allocated: {inference:?}"
    );
    // Decoding step by step: the key/value cache is allocated by `Decoder::new`, a step
    // allocates nothing, nor does an error or a reset.
    let mut decoder = nn::layers::Decoder::new(&lm);
    let decoding = allocation_counter::measure(|| {
        for t in 0..70 {
            let _ = std::hint::black_box(decoder.step_token(t % 11));
        }
        assert!(decoder.step_token(0).is_err());
        decoder.reset();
        let _ = std::hint::black_box(decoder.step_token(3));
    });
    assert_eq!(
        decoding.count_total, 0,
        "a decode step allocated: {decoding:?}"
    );
}
