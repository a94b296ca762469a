//! # An encoder-decoder reverses sequences, then decodes them step by step
//!
//! ```text
//! cargo run --release --example reverse                                        # 6 000 steps
//! cargo run --release --example reverse -- --steps 500 --min-exact-match 0.5   # what CI runs
//! ```
//!
//! The smallest translation task: the source is 3 to 8 digits, padded with 0 up to 8 ids, and
//! the target is the same digits in reverse order, then padding. The network is a transformer
//! encoder-decoder declared in one `network!`:
//!
//! ```text
//! input(source: 8) tokens -> embedding, positions, self-attention (key_padding = 0), MLP ┐ memory
//! input(target: 8) tokens -> embedding, positions, causal self-attention                 ┘ queries
//!     => multi_head_attention(32, heads = 4, key_padding = 0) -> MLP -> dense(32 -> 12)
//! ```
//!
//! The cross-attention masks the source's padding, so a source of 3 digits and one of 8 share
//! a batch. Training is teacher-forced: the decoder reads `BOS` and the target shifted by one
//! step, and every step's logits are scored against the next id (padding included, so the
//! network also learns where a sequence ends). Networks of two inputs train in a hand-written
//! loop (`nn::train::Fit` takes one input).
//!
//! Then it decodes as a translator would, greedily and one id at a time:
//! `Decoder::with_memory(&net, &source)` runs the encoder once, and each step feeds back the
//! id it chose, attending to the encoded source through the cross-attention's kept keys and
//! values. It prints the token accuracy of the teacher-forced forward, the exact-match rate of
//! the greedy decodes, and a few of them; the last line is `exact_match: X`.
//!
//! ## Figures
//! Seed 0, one thread of an AMD EPYC Zen 4 (family 25 model 17): 6 000 steps of 64 sequences
//! take 16 s; on 1 000 new sequences the teacher-forced token accuracy is 1.0000 and the greedy
//! decodes' exact match 1.0000. After 3 000 steps (8 s): 0.9961 and 0.9740; after 500: 0.9591
//! and 0.7530. `--min-exact-match X` makes the run fail below `X`.

use std::error::Error;
use std::process::ExitCode;

use nn::init::Rng;
use nn::layers::Decoder;
use nn::loss::softmax_cross_entropy;
use nn::prelude::*;
use nn_examples::args;

/// Ids: 0 pads, 1 begins the decoder's input, 2 to 11 are the digits 0 to 9.
const PAD: usize = 0;
const BOS: usize = 1;
const VOCAB: usize = 12;
/// Ids per sequence, source and target alike.
const STEPS: usize = 8;
const BATCH: usize = 64;
/// `BATCH · STEPS`: the rows the loss scores.
const ROWS: usize = BATCH * STEPS;

network! {
    /// Reverses 3 to 8 digits: an encoder over the padded source, a causal decoder over the
    /// target so far, and cross-attention from the one to the other, the padding masked.
    pub struct Reverser<
        input(source: 8) tokens,
        input(target: 8) tokens,
        cross: fork {
            target => [
                embed: embedding(12 -> 32),
                positional(sinusoidal),
                decoder: fork {
                    attn: [layer_norm, multi_head_attention(32, heads = 4, causal)],
                    skip: skip,
                } => add,
            ],
            memory: source => [
                source_embed: embedding(12 -> 32),
                positional(sinusoidal),
                encoder: fork {
                    attn: [layer_norm, multi_head_attention(32, heads = 4, key_padding = 0)],
                    skip: skip,
                } => add,
                encoder_mlp: fork {
                    mlp: [layer_norm, dense(32 -> 64), relu, dense(64 -> 32)],
                    skip: skip,
                } => add,
            ],
        } => multi_head_attention(32, heads = 4, key_padding = 0),
        mlp: fork {
            mlp: [layer_norm, dense(32 -> 64), relu, dense(64 -> 32)],
            skip: skip,
        } => add,
        head: dense(32 -> 12),
    >
}

const USAGE: &str = "usage: cargo run --release --example reverse -- [--steps N] [--seed N] [--lr X] [--min-exact-match X]";

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// A random sequence: its length (3 to 8) and its source ids, padded.
fn draw(rng: &mut Rng) -> (usize, [usize; STEPS]) {
    let len = 3 + (nn::init::uniform(rng, 0.0, 6.0) as usize).min(5);
    let mut source = [PAD; STEPS];
    for id in &mut source[..len] {
        *id = 2 + (nn::init::uniform(rng, 0.0, 10.0) as usize).min(9);
    }
    (len, source)
}

/// What the decoder should give for `source`: its digits reversed, then padding.
fn reversed(len: usize, source: &[usize; STEPS]) -> [usize; STEPS] {
    let mut target = [PAD; STEPS];
    for (t, id) in target[..len].iter_mut().enumerate() {
        *id = source[len - 1 - t];
    }
    target
}

/// A batch for teacher forcing: the sources, the decoder's inputs (`BOS`, then the target
/// shifted by one step) and every step's label (the target).
fn batch(
    rng: &mut Rng,
    sources: &mut Tensor2<BATCH, STEPS>,
    inputs: &mut Tensor2<BATCH, STEPS>,
    labels: &mut [usize; ROWS],
) {
    for b in 0..BATCH {
        let (len, source) = draw(rng);
        let target = reversed(len, &source);
        for t in 0..STEPS {
            sources.as_mut_slice()[b * STEPS + t] = source[t] as f32;
            let previous = if t == 0 { BOS } else { target[t - 1] };
            inputs.as_mut_slice()[b * STEPS + t] = previous as f32;
            labels[b * STEPS + t] = target[t];
        }
    }
}

