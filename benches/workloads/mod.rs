//! Workloads shared by the `training` bench and the `perf_probe` of `benches/compare/`.
//!
//! Both include this file with `#[path]`, so the criterion figures and the PyTorch comparison
//! time exactly the same code. Every input is seeded synthetic data; MNIST is not needed to time
//! an epoch, only inputs of its shape.
#![allow(
    dead_code,
    reason = "each bench that includes this file uses a different subset"
)]

use nn::prelude::*;

network! {
    /// The MNIST MLP of the design's reference figures: 784-128-10 with a ReLU.
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

network! {
    /// Keras' "celsius to fahrenheit": one neuron.
    pub struct Celsius< fc: dense(1 -> 1) >
}

network! {
    /// LeNet-5 as PyTorch tutorials write it, on MNIST-shaped `(1, 28, 28)` images: two conv
    /// blocks (valid 5×5 convs, ReLU, 2×2 max pools), then 256-120-84-10 with ReLUs.
    pub struct LeNet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5), relu, max_pool(2),
        flatten,
        fc1: dense(256 -> 120), relu,
        fc2: dense(120 -> 84), relu,
        fc3: dense(84 -> 10),
    >
}

network! {
    /// Sequential MNIST's network: each image as 28 steps of 28 pixels, an LSTM of 128 units,
    /// its final state, a dense head (`examples/mnist_lstm.rs`).
    pub struct SeqLstm<
        input(28, 28),
        lstm: lstm(28 -> 128),
        last,
        head: dense(128 -> 10),
    >
}

network! {
    /// One pre-norm transformer encoder layer: PyTorch's
    /// `TransformerEncoderLayer(64, 4, dim_feedforward=256, dropout=0, activation="relu",
    /// batch_first=True, norm_first=True)`, on sequences of 64 steps.
    pub struct EncoderLayer<
        input(64, 64),
        attn: fork { attn: [layer_norm, multi_head_attention(64, heads = 4)], skip: skip } => add,
        ff: fork { ff: [layer_norm, dense(64 -> 256), relu, dense(256 -> 64)], skip: skip } => add,
    >

    /// The same layer with causal attention, which decodes one step at a time with a
    /// key/value cache (`nn::layers::Decoder`).
    pub struct CausalEncoderLayer<
        input(64, 64),
        attn: fork { attn: [layer_norm, multi_head_attention(64, heads = 4, causal)], skip: skip } => add,
        ff: fork { ff: [layer_norm, dense(64 -> 256), relu, dense(256 -> 64)], skip: skip } => add,
    >
}

/// The training batch size.
pub const BATCH: usize = 64;
/// Samples in one synthetic epoch (MNIST's training-set size).
pub const EPOCH_SAMPLES: usize = 60_000;
/// Adam's learning rate for the MLP.
pub const MLP_LR: f32 = 1e-3;

/// `samples` seeded images of 784 pixels in `[0, 1)`, flat, and their labels in `0..10`.
pub fn synthetic(samples: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = nn::init::seeded(seed);
    let pixels = (0..samples * Mlp::INPUTS)
        .map(|_| nn::init::uniform(&mut rng, 0.0, 1.0))
        .collect();
    let labels = (0..samples)
        .map(|_| (nn::init::uniform(&mut rng, 0.0, 10.0) as usize).min(9))
        .collect();
    (pixels, labels)
}

/// The MLP with everything one training step at batch `B` needs, made once.
pub struct Trainer<const B: usize = BATCH> {
    /// The network.
    pub net: Mlp,
    tape: MlpTape<B>,
    x: Tensor2<B, 784>,
    labels: [usize; B],
    dlogits: Tensor2<B, 10>,
    adam: Adam,
}

impl<const B: usize> Trainer<B> {
    /// A seeded network and Adam (lr 1e-3).
    pub fn new(seed: u64) -> Self {
        Self {
            net: Mlp::seeded(seed),
            tape: MlpTape::new(),
            x: Tensor2::zeros(),
            labels: [0; B],
            dlogits: Tensor2::zeros(),
            adam: Adam::new(MLP_LR),
        }
    }

    /// One Adam step on batch number `index` of `(pixels, labels)`; returns the loss.
    pub fn step(&mut self, pixels: &[f32], labels: &[usize], index: usize) -> f32 {
        let rows = index * B..(index + 1) * B;
        self.x
            .as_mut_slice()
            .copy_from_slice(&pixels[rows.start * Mlp::INPUTS..rows.end * Mlp::INPUTS]);
        self.labels.copy_from_slice(&labels[rows]);
        let logits = self.net.forward_train(&self.x, &mut self.tape);
        let loss = softmax_cross_entropy(logits, &self.labels, &mut self.dlogits)
            .expect("synthetic labels are below 10");
        self.net.zero_grad();
        self.net.backward_params(&mut self.tape, &self.dlogits);
        self.adam
            .step(&mut self.net)
            .expect("one optimizer per model, with a valid learning rate");
        loss
    }

    /// One epoch: every full batch of `(pixels, labels)` in order; returns the last loss.
    pub fn epoch(&mut self, pixels: &[f32], labels: &[usize]) -> f32 {
        let mut loss = 0.0;
        for index in 0..labels.len() / B {
            loss = self.step(pixels, labels, index);
        }
        loss
    }
}

