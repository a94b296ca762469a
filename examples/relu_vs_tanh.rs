//! # "ReLU is a bad idea in RNNs", measured
//!
//! ```text
//! cargo run --release --example relu_vs_tanh --features plots                  # 3 seeds x 5 lengths x 2 RNNs, about 14 s
//! cargo run --release --example relu_vs_tanh --features plots -- --readme-image docs/images/relu_vs_tanh.png
//! cargo run --release --example relu_vs_tanh --features plots -- --steps 300 --seeds 1 --min-peak-ratio 10 \
//!     --out target/relu_vs_tanh-smoke.png                      # CI, ~2 s
//! ```
//!
//! The warning in the notes is that an Elman RNN with ReLU, `h_t = max(0, x_t·W_ihᵀ + b_ih +
//! h_{t−1}·W_hhᵀ + b_hh)`, has nothing that bounds its state: where `W_hh` stretches some
//! direction, the state (and the gradient through time) grows geometrically with the sequence
//! length, while tanh saturates at ±1. This example puts the same network with either
//! nonlinearity on the same sequences:
//!
//! ```text
//! (T, 1) rnn(1 -> 32) or rnn(1 -> 32, relu) -> (T, 32) last -> (32) dense(32 -> 1) -> (1)
//! ```
//!
//! for `T` = 10, 25, 50, 100 and 200 (`T` is part of the type, so a `macro_rules!` declares
//! the ten networks). Both nonlinearities start from the same weights: `network!`'s
//! `seeded(seed)` draws PyTorch's `U(−1/√H, 1/√H)` for the RNN whatever its activation. The
//! task is the running sum: `x_t ~ N(0, 1)`, target `Σ x_t / √T` (unit variance at every
//! length), mean squared error, batches of 32, Adam at 0.01 (`--lr`, `--optimizer sgd`), **no
//! gradient clipping**, 1000 steps per run, fresh sequences every step.
//!
//! ## Output
//! At initialisation, per length and nonlinearity (median over the seeds, one batch): the
//! largest hidden activation `max |h|` over every step, unit and sequence; the parameter
//! gradient's global norm `‖∇θ‖` ([`nn::optim::grad_norm`]); and `‖∂L/∂x_1‖`, the loss
//! gradient at the *first* input step (the input gradient `backward` returns), which says how
//! much of the start of the sequence the gradient still reaches. During training: the loss
//! (mean of the last 50 steps) per seed, or the step at which the run **diverged** (a loss that
//! is not finite or above 100 times the first step's, `--explode`; the run stops there), and the
//! peaks of `max |h|` and `‖∇θ‖` over the run. A PNG (`--out`, default
//! `target/relu_vs_tanh.png`) plots `max |h|` and `‖∇θ‖` against `T` on log-log axes, at init
//! and the training peak, tanh against relu, with the divergences marked. The last line is
//! `peak_h_ratio: X`, relu's peak `max |h|` over tanh's at `T` = 200.
//!
//! ## What the numbers show
//! Default run (seeds 0–2, about 14 s on one core). **At PyTorch's initialisation ReLU is not
//! worse.** `W_hh`'s entries are `U(−0.18, 0.18)`, which for a random 32 × 32 matrix means a
//! spectral radius near `√(H · Var) = 1/√3 ≈ 0.58` (the circular law), so both
//! states stay below 1 at every length (`max |h|` 0.78–0.94 for relu, 0.66–0.76 for tanh), the
//! parameter gradients are alike (`‖∇θ‖` 0.7–1.2 and 1.4–1.9), and the gradient at the first
//! step *vanishes* for both, the same way: `‖∂L/∂x_1‖` is 1.3e-5 (relu) and 1.6e-4 (tanh) at
//! `T` = 10, 4e-11 and 7e-9 at 25, 2e-21 and 4e-15 at 50, and 0 in `f32` from 100 on.
//!
//! **The warning shows up in training**, which pushes `W_hh` toward an integrator (an
//! eigenvalue near 1). ReLU's state is unbounded: its peak `max |h|` (median of the seeds) grows
//! with the length, 4.6, 6.9, 19, 99 and 262 at `T` = 10 … 200, while tanh's stays at most 1.
//! Two of three ReLU runs diverge at `T` = 100 (steps 310 and 970) and two at 200 (steps 283 and
//! 426; `max |h|` reaches 4e7 in the first), 4 of 15 in all; tanh diverges in none. The peak
//! `‖∇θ‖` is 1450 for ReLU at `T` = 100 against tanh's 31. But where ReLU does not diverge it
//! *learns the task better*: loss 0.001–0.004 against tanh's 0.009–0.018 at `T` = 10,
//! 0.001–0.021 against 0.06–0.18 at 25, 0.02–0.55 against 0.97–1.05 at 50. tanh does not
//! learn the sum from `T` = 50 on at all (loss ≈ 1, the target's variance: its gradient through
//! time has vanished). So the claim holds as "a ReLU RNN trained without gradient clipping blows
//! up on long sequences", not at init, and tanh's failure at these lengths is the opposite one.
//! It depends on the step size: with `--lr 0.003` no ReLU run diverges (peak `max |h|` 14 at
//! `T` = 100) and ReLU learns `T` = 100 (loss 0.003–0.035) where tanh does not (0.68–0.97);
//! neither learns `T` = 200. With `--optimizer sgd --lr 0.03`, 3 of 15 ReLU runs diverge
//! (`T` = 50 and 100), with SGD 0.01, 1 of 15; tanh never does. The CI run (300 steps, seed 0)
//! diverges at `T` = 200, step 283, as the default run does.
//!
//! ## Options
//! | flag | default | |
//! |---|---|---|
//! | `--steps N` | 1000 | training steps per run |
//! | `--optimizer adam\|sgd` | `adam` | the optimizer (SGD without momentum) |
//! | `--lr X` | 0.01 | its learning rate |
//! | `--seeds N` | 3 | runs per length and nonlinearity, seeds `--seed` .. `--seed + N − 1` |
//! | `--seed N` | 0 | the first seed (weights and sequences; the same for tanh and relu) |
//! | `--explode X` | 100 | a loss above `X` times the first step's counts as diverged |
//! | `--min-peak-ratio X` | none | exit with status 1 unless relu's peak `max \|h\|` at `T` = 200 is at least `X` times tanh's |
//! | `--out PATH` | `target/relu_vs_tanh.png` | the chart |
//! | `--readme-image PATH` | none | also write the chart there |

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use nn_examples::args;
use nn_examples::series_plots;

