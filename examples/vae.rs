//! # A variational autoencoder on MNIST: autoencoding, denoising and inpainting
//!
//! ```text
//! cargo run --release --example vae --features plots                          # 10 epochs, writes data/vae-none.png
//! cargo run --release --example vae --features plots -- --corrupt noise       # denoising: noisy in, clean out
//! cargo run --release --example vae --features plots -- --corrupt mask        # inpainting: a square is blanked out
//! cargo run --release --example vae --features plots -- --latent 2            # a 2-D latent, and its two pictures
//! ```
//!
//! An autoencoder squeezes each 784-pixel digit through a small latent vector and rebuilds it.
//! A *variational* one makes the latent vector a Gaussian: the encoder gives a mean `mu` and a
//! log-variance `logvar` per latent dimension, and the decoder sees a sample
//! `z = mu + exp(logvar / 2) · eps` with `eps ~ N(0, 1)`. That is the reparameterization trick:
//! the randomness sits in `eps`, which is not trained, so the gradient flows through `mu` and
//! `logvar` as through any other layer.
//!
//! The loss per image, in nats, is the reconstruction's binary cross-entropy summed over the
//! pixels, plus the KL divergence of `N(mu, exp(logvar))` from `N(0, 1)`:
//! `KL = -½ Σ (1 + logvar − mu² − exp(logvar))`. The KL term lives on two intermediate outputs
//! of the encoder, the named layers `mu` and `logvar`, so its gradient is *injected* there with
//! `backward_params_with` while the reconstruction's gradient arrives through the decoder.
//!
//! With `--corrupt noise` (denoising) or `--corrupt mask` (inpainting), the encoder sees a
//! corrupted image and the loss compares the reconstruction with the clean one, so the network
//! learns to remove the noise or fill in the hole.
//!
//! ## Output
//! After each epoch it prints the training loss (reconstruction and KL) and the test loss, with
//! the encoder's mean as the latent (no sampling); the last line is `test_loss: X`. At the end it
//! writes a PNG (`--out`, default `data/vae-<corrupt>.png`): ten test digits as the encoder saw
//! them, their reconstructions and (with a corruption) the clean originals, then two rows of new
//! digits decoded from `z ~ N(0, 1)`.
//!
//! With `--latent 2` the latent Gaussian is 2-D (default `--out data/vae2-<corrupt>.png`), and
//! two more pictures go beside it, as in Keras's VAE tutorial: `<out>-scatter.png`, the latent
//! means of the 10 000 test digits coloured by digit, and `<out>-grid.png`, the digits decoded
//! from a 20 x 20 grid of the latent plane over the standard normal's 5 % to 95 % quantiles.
//! Each digit gets a region of the plane, and walking the grid morphs one digit into the next.
//! With seed 0 and the default 10 epochs (about 4 s each on an AMD EPYC Zen 4 core), the 2-D
//! VAE's test loss is 155.5 nats per image (149.9 reconstruction + 5.6 KL); 0, 1, 6 and 7 get
//! regions of their own, while 3, 5 and 8 overlap in the middle (`docs/images/vae_latent_*.png`).
//!
//! ## Options
//! | flag | default | |
//! |---|---|---|
//! | `--epochs N` | 10 | passes over the training set |
//! | `--seed N` | 0 | init, shuffling, noise and `eps`; the same seed gives the same run |
//! | `--latent 16\|2` | 16 | width of the latent Gaussian; 2 adds the latent scatter and grid |
//! | `--corrupt none\|noise\|mask` | `none` | what is done to the encoder's input |
//! | `--out PATH` | `data/vae-<corrupt>.png` | where the picture goes |
//! | `--max-loss X` | none | exit with status 1 when the final test loss is above `X` |
//! | `--data-dir DIR` | `data/mnist` (or `MNIST_DIR`) | where the MNIST files are (or are fetched to) |

use nn_examples::args;
use nn_examples::mnist_fetch;
use nn_examples::scatter;

use args::parse_value;

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use nn::data::mnist::{self, Mnist};
use nn::data::{Batch, Batches, LastBatch};
use nn::init::{standard_normal, uniform};
use nn::prelude::*;