/// LeNet with everything one training step at batch `B` needs, made once: the CNN twin of
/// [`Trainer`] (softmax cross-entropy, Adam 1e-3, batches taken in order).
pub struct LeNetTrainer<const B: usize = BATCH> {
    /// The network.
    pub net: LeNet,
    tape: LeNetTape<B>,
    x: Tensor4<B, 1, 28, 28>,
    labels: [usize; B],
    dlogits: Tensor2<B, 10>,
    adam: Adam,
}

impl<const B: usize> LeNetTrainer<B> {
    /// A seeded network and Adam (lr 1e-3).
    pub fn new(seed: u64) -> Self {
        Self {
            net: LeNet::seeded(seed),
            tape: LeNetTape::new(),
            x: Tensor4::zeros(),
            labels: [0; B],
            dlogits: Tensor2::zeros(),
            adam: Adam::new(MLP_LR),
        }
    }

    /// One Adam step on batch number `index` of `(pixels, labels)` (784 pixels per image, as
    /// [`synthetic`] makes them); returns the loss.
    pub fn step(&mut self, pixels: &[f32], labels: &[usize], index: usize) -> f32 {
        let rows = index * B..(index + 1) * B;
        self.x
            .as_mut_slice()
            .copy_from_slice(&pixels[rows.start * LeNet::INPUTS..rows.end * LeNet::INPUTS]);
        self.labels.copy_from_slice(&labels[rows]);
        let logits = self.net.forward_train(&self.x, &mut self.tape);
        let loss = softmax_cross_entropy(logits, &self.labels, &mut self.dlogits)
            .expect("synthetic labels are below 10");
        self.net.zero_grad();
        self.net.backward_params(&mut self.tape, &self.dlogits);
        self.adam
            .step(&mut self.net)
            .expect("one optimizer per model, with a valid learning rate");
        loss
    }

    /// One epoch: every full batch of `(pixels, labels)` in order; returns the last loss.
    pub fn epoch(&mut self, pixels: &[f32], labels: &[usize]) -> f32 {
        let mut loss = 0.0;
        for index in 0..labels.len() / B {
            loss = self.step(pixels, labels, index);
        }
        loss
    }
}

/// The sequential-MNIST LSTM with everything one training step at batch `B` needs, made once
/// (softmax cross-entropy, Adam 1e-3, batches taken in order, no clipping).
pub struct LstmTrainer<const B: usize = BATCH> {
    /// The network.
    pub net: SeqLstm,
    tape: SeqLstmTape<B>,
    x: Tensor3<B, 28, 28>,
    labels: [usize; B],
    dlogits: Tensor2<B, 10>,
    adam: Adam,
}

impl<const B: usize> LstmTrainer<B> {
    /// A seeded network and Adam (lr 1e-3).
    pub fn new(seed: u64) -> Self {
        Self {
            net: SeqLstm::seeded(seed),
            tape: SeqLstmTape::new(),
            x: Tensor3::zeros(),
            labels: [0; B],
            dlogits: Tensor2::zeros(),
            adam: Adam::new(MLP_LR),
        }
    }

    /// One Adam step on batch number `index` of `(pixels, labels)`; returns the loss.
    pub fn step(&mut self, pixels: &[f32], labels: &[usize], index: usize) -> f32 {
        let rows = index * B..(index + 1) * B;
        self.x
            .as_mut_slice()
            .copy_from_slice(&pixels[rows.start * SeqLstm::INPUTS..rows.end * SeqLstm::INPUTS]);
        self.labels.copy_from_slice(&labels[rows]);
        let logits = self.net.forward_train(&self.x, &mut self.tape);
        let loss = softmax_cross_entropy(logits, &self.labels, &mut self.dlogits)
            .expect("synthetic labels are below 10");
        self.net.zero_grad();
        self.net.backward_params(&mut self.tape, &self.dlogits);
        self.adam
            .step(&mut self.net)
            .expect("one optimizer per model, with a valid learning rate");
        loss
    }

    /// One epoch: every full batch of `(pixels, labels)` in order; returns the last loss.
    pub fn epoch(&mut self, pixels: &[f32], labels: &[usize]) -> f32 {
        let mut loss = 0.0;
        for index in 0..labels.len() / B {
            loss = self.step(pixels, labels, index);
        }
        loss
    }
}

/// The celsius tutorial's data.
pub const CELSIUS: [f32; 7] = [-40.0, -10.0, 0.0, 8.0, 15.0, 22.0, 38.0];
/// Its targets.
pub const FAHRENHEIT: [f32; 7] = [-40.0, 14.0, 32.0, 46.0, 59.0, 72.0, 100.0];

/// The celsius tutorial end to end: a fresh one-neuron network, 500 full-batch Adam steps
/// (lr 0.1) of MSE. Returns the final weight and bias.
pub fn celsius_500(seed: u64) -> (f32, f32) {
    let x = Tensor2::<7, 1>::from_slice(&CELSIUS).expect("7 inputs");
    let y = Tensor2::<7, 1>::from_slice(&FAHRENHEIT).expect("7 targets");
    let mut net = Celsius::seeded(seed);
    let mut tape = CelsiusTape::<7>::new();
    let mut dy = Tensor2::<7, 1>::zeros();
    let mut adam = Adam::new(0.1);
    for _ in 0..500 {
        let out = net.forward_train(&x, &mut tape);
        mse(out, &y, &mut dy);
        net.zero_grad();
        net.backward_params(&mut tape, &dy);
        adam.step(&mut net)
            .expect("one optimizer per model, with a valid learning rate");
    }
    (net.fc.weight().as_slice()[0], net.fc.bias().as_slice()[0])
}