use args::parse_value;
use nn::init::{Rng, seeded, standard_normal};
use nn::optim::grad_norm;
use nn::prelude::*;
use series_plots::{BLUE, Curve, Note, ORANGE, Panel, Style};

/// Hidden units of every RNN.
const HIDDEN: usize = 32;
/// Sequences per batch.
const BATCH: usize = 32;
/// The training loss reported is the mean over this many last steps.
const TAIL: usize = 50;

/// Declares, for each sequence length, the network with a tanh RNN and the one with a ReLU RNN.
macro_rules! networks {
    ($($len:tt: $tanh:ident, $relu:ident;)*) => {
        network! {
            $(
                /// The tanh RNN over sequences of this length.
                pub struct $tanh<
                    input($len, 1), rnn: rnn(1 -> HIDDEN), last, head: dense(HIDDEN -> 1),
                >
                /// The same with ReLU.
                pub struct $relu<
                    input($len, 1), rnn: rnn(1 -> HIDDEN, relu), last, head: dense(HIDDEN -> 1),
                >
            )*
        }
    };
}

networks! {
    10: Tanh10, Relu10;
    25: Tanh25, Relu25;
    50: Tanh50, Relu50;
    100: Tanh100, Relu100;
    200: Tanh200, Relu200;
}

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// A batch of the task: `x_t ~ N(0, 1)`, target `Σ x_t / √T`.
fn task_batch<const T: usize>(
    rng: &mut Rng,
    x: &mut Tensor3<BATCH, T, 1>,
    target: &mut Tensor2<BATCH, 1>,
) {
    let scale = 1.0 / (T as f32).sqrt();
    for (sequence, y) in x
        .as_mut_slice()
        .chunks_exact_mut(T)
        .zip(target.as_mut_slice())
    {
        let mut sum = 0.0;
        for v in sequence {
            *v = standard_normal(rng);
            sum += *v;
        }
        *y = sum * scale;
    }
}