/// Training batch size.
const BATCH: usize = 64;
/// Evaluation batch size; divides the 10 000 test images.
const EVAL_BATCH: usize = 500;
/// Adam's learning rate, for both networks.
const LEARNING_RATE: f32 = 1e-3;
/// Standard deviation of the noise `--corrupt noise` adds to each pixel.
const NOISE: f32 = 0.5;
/// Side of the square `--corrupt mask` blanks out.
const HOLE: usize = 12;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// What is done to an image before the encoder sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Corruption {
    None,
    /// Gaussian noise on every pixel, clamped to [0, 1]: a denoising autoencoder.
    Noise,
    /// A random `HOLE × HOLE` square set to 0: inpainting.
    Mask,
}

impl Corruption {
    fn name(self) -> &'static str {
        match self {
            Corruption::None => "none",
            Corruption::Noise => "noise",
            Corruption::Mask => "mask",
        }
    }

    /// Writes the corrupted `clean` into `out`.
    fn apply<const B: usize>(
        self,
        clean: &Tensor2<B, { mnist::FEATURES }>,
        out: &mut Tensor2<B, { mnist::FEATURES }>,
        rng: &mut Rng,
    ) {
        out.copy_from(clean);
        match self {
            Corruption::None => {}
            Corruption::Noise => {
                for pixel in out.iter_mut() {
                    *pixel = (*pixel + NOISE * standard_normal(rng)).clamp(0.0, 1.0);
                }
            }
            Corruption::Mask => {
                let last = (mnist::SIDE - HOLE) as f32;
                for image in out.as_mut_slice().chunks_exact_mut(mnist::FEATURES) {
                    let top = uniform(rng, 0.0, last + 1.0).min(last) as usize;
                    let left = uniform(rng, 0.0, last + 1.0).min(last) as usize;
                    for row in image.chunks_exact_mut(mnist::SIDE).skip(top).take(HOLE) {
                        row[left..left + HOLE].fill(0.0);
                    }
                }
            }
        }
    }
}

/// One step's losses, per image, in nats.
#[derive(Default, Clone, Copy)]
struct Losses {
    reconstruction: f64,
    kl: f64,
}

fn sigmoid_all(logits: &[f32]) -> Vec<f32> {
    logits.iter().map(|&z| 1.0 / (1.0 + (-z).exp())).collect()
}