/// The id with the largest logit.
fn argmax(logits: &[f32]) -> usize {
    (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap_or(0)
}

fn digits(ids: &[usize]) -> String {
    ids.iter()
        .map(|&id| match id {
            PAD => '.',
            BOS => '^',
            digit => char::from(b'0' + (digit - 2) as u8),
        })
        .collect()
}

fn run(steps: usize, seed: u64, lr: f32) -> Result<f64> {
    let mut net = Reverser::seeded(seed);
    let mut adam = Adam::new(lr);
    println!(
        "Reverser ({} parameters): {STEPS} padded source ids -> the same digits reversed",
        Reverser::PARAM_COUNT
    );
    let mut rng = nn::init::seeded(seed.wrapping_add(1));
    let mut tape = ReverserTape::<BATCH>::new();
    let (mut sources, mut inputs) = (Tensor2::zeros(), Tensor2::zeros());
    let mut labels = [0usize; ROWS];
    let (mut rows, mut grad) = (
        Tensor2::<ROWS, VOCAB>::zeros(),
        Tensor2::<ROWS, VOCAB>::zeros(),
    );
    let mut dlogits = Tensor3::<BATCH, STEPS, VOCAB>::zeros();
    let mut recent = 0.0f64;
    for step in 1..=steps {
        batch(&mut rng, &mut sources, &mut inputs, &mut labels);
        let logits = net.forward_train(&sources, &inputs, &mut tape);
        rows.as_mut_slice().copy_from_slice(logits.as_slice());
        let loss = softmax_cross_entropy(&rows, &labels, &mut grad)?;
        dlogits.as_mut_slice().copy_from_slice(grad.as_slice());
        net.zero_grad();
        net.backward_params(&mut tape, &dlogits);
        adam.step(&mut net)?;
        if step + 100 > steps {
            recent += f64::from(loss) / 100f64.min(steps as f64);
        }
        if step % 500 == 0 || step == steps {
            println!("step {step}/{steps}: train_loss {loss:.4}");
        }
    }
    println!("train_loss over the last 100 steps: {recent:.4}");

    // Teacher-forced token accuracy on new sequences.
    let mut eval = ReverserTape::<BATCH, Eval>::new();
    let (mut right, mut total) = (0usize, 0usize);
    let mut test_rng = nn::init::seeded(seed ^ 0x7e57);
    for _ in 0..1000 / BATCH {
        batch(&mut test_rng, &mut sources, &mut inputs, &mut labels);
        let logits = net.infer(&sources, &inputs, &mut eval);
        for (row, &label) in logits.as_slice().chunks(VOCAB).zip(&labels) {
            right += usize::from(argmax(row) == label);
            total += 1;
        }
    }
    println!(
        "teacher-forced token accuracy: {:.4}",
        right as f64 / total as f64
    );

    // Greedy decoding, one id at a time against the encoded source.
    let (mut exact, tries) = (0usize, 1000usize);
    let mut decoder = Decoder::with_memory(&net, &[0.0; STEPS])?;
    for k in 0..tries {
        let (len, source) = draw(&mut test_rng);
        let source_ids: Vec<f32> = source.iter().map(|&id| id as f32).collect();
        decoder.remember(&source_ids)?;
        let mut out = [PAD; STEPS];
        let mut id = BOS;
        for slot in &mut out {
            id = argmax(decoder.step_token(id)?);
            *slot = id;
        }
        let want = reversed(len, &source);
        exact += usize::from(out == want);
        if k < 5 {
            println!(
                "  {} -> {}  ({})",
                digits(&source),
                digits(&out),
                if out == want { "right" } else { "wrong" }
            );
        }
    }
    let exact_match = exact as f64 / tries as f64;
    println!("exact_match: {exact_match:.4}");
    Ok(exact_match)
}

/// The command line: `(steps, seed, lr, min_exact_match)`.
fn options() -> std::result::Result<(usize, u64, f32, Option<f64>), String> {
    let (mut steps, mut seed, mut lr, mut min) = (6000, 0, 3e-3, None);
    for (flag, value) in args::flags(USAGE)? {
        match flag.as_str() {
            "--steps" => steps = args::parse_value(&flag, &value)?,
            "--seed" => seed = args::parse_value(&flag, &value)?,
            "--lr" => lr = args::parse_value(&flag, &value)?,
            "--min-exact-match" => min = Some(args::parse_value(&flag, &value)?),
            _ => return Err(format!("unknown flag `{flag}`\n{USAGE}")),
        }
    }
    Ok((steps, seed, lr, min))
}

fn main() -> ExitCode {
    let (steps, seed, lr, min) = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(steps, seed, lr) {
        Ok(exact) if min.is_some_and(|min| exact < min) => {
            eprintln!(
                "error: exact match {exact:.4} is below the required {:.4}",
                min.unwrap_or(0.0)
            );
            ExitCode::FAILURE
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