/// The largest `|v|`; NaN if any value is.
fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, v| {
        if v.is_nan() || m.is_nan() {
            f32::NAN
        } else {
            m.max(v.abs())
        }
    })
}

/// One network at initialisation, on one batch.
#[derive(Debug, Clone, Copy)]
struct AtInit {
    max_h: f32,
    grad_norm: f32,
    /// `‖∂L/∂x_1‖` over the batch.
    first_step_grad: f32,
}

/// One training run.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// The mean loss of the last [`TAIL`] steps, when the run did not diverge.
    loss: f32,
    /// The step (from 1) at which it diverged.
    diverged_at: Option<usize>,
    peak_h: f32,
    peak_grad: f32,
}

/// A network of one length and nonlinearity; the impls are stamped out by `experiment!`.
trait Experiment {
    /// The sequence length.
    const LEN: usize;
    /// The measurement at init, then a training run, from `seed`.
    fn run(options: &Options, seed: u64) -> (AtInit, Run);
}

/// Implements [`Experiment`] for the network `$net` with tape `$tape` over `$len` steps: the
/// ten networks are different types, so the code is written once here.
macro_rules! experiment {
    ($($net:ident, $tape:ident, $len:tt;)*) => {$(
        impl Experiment for $net {
            const LEN: usize = $len;

            fn run(options: &Options, seed: u64) -> (AtInit, Run) {
                let mut net = $net::seeded(seed);
                let mut tape = $tape::<BATCH>::new();
                let mut x = Tensor3::<BATCH, $len, 1>::zeros();
                let mut target = Tensor2::<BATCH, 1>::zeros();
                let mut dy = Tensor2::<BATCH, 1>::zeros();
                // The sequences: the same stream for tanh and relu, another than the weights'.
                let mut rng = seeded(seed ^ 0x5eed_0f5e_9e9c_e5);

                task_batch(&mut rng, &mut x, &mut target);
                net.zero_grad();
                let y = net.forward_train(&x, &mut tape);
                mse(y, &target, &mut dy);
                let max_h = max_abs(tape.outputs().rnn.as_slice());
                let dx = net.backward(&mut tape, &dy);
                let first_step_grad = dx
                    .as_slice()
                    .chunks_exact($len)
                    .map(|sequence| sequence[0] * sequence[0])
                    .sum::<f32>()
                    .sqrt();
                let at_init = AtInit { max_h, grad_norm: grad_norm(&mut net), first_step_grad };

                let mut optimizer = options.optimizer.make(options.lr);
                let mut run = Run { loss: f32::NAN, diverged_at: None, peak_h: 0.0, peak_grad: 0.0 };
                let mut losses = Vec::with_capacity(options.steps);
                for step in 1..=options.steps {
                    task_batch(&mut rng, &mut x, &mut target);
                    net.zero_grad();
                    let y = net.forward_train(&x, &mut tape);
                    let loss = mse(y, &target, &mut dy);
                    run.peak_h = run.peak_h.max(max_abs(tape.outputs().rnn.as_slice()));
                    let first = *losses.first().unwrap_or(&loss);
                    losses.push(loss);
                    if !loss.is_finite() || loss > options.explode * first {
                        run.diverged_at = Some(step);
                        break;
                    }
                    net.backward_params(&mut tape, &dy);
                    run.peak_grad = run.peak_grad.max(grad_norm(&mut net));
                    optimizer.step(&mut net).expect("one optimizer per network; `--lr` checked by `parse`");
                }
                if run.diverged_at.is_none() {
                    let tail = &losses[losses.len().saturating_sub(TAIL)..];
                    run.loss = tail.iter().sum::<f32>() / tail.len().max(1) as f32;
                }
                (at_init, run)
            }
        }
    )*};
}

experiment! {
    Tanh10, Tanh10Tape, 10; Relu10, Relu10Tape, 10;
    Tanh25, Tanh25Tape, 25; Relu25, Relu25Tape, 25;
    Tanh50, Tanh50Tape, 50; Relu50, Relu50Tape, 50;
    Tanh100, Tanh100Tape, 100; Relu100, Relu100Tape, 100;
    Tanh200, Tanh200Tape, 200; Relu200, Relu200Tape, 200;
}