/// The networks, their training step, evaluation and pictures, for a latent Gaussian of
/// `$latent` dimensions: one module per width, since the width is part of the networks' types.
macro_rules! vae_model {
    ($module:ident, $latent:literal) => {
        mod $module {
            use super::*;

            /// Width of the latent Gaussian.
            const LATENT: usize = $latent;

            network! {
                /// Image to the mean and log-variance of its latent Gaussian; `mu` and `logvar` are named
                /// so the KL term can read them and inject its gradient there.
                pub struct Encoder<
                    input(784),
                    hidden: dense(784 -> 256), relu,
                    heads: fork {
                        mean: [mu: dense(256 -> LATENT)],
                        spread: [logvar: dense(256 -> LATENT)],
                    } => concat,
                >

                /// Latent vector to 784 pixel logits; the sigmoid of a logit is the pixel's brightness.
                pub struct Decoder< hidden: dense(LATENT -> 256), relu, pixels: dense(256 -> 784) >
            }

            /// Everything one training step needs, made once.
            struct Trainer {
                encoder: Encoder,
                decoder: Decoder,
                encoder_adam: Adam,
                decoder_adam: Adam,
                encoder_tape: EncoderTape<BATCH>,
                decoder_tape: DecoderTape<BATCH>,
                corrupted: Tensor2<BATCH, { mnist::FEATURES }>,
                eps: Tensor2<BATCH, LATENT>,
                z: Tensor2<BATCH, LATENT>,
                dlogits: Tensor2<BATCH, { mnist::FEATURES }>,
                /// Gradient at the encoder's output, `mu` then `logvar`, from the reconstruction.
                dheads: Tensor2<BATCH, { 2 * LATENT }>,
                dkl_mu: Tensor2<BATCH, LATENT>,
                dkl_logvar: Tensor2<BATCH, LATENT>,
            }

            impl Trainer {
                fn new(seed: u64) -> Self {
                    let mut rng = nn::init::seeded(seed);
                    Self {
                        encoder: Encoder::new(&mut rng),
                        decoder: Decoder::new(&mut rng),
                        encoder_adam: Adam::new(LEARNING_RATE),
                        decoder_adam: Adam::new(LEARNING_RATE),
                        encoder_tape: EncoderTape::new(),
                        decoder_tape: DecoderTape::new(),
                        corrupted: Tensor2::zeros(),
                        eps: Tensor2::zeros(),
                        z: Tensor2::zeros(),
                        dlogits: Tensor2::zeros(),
                        dheads: Tensor2::zeros(),
                        dkl_mu: Tensor2::zeros(),
                        dkl_logvar: Tensor2::zeros(),
                    }
                }

                fn step(
                    &mut self,
                    clean: &Tensor2<BATCH, { mnist::FEATURES }>,
                    corruption: Corruption,
                    rng: &mut Rng,
                ) -> Losses {
                    let batch = BATCH as f32;
                    corruption.apply(clean, &mut self.corrupted, rng);
                    self.encoder
                        .forward_train(&self.corrupted, &mut self.encoder_tape);
                    let points = self.encoder_tape.outputs();
                    let (mu, logvar) = (points.mu, points.logvar);

                    // Reparameterization: z = mu + σ·eps, σ = exp(logvar / 2).
                    for e in self.eps.iter_mut() {
                        *e = standard_normal(rng);
                    }
                    let mut kl = 0.0f64;
                    let lanes = mu.iter().zip(logvar.iter()).zip(self.eps.iter());
                    let grads = self
                        .z
                        .iter_mut()
                        .zip(self.dkl_mu.iter_mut())
                        .zip(self.dkl_logvar.iter_mut());
                    for (((&m, &lv), &e), ((z, dm), dlv)) in lanes.zip(grads) {
                        let variance = lv.exp();
                        *z = m + variance.sqrt() * e;
                        kl += f64::from(-0.5 * (1.0 + lv - m * m - variance));
                        // d(mean KL over the batch)/d(mu, logvar).
                        *dm = m / batch;
                        *dlv = 0.5 * (variance - 1.0) / batch;
                    }

                    // Reconstruction: BCE summed over pixels, averaged over images. The loss function
                    // averages over every element, so scale it (and its gradient) by the pixel count.
                    let logits = self.decoder.forward_train(&self.z, &mut self.decoder_tape);
                    let pixels = mnist::FEATURES as f32;
                    let mean_bce = binary_cross_entropy_with_logits(logits, clean, &mut self.dlogits);
                    self.dlogits.iter_mut().for_each(|g| *g *= pixels);

                    self.decoder.zero_grad();
                    self.encoder.zero_grad();
                    let dz = self.decoder.backward(&mut self.decoder_tape, &self.dlogits);

                    // Through z = mu + exp(logvar / 2)·eps to the encoder's output (mu, then logvar).
                    let points = self.encoder_tape.outputs();
                    for (((row, dz_row), lv_row), eps_row) in self
                        .dheads
                        .as_mut_slice()
                        .chunks_exact_mut(2 * LATENT)
                        .zip(dz.as_slice().chunks_exact(LATENT))
                        .zip(points.logvar.as_slice().chunks_exact(LATENT))
                        .zip(self.eps.as_slice().chunks_exact(LATENT))
                    {
                        let (dmu, dlogvar) = row.split_at_mut(LATENT);
                        for j in 0..LATENT {
                            dmu[j] = dz_row[j];
                            dlogvar[j] = dz_row[j] * eps_row[j] * 0.5 * (0.5 * lv_row[j]).exp();
                        }
                    }
                    // The KL term's gradient joins at the named layers it was computed from.
                    let kl_gradient = EncoderInject {
                        mu: Some(&self.dkl_mu),
                        logvar: Some(&self.dkl_logvar),
                        ..Default::default()
                    };
                    self.encoder
                        .backward_params_with(&mut self.encoder_tape, &self.dheads, &kl_gradient);
                    self.encoder_adam
                        .step(&mut self.encoder)
                        .expect("one optimizer per model, with a valid learning rate");
                    self.decoder_adam
                        .step(&mut self.decoder)
                        .expect("one optimizer per model, with a valid learning rate");

                    Losses {
                        reconstruction: f64::from(mean_bce) * f64::from(pixels),
                        kl: kl / f64::from(batch),
                    }
                }
            }

            /// Test losses per image, with `z = mu` (no sampling) and the same corruption.
            fn evaluate(
                encoder: &Encoder,
                decoder: &Decoder,
                test: &nn::data::Dataset<mnist::Flat>,
                corruption: Corruption,
                seed: u64,
            ) -> Result<Losses> {
                let mut batches = Batches::<EVAL_BATCH, _>::sequential(test, LastBatch::Drop)?;
                let mut batch = Batch::new();
                let mut corrupted = Tensor2::<EVAL_BATCH, { mnist::FEATURES }>::zeros();
                let mut encoder_tape = EncoderTape::<EVAL_BATCH, Eval>::new();
                let mut decoder_tape = DecoderTape::<EVAL_BATCH, Eval>::new();
                let mut z = Tensor2::<EVAL_BATCH, LATENT>::zeros();
                let mut grad = Tensor2::<EVAL_BATCH, { mnist::FEATURES }>::zeros();
                // The same corruption every time, so epochs are compared on the same inputs.
                let mut rng = nn::init::seeded(seed ^ 0x7e57);
                let (mut totals, mut images) = (Losses::default(), 0usize);
                while batches.fill_next(&mut batch).is_some() {
                    corruption.apply(batch.inputs(), &mut corrupted, &mut rng);
                    encoder.infer(&corrupted, &mut encoder_tape);
                    let points = encoder_tape.outputs();
                    z.copy_from(points.mu);
                    for (&m, &lv) in points.mu.iter().zip(points.logvar.iter()) {
                        totals.kl += f64::from(-0.5 * (1.0 + lv - m * m - lv.exp()));
                    }
                    let logits = decoder.infer(&z, &mut decoder_tape);
                    let mean_bce = binary_cross_entropy_with_logits(logits, batch.inputs(), &mut grad);
                    totals.reconstruction += f64::from(mean_bce) * (mnist::FEATURES * EVAL_BATCH) as f64;
                    images += EVAL_BATCH;
                }
                let images = images.max(1) as f64;
                Ok(Losses {
                    reconstruction: totals.reconstruction / images,
                    kl: totals.kl / images,
                })
            }

            /// The picture: ten test digits as the encoder saw them, their reconstructions, the clean
            /// originals (when they differ from the first row), then two rows decoded from `z ~ N(0, 1)`.
            fn write_png(
                trainer: &Trainer,
                test: &nn::data::Dataset<mnist::Flat>,
                corruption: Corruption,
                path: &std::path::Path,
                seed: u64,
            ) -> Result<()> {
                const COLUMNS: usize = 10;
                let mut rng = nn::init::seeded(seed ^ 0x9a1);
                let mut clean = Tensor2::<COLUMNS, { mnist::FEATURES }>::zeros();
                for (column, image) in clean
                    .as_mut_slice()
                    .chunks_exact_mut(mnist::FEATURES)
                    .enumerate()
                {
                    // One test image per digit class, so every row shows 0 to 9.
                    let index = (0..test.len())
                        .find(|&i| test.labels()[i] == column)
                        .unwrap_or(column);
                    image.copy_from_slice(test.sample(index).ok_or("test set too small")?.0);
                }
                let mut seen = Tensor2::<COLUMNS, { mnist::FEATURES }>::zeros();
                corruption.apply(&clean, &mut seen, &mut rng);
                let mut encoder_tape = EncoderTape::<COLUMNS, Eval>::new();
                let mut decoder_tape = DecoderTape::<COLUMNS, Eval>::new();
                trainer.encoder.infer(&seen, &mut encoder_tape);
                let mean = encoder_tape.outputs().mu.clone();
                let reconstructed = trainer.decoder.infer(&mean, &mut decoder_tape).clone();

                let mut rows: Vec<Vec<f32>> = vec![
                    seen.as_slice().to_vec(),
                    sigmoid_all(reconstructed.as_slice()),
                ];
                if corruption != Corruption::None {
                    rows.push(clean.as_slice().to_vec());
                }
                for _ in 0..2 {
                    let z = Tensor2::<COLUMNS, LATENT>::from_fn(|_| standard_normal(&mut rng));
                    rows.push(sigmoid_all(
                        trainer.decoder.infer(&z, &mut decoder_tape).as_slice(),
                    ));
                }

                const SCALE: usize = 3;
                const GAP: usize = 2;
                let cell = mnist::SIDE + GAP;
                let (width, height) = (COLUMNS * cell + GAP, rows.len() * cell + GAP);
                let mut pixels = vec![64u8; width * height];
                for (r, row) in rows.iter().enumerate() {
                    for (c, image) in row.chunks_exact(mnist::FEATURES).enumerate() {
                        for (i, &value) in image.iter().enumerate() {
                            let (y, x) = (i / mnist::SIDE, i % mnist::SIDE);
                            let (py, px) = (GAP + r * cell + y, GAP + c * cell + x);
                            pixels[py * width + px] = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
                        }
                    }
                }
                let (w, h) = (width as u32, height as u32);
                nn::train::plot::write_png(path, &pixels, w, h, nn::train::plot::Pixels::Grey, SCALE as u32)?;
                Ok(())
            }

            pub(super) fn run(options: &Options) -> Result<f64> {
                mnist_fetch::ensure_mnist(&options.data_dir)?;
                let mnist = Mnist::load(&options.data_dir)?;
                println!(
                    "VAE 784-256-({LATENT} mu, {LATENT} logvar) / {LATENT}-256-784 ({} + {} parameters), Adam lr {LEARNING_RATE}, \
                     batch {BATCH}, {} epochs, corruption {}, seed {}",
                    Encoder::PARAM_COUNT,
                    Decoder::PARAM_COUNT,
                    options.epochs,
                    options.corruption.name(),
                    options.seed,
                );
                let mut trainer = Trainer::new(options.seed);
                let mut batches = Batches::<BATCH, _>::shuffled(&mnist.train, LastBatch::Drop, options.seed)?;
                let mut batch = Batch::new();
                let mut rng = nn::init::seeded(options.seed ^ 0xe95);
                let mut test_loss = f64::NAN;
                for epoch in 1..=options.epochs {
                    let start = Instant::now();
                    let (mut sum, mut steps) = (Losses::default(), 0usize);
                    while batches.fill_next(&mut batch).is_some() {
                        let losses = trainer.step(batch.inputs(), options.corruption, &mut rng);
                        sum.reconstruction += losses.reconstruction;
                        sum.kl += losses.kl;
                        steps += 1;
                    }
                    let seconds = start.elapsed().as_secs_f64();
                    let steps = steps.max(1) as f64;
                    let test = evaluate(
                        &trainer.encoder,
                        &trainer.decoder,
                        &mnist.test,
                        options.corruption,
                        options.seed,
                    )?;
                    test_loss = test.reconstruction + test.kl;
                    println!(
                        "epoch {epoch}/{}: train reconstruction {:.2} + KL {:.2} nats/image; test {:.2} + {:.2} = {test_loss:.2}; {seconds:.2} s",
                        options.epochs,
                        sum.reconstruction / steps,
                        sum.kl / steps,
                        test.reconstruction,
                        test.kl,
                    );
                }
                write_png(
                    &trainer,
                    &mnist.test,
                    options.corruption,
                    &options.out,
                    options.seed,
                )?;
                println!("wrote {}", options.out.display());
                if LATENT == 2 {
                    let (means, digits) = test_means(&trainer.encoder, &mnist.test)?;
                    let decode = |z: &[f32]| decode_all(&trainer.decoder, z);
                    let (scatter, grid) = latent_picture_paths(&options.out);
                    latent_pictures(&means, &digits, decode, &scatter, &grid)?;
                    println!("wrote {} and {}", scatter.display(), grid.display());
                }
                println!("test_loss: {test_loss:.3}");
                Ok(test_loss)
            }

            /// The latent mean of every test image (`LATENT` values each, in order) and its digit.
            fn test_means(
                encoder: &Encoder,
                test: &nn::data::Dataset<mnist::Flat>,
            ) -> Result<(Vec<f32>, Vec<usize>)> {
                let mut batches = Batches::<EVAL_BATCH, _>::sequential(test, LastBatch::Drop)?;
                let mut batch = Batch::new();
                let mut tape = EncoderTape::<EVAL_BATCH, Eval>::new();
                let (mut means, mut digits) = (Vec::new(), Vec::new());
                while batches.fill_next(&mut batch).is_some() {
                    encoder.infer(batch.inputs(), &mut tape);
                    means.extend_from_slice(tape.outputs().mu.as_slice());
                    digits.extend_from_slice(batch.labels());
                }
                Ok((means, digits))
            }

            /// The pixels, in [0, 1], decoded from each latent vector of `z` (`LATENT` values each).
            fn decode_all(decoder: &Decoder, z: &[f32]) -> Vec<f32> {
                const CHUNK: usize = 20;
                let mut tape = DecoderTape::<CHUNK, Eval>::new();
                let mut batch = Tensor2::<CHUNK, LATENT>::zeros();
                let mut pixels = Vec::with_capacity(z.len() / LATENT * mnist::FEATURES);
                for chunk in z.chunks(CHUNK * LATENT) {
                    batch.as_mut_slice().fill(0.0);
                    batch.as_mut_slice()[..chunk.len()].copy_from_slice(chunk);
                    let decoded = sigmoid_all(decoder.infer(&batch, &mut tape).as_slice());
                    pixels.extend_from_slice(&decoded[..chunk.len() / LATENT * mnist::FEATURES]);
                }
                pixels
            }
        }
    };
}

vae_model!(wide, 16);
vae_model!(plane, 2);

/// Trains the VAE of the latent width the options ask for.
fn run(options: &Options) -> Result<f64> {
    match options.latent {
        2 => plane::run(options),
        _ => wide::run(options),
    }
}

/// Where `--latent 2` writes its two pictures: beside `out`, as `<out>-scatter.png` and
/// `<out>-grid.png`.
fn latent_picture_paths(out: &std::path::Path) -> (PathBuf, PathBuf) {
    let stem = out.with_extension("");
    let with = |suffix: &str| PathBuf::from(format!("{}-{suffix}.png", stem.display()));
    (with("scatter"), with("grid"))
}

/// Side of the grid of decoded digits: `GRID x GRID` points of the latent plane.
const GRID: usize = 20;

/// The two pictures of a 2-D latent: a scatter of the test set's latent means coloured by
/// digit, and the digits decoded from a `GRID x GRID` grid over the standard normal's
/// quantiles from 5 % to 95 % (as Keras's VAE tutorial draws it), `z1` rising to the right
/// and `z2` upwards, as in the scatter.
fn latent_pictures(
    means: &[f32],
    digits: &[usize],
    decode: impl Fn(&[f32]) -> Vec<f32>,
    scatter: &std::path::Path,
    grid: &std::path::Path,
) -> Result<()> {
    let points: Vec<(f64, f64, usize)> = means
        .chunks_exact(2)
        .zip(digits)
        .map(|(m, &digit)| (f64::from(m[0]), f64::from(m[1]), digit))
        .collect();
    scatter::scatter(
        scatter,
        &scatter::Scatter {
            title: "VAE latent means of the MNIST test digits",
            x_label: "z1",
            y_label: "z2",
            width: 660,
            height: 600,
        },
        &points,
        &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    )?;

    let quantiles: Vec<f32> = (0..GRID)
        .map(|i| normal_quantile(0.05 + 0.9 * i as f64 / (GRID - 1) as f64) as f32)
        .collect();
    let mut z = Vec::with_capacity(GRID * GRID * 2);
    for row in 0..GRID {
        for &z1 in &quantiles {
            z.extend_from_slice(&[z1, quantiles[GRID - 1 - row]]);
        }
    }
    let pixels = decode(&z);
    let side = GRID * mnist::SIDE;
    let mut picture = vec![0u8; side * side];
    for (k, digit) in pixels.chunks_exact(mnist::FEATURES).enumerate() {
        let (top, left) = (k / GRID * mnist::SIDE, k % GRID * mnist::SIDE);
        for (i, &value) in digit.iter().enumerate() {
            let (y, x) = (top + i / mnist::SIDE, left + i % mnist::SIDE);
            // 32 grey levels: the same picture to the eye, a third of the bytes.
            let level = (value.clamp(0.0, 1.0) * 31.0).round() * (255.0 / 31.0);
            picture[y * side + x] = level.round() as u8;
        }
    }
    let side = side as u32;
    nn::train::plot::write_png(grid, &picture, side, side, nn::train::plot::Pixels::Grey, 1)?;
    Ok(())
}