/// Adam or plain SGD, chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OptimizerKind {
    Adam,
    Sgd,
}

enum AnyOptimizer {
    Adam(Adam),
    Sgd(Sgd),
}

impl OptimizerKind {
    fn make(self, lr: f32) -> AnyOptimizer {
        match self {
            OptimizerKind::Adam => AnyOptimizer::Adam(Adam::new(lr)),
            OptimizerKind::Sgd => AnyOptimizer::Sgd(Sgd::new(lr)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            OptimizerKind::Adam => "Adam",
            OptimizerKind::Sgd => "SGD",
        }
    }
}

impl AnyOptimizer {
    fn step<M: HasParams>(&mut self, model: &mut M) -> Result<(), OptimError> {
        match self {
            AnyOptimizer::Adam(adam) => adam.step(model),
            AnyOptimizer::Sgd(sgd) => sgd.step(model),
        }
    }
}

/// Command-line options.
struct Options {
    steps: usize,
    optimizer: OptimizerKind,
    lr: f32,
    seeds: u64,
    seed: u64,
    explode: f32,
    min_peak_ratio: Option<f32>,
    out: PathBuf,
    readme_image: Option<PathBuf>,
}

const USAGE: &str = "usage: cargo run --release --example relu_vs_tanh --features plots -- \
[--steps N] [--optimizer adam|sgd] [--lr X] [--seeds N] [--seed N] [--explode X] \
[--min-peak-ratio X] [--out PATH] [--readme-image PATH]";

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Self {
            steps: 1000,
            optimizer: OptimizerKind::Adam,
            lr: 0.01,
            seeds: 3,
            seed: 0,
            explode: 100.0,
            min_peak_ratio: None,
            out: PathBuf::from(env!("WORKSPACE_DIR"))
                .join("target")
                .join("relu_vs_tanh.png"),
            readme_image: None,
        };
        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--steps" => options.steps = parse_value(&flag, &value)?,
                "--optimizer" => {
                    options.optimizer = match value.as_str() {
                        "adam" => OptimizerKind::Adam,
                        "sgd" => OptimizerKind::Sgd,
                        _ => return Err(format!("invalid value `{value}` for `{flag}`")),
                    }
                }
                "--lr" => options.lr = parse_value(&flag, &value)?,
                "--seeds" => options.seeds = parse_value(&flag, &value)?,
                "--seed" => options.seed = parse_value(&flag, &value)?,
                "--explode" => options.explode = parse_value(&flag, &value)?,
                "--min-peak-ratio" => options.min_peak_ratio = Some(parse_value(&flag, &value)?),
                "--out" => options.out = PathBuf::from(value),
                "--readme-image" => options.readme_image = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        if options.seeds == 0 || options.steps == 0 {
            return Err("`--seeds` and `--steps` must be at least 1".into());
        }
        // Checked here so that the training loops' steps cannot fail on it.
        Sgd::try_new(options.lr).map_err(|e| format!("`--lr`: {e}"))?;
        Ok(options)
    }
}

/// Every seed's results for one length and nonlinearity.
struct Measured {
    len: usize,
    at_init: Vec<AtInit>,
    runs: Vec<Run>,
    seconds: f64,
}