/// The `p` quantile of the standard normal, by bisection on its distribution function.
fn normal_quantile(p: f64) -> f64 {
    let (mut low, mut high) = (-8.0f64, 8.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (low + high);
        if normal_cdf(mid) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    0.5 * (low + high)
}

/// The standard normal distribution function, through `erf` (Abramowitz and Stegun 7.1.26,
/// absolute error below 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * (x.abs() / std::f64::consts::SQRT_2));
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x / 2.0)).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

const USAGE: &str = "usage: cargo run --release --example vae --features plots -- \
[--epochs N] [--seed N] [--latent 16|2] [--corrupt none|noise|mask] [--out PATH] [--max-loss X] [--data-dir DIR]";

struct Options {
    epochs: usize,
    seed: u64,
    /// Width of the latent Gaussian: 16, or 2 for the pictures of the latent plane.
    latent: usize,
    corruption: Corruption,
    out: PathBuf,
    max_loss: Option<f64>,
    data_dir: PathBuf,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut epochs = 10;
        let mut seed = 0;
        let mut latent = 16;
        let mut corruption = Corruption::None;
        let mut out = None;
        let mut max_loss = None;
        let mut data_dir = std::env::var_os("MNIST_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--epochs" => epochs = parse_value(&flag, &value)?,
                "--seed" => seed = parse_value(&flag, &value)?,
                "--latent" => {
                    latent = parse_value(&flag, &value)?;
                    if latent != 16 && latent != 2 {
                        return Err(format!(
                            "`--latent` is 16 (the default) or 2, not `{value}`: the width is part of the networks' types, and the example builds those two"
                        ));
                    }
                }
                "--max-loss" => max_loss = Some(parse_value(&flag, &value)?),
                "--corrupt" => {
                    corruption = match value.as_str() {
                        "none" => Corruption::None,
                        "noise" => Corruption::Noise,
                        "mask" => Corruption::Mask,
                        other => {
                            return Err(format!(
                                "`--corrupt` is `none`, `noise` or `mask`, not `{other}`"
                            ));
                        }
                    }
                }
                "--out" => out = Some(PathBuf::from(value)),
                "--data-dir" => data_dir = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        let data_dir = data_dir.unwrap_or_else(mnist_fetch::default_dir);
        let out = out.unwrap_or_else(|| {
            data_dir.parent().unwrap_or(&data_dir).join(match latent {
                2 => format!("vae2-{}.png", corruption.name()),
                _ => format!("vae-{}.png", corruption.name()),
            })
        });
        Ok(Self {
            epochs,
            seed,
            latent,
            corruption,
            out,
            max_loss,
            data_dir,
        })
    }
}

fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(loss) => match options.max_loss {
            // A NaN loss fails too.
            Some(max) if loss.is_nan() || loss > max => {
                eprintln!("error: test loss {loss:.3} is above the allowed {max}");
                ExitCode::FAILURE
            }
            _ => ExitCode::SUCCESS,
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