impl Measured {
    fn of<E: Experiment>(options: &Options) -> Self {
        let start = Instant::now();
        let (at_init, runs) = (options.seed..options.seed + options.seeds)
            .map(|seed| E::run(options, seed))
            .unzip();
        Self {
            len: E::LEN,
            at_init,
            runs,
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    fn init_median(&self, f: impl Fn(&AtInit) -> f32) -> f32 {
        median(self.at_init.iter().map(f).collect())
    }

    fn run_median(&self, f: impl Fn(&Run) -> f32) -> f32 {
        median(self.runs.iter().map(f).collect())
    }

    fn diverged(&self) -> usize {
        self.runs.iter().filter(|r| r.diverged_at.is_some()).count()
    }
}

/// The median (the lower middle for an even count); NaN, and infinities, sort last.
fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    let nan_last: Vec<f32> = values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .chain(values.iter().copied().filter(|v| v.is_nan()))
        .collect();
    nan_last[(nan_last.len() - 1) / 2]
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
        Ok(ratio) => match options.min_peak_ratio {
            Some(min) if ratio.is_nan() || ratio < min => {
                eprintln!(
                    "error: relu's peak max |h| at T = 200 is {ratio:.2} times tanh's, below the required {min}"
                );
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

/// Runs every length and nonlinearity, prints the tables, writes the chart, and returns relu's
/// peak `max |h|` at the longest length over tanh's.
fn run(options: &Options) -> Result<f32> {
    let start = Instant::now();
    let last_seed = options.seed + options.seeds - 1;
    println!(
        "rnn(1 -> {HIDDEN}) (tanh) against rnn(1 -> {HIDDEN}, relu), each followed by last and dense({HIDDEN} -> 1); \
         the same initial weights for both (seeds {}..={last_seed})",
        options.seed
    );
    println!(
        "task: x_t ~ N(0, 1), target sum(x_t) / sqrt(T); MSE, batches of {BATCH}; {} {} for {} steps, no gradient \
         clipping; diverged = a loss not finite or above {} x the first step's",
        options.optimizer.name(),
        options.lr,
        options.steps,
        options.explode
    );

    // The same weights for both nonlinearities: every parameter of the two T = 10 networks.
    let tanh_init = param_values(&mut Tanh10::seeded(options.seed));
    let relu_init = param_values(&mut Relu10::seeded(options.seed));
    println!(
        "initial weights of the tanh and relu networks identical: {} ({} parameters)",
        if tanh_init == relu_init { "yes" } else { "NO" },
        tanh_init.len()
    );

    let pairs = [
        (
            Measured::of::<Tanh10>(options),
            Measured::of::<Relu10>(options),
        ),
        (
            Measured::of::<Tanh25>(options),
            Measured::of::<Relu25>(options),
        ),
        (
            Measured::of::<Tanh50>(options),
            Measured::of::<Relu50>(options),
        ),
        (
            Measured::of::<Tanh100>(options),
            Measured::of::<Relu100>(options),
        ),
        (
            Measured::of::<Tanh200>(options),
            Measured::of::<Relu200>(options),
        ),
    ];

    let over = if options.seeds == 1 {
        format!("seed {}", options.seed)
    } else {
        "median over the seeds".to_string()
    };
    println!("\nAt initialisation ({over}, one batch):");
    println!(
        "{:>5} | {:>11} {:>9} {:>11} | {:>11} {:>9} {:>11}",
        "T", "tanh max|h|", "|grad|", "|dL/dx_1|", "relu max|h|", "|grad|", "|dL/dx_1|"
    );
    for (tanh, relu) in &pairs {
        println!(
            "{:>5} | {:>11.3} {:>9.2e} {:>11.2e} | {:>11.3} {:>9.2e} {:>11.2e}",
            tanh.len,
            tanh.init_median(|m| m.max_h),
            tanh.init_median(|m| m.grad_norm),
            tanh.init_median(|m| m.first_step_grad),
            relu.init_median(|m| m.max_h),
            relu.init_median(|m| m.grad_norm),
            relu.init_median(|m| m.first_step_grad),
        );
    }

    println!(
        "\nTraining: the loss (mean of the last {TAIL} steps) per seed, or the step it diverged at; the peaks over the \
         run ({over}):"
    );
    println!(
        "{:>5} {:<5} {:<40} {:>10} {:>10} {:>7}",
        "T", "rnn", "loss per seed", "peak max|h|", "peak |grad|", "time"
    );
    for (tanh, relu) in &pairs {
        for (name, measured) in [("tanh", tanh), ("relu", relu)] {
            let losses: Vec<String> = measured
                .runs
                .iter()
                .map(|r| match r.diverged_at {
                    Some(step) => format!("div@{step}"),
                    None => format!("{:.4}", r.loss),
                })
                .collect();
            println!(
                "{:>5} {:<5} {:<40} {:>10.2e} {:>10.2e} {:>5.1} s",
                measured.len,
                name,
                losses.join("  "),
                measured.run_median(|r| r.peak_h),
                measured.run_median(|r| r.peak_grad),
                measured.seconds,
            );
        }
    }
    let runs = pairs.len() as u64 * options.seeds;
    let count = |pick: fn(&(Measured, Measured)) -> &Measured| -> usize {
        pairs.iter().map(|p| pick(p).diverged()).sum()
    };
    println!(
        "\ndiverged: tanh {} of {runs} runs, relu {} of {runs} ({:.1} s in all)",
        count(|p| &p.0),
        count(|p| &p.1),
        start.elapsed().as_secs_f64()
    );

    chart(&options.out, options, &pairs)?;
    println!("chart: {}", options.out.display());
    if let Some(path) = &options.readme_image {
        chart(path, options, &pairs)?;
        println!("chart: {}", path.display());
    }

    let (tanh, relu) = &pairs[pairs.len() - 1];
    let ratio = relu.run_median(|r| r.peak_h) / tanh.run_median(|r| r.peak_h);
    println!("peak_h_ratio: {ratio:.2}");
    Ok(ratio)
}

/// Every parameter value of `net`, in order.
fn param_values(net: &mut impl HasParams) -> Vec<f32> {
    let mut values = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |_: &ParamPath<'_>, p: Param<'_>| values.extend_from_slice(p.value),
    );
    values
}

/// `max |h|` and `‖∇θ‖` against `T`, at init and at the training peak, tanh and relu.
fn chart(path: &Path, options: &Options, pairs: &[(Measured, Measured)]) -> Result<()> {
    let curves = |at_init: fn(&AtInit) -> f32, peak: fn(&Run) -> f32| {
        let series = |pick: fn(&(Measured, Measured)) -> &Measured, peak_run: bool| {
            pairs
                .iter()
                .map(|p| {
                    let m = pick(p);
                    let y = if peak_run {
                        m.run_median(peak)
                    } else {
                        m.init_median(at_init)
                    };
                    (m.len as f64, f64::from(y))
                })
                .collect::<Vec<_>>()
        };
        vec![
            Curve {
                label: "relu, training peak".into(),
                points: series(|p| &p.1, true),
                color: ORANGE,
                style: Style::LineDots,
                width: 3,
            },
            Curve {
                label: "tanh, training peak".into(),
                points: series(|p| &p.0, true),
                color: BLUE,
                style: Style::LineDots,
                width: 3,
            },
            Curve {
                label: "relu, at init".into(),
                points: series(|p| &p.1, false),
                color: ORANGE,
                style: Style::DashedCircles,
                width: 2,
            },
            Curve {
                label: "tanh, at init".into(),
                points: series(|p| &p.0, false),
                color: BLUE,
                style: Style::DashedCircles,
                width: 2,
            },
        ]
    };
    // Each length where a run diverged is marked on the relu (or tanh) training peak.
    let notes = |peak: fn(&Run) -> f32| {
        pairs
            .iter()
            .flat_map(|(tanh, relu)| [(tanh, BLUE), (relu, ORANGE)])
            .filter(|(m, _)| m.diverged() > 0)
            .map(|(m, color)| Note {
                at: (m.len as f64, f64::from(m.run_median(peak))),
                text: format!("{}/{} diverged", m.diverged(), m.runs.len()),
                color,
            })
            .collect::<Vec<_>>()
    };
    let seeds = if options.seeds == 1 {
        format!("seed {}", options.seed)
    } else {
        format!("median of {} seeds", options.seeds)
    };
    let panels = [
        Panel {
            title: format!("largest hidden activation max |h| ({seeds})"),
            x_label: "sequence length T".into(),
            y_label: "max |h|".into(),
            curves: curves(|m| m.max_h, |r| r.peak_h),
            notes: notes(|r| r.peak_h),
        },
        Panel {
            title: format!("parameter gradient norm ‖∇θ‖ ({seeds})"),
            x_label: "sequence length T".into(),
            y_label: "‖∇θ‖".into(),
            curves: curves(|m| m.grad_norm, |r| r.peak_grad),
            notes: notes(|r| r.peak_grad),
        },
    ];
    let title = format!(
        "rnn(1 -> {HIDDEN}): tanh vs relu on a running sum, {} {} × {} steps, no clipping",
        options.optimizer.name(),
        options.lr,
        options.steps
    );
    series_plots::log_log_panels(path, &title, &panels, (8.0, 250.0), (1200, 520))
}
