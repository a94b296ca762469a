//! # Next-value forecasting of a noisy multi-frequency series: an LSTM against a dense network
//!
//! ```text
//! cargo run --release --example forecast --features plots                      # 50 epochs each, about 4 s
//! cargo run --release --example forecast --features plots -- --readme-image docs/images/forecast.png
//! cargo run --release --example forecast --features plots -- --epochs 10 --max-mse-ratio 0.6 --out target/forecast-smoke.png   # CI, ~1 s
//! ```
//!
//! The series (fixed, seeded, so every run sees the same data) is three sines with periods 60,
//! 23 and 9 steps plus Gaussian noise,
//!
//! ```text
//! s_t = sin(2π t / 60) + 0.5 sin(2π t / 23 + 0.7) + 0.25 sin(2π t / 9 + 1.9) + ε_t,   ε_t ~ N(0, 0.2²)
//! ```
//!
//! for `t` = 0 .. 4999. The split is in time: the models train on the targets `t` < 4000 and are
//! tested on the 1000 after, so a test value is never seen in training (its window may reach back
//! into the training stretch, which is what a forecaster has). Each sample is the window of the
//! `W` = 32 past values, and the target the next value. Two models read the same windows:
//!
//! ```text
//! LSTM:  (32, 1) lstm(1 -> 32) -> (32, 32) last -> (32) dense(32 -> 1) -> (1)
//! dense: (32) dense(32 -> 64) -> relu -> dense(64 -> 1) -> (1)
//! ```
//!
//! both trained with MSE and Adam (2e-3, batches of 32 windows reshuffled every epoch, no
//! gradient clipping) for the same number of epochs. For reference it also scores the naive
//! forecast (the last value of the window) and states the noise floor, `σ² = 0.04`: the MSE of
//! a forecaster that knew the clean signal exactly, since the next value's own noise cannot be
//! predicted.
//!
//! ## Output
//! The mean training loss of both models (over each epoch, while they train) after epoch 1, every
//! 5th and the last, and the training time; then, on the test stretch, every forecaster's MSE
//! against the observed (noisy) next value and against the clean signal (how much of the signal
//! it recovered), and its parameter count. A PNG (`--out`, default `target/forecast.png`) draws
//! the first 200 test steps: the observed values, the clean signal, and both models' forecasts.
//! The last line is `lstm_test_mse: X`.
//!
//! ## What the numbers show
//! Default run (seed 0, 50 epochs, about 4 s on one core): test MSE **0.0468** for the LSTM,
//! **0.0530** for the dense network and 0.1057 for the naive forecast, against the noise floor
//! of 0.0400; against the clean signal 0.0097, 0.0167 and 0.0679. Both models halve the naive
//! error and get within 0.007 to 0.013 of the floor; the dense network trains to a lower
//! training loss (0.044 in the last epoch, against the LSTM's 0.049) but tests worse, a little
//! overfitted. The LSTM's lead is within the spread over seeds, though: with `--seed 1` it is
//! 0.0500 against 0.0524, with `--seed 2` 0.0518 against **0.0497** for the dense network. So on
//! this series the LSTM is not clearly better, which is to be expected: a sum of sines obeys a
//! linear recurrence (each sine `x_t = 2 cos ω · x_{t−1} − x_{t−2}`), so a filter over the
//! window, which the dense network learns easily with half the parameters, is already near the
//! best forecast; the LSTM is also slower to train (test MSE 0.094 after 3 epochs, the dense
//! network 0.056; 0.0516 and 0.0532 after 10, what CI runs).
//!
//! ## Options
//! | flag | default | |
//! |---|---|---|
//! | `--epochs N` | 50 | passes over the training windows, for each model |
//! | `--lr X` | 2e-3 | Adam's learning rate |
//! | `--seed N` | 0 | weight init and shuffling (the series itself is fixed) |
//! | `--max-mse-ratio X` | none | exit with status 1 unless the LSTM's test MSE is at most `X` times the naive forecast's |
//! | `--out PATH` | `target/forecast.png` | the chart |
//! | `--readme-image PATH` | none | also write the chart there |

use std::error::Error;
use std::f32::consts::TAU;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use nn_examples::args;
use nn_examples::series_plots;

use args::parse_value;
use nn::init::{Rng, seeded, standard_normal, uniform};
use nn::prelude::*;
use series_plots::{BLUE, Curve, GREY, ORANGE, Panel, Style};

/// The window: how many past values each forecast reads.
const W: usize = 32;
/// LSTM units.
const HIDDEN: usize = 32;
/// The dense baseline's hidden width.
const DENSE_HIDDEN: usize = 64;
/// Training batch size.
const BATCH: usize = 32;
/// Evaluation batch size; divides the test stretch.
const EVAL_BATCH: usize = 100;
/// The series' length, and where its test stretch begins.
const LEN: usize = 5000;
const TEST_START: usize = 4000;
/// The noise's standard deviation.
const NOISE: f32 = 0.2;
/// The seed of the series' noise: fixed, so that the data is the same in every run.
const SERIES_SEED: u64 = 2024;
/// How many test steps the chart shows.
const CHART_STEPS: usize = 200;

network! {
    /// An LSTM over the window, then a dense head on its final state.
    pub struct Recurrent< input(W, 1), lstm: lstm(1 -> HIDDEN), last, head: dense(HIDDEN -> 1) >

    /// A dense network over the same window, flat.
    pub struct Flat< input(W), fc1: dense(W -> DENSE_HIDDEN), relu, fc2: dense(DENSE_HIDDEN -> 1) >
}

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The clean signal at `t`.
fn clean(t: usize) -> f32 {
    let t = t as f32;
    (TAU * t / 60.0).sin() + 0.5 * (TAU * t / 23.0 + 0.7).sin() + 0.25 * (TAU * t / 9.0 + 1.9).sin()
}

/// The series: the clean signal and what is observed, the signal plus noise.
struct Series {
    clean: Vec<f32>,
    observed: Vec<f32>,
}

impl Series {
    fn new() -> Self {
        let mut rng = seeded(SERIES_SEED);
        let clean: Vec<f32> = (0..LEN).map(clean).collect();
        let observed = clean
            .iter()
            .map(|c| c + NOISE * standard_normal(&mut rng))
            .collect();
        Self { clean, observed }
    }

    /// Fills `x` with the windows before each target index in `targets` (one row of `W` per
    /// target) and `y` with the observed targets.
    fn fill(&self, targets: &[usize], x: &mut [f32], y: &mut [f32]) {
        for ((&t, row), y) in targets.iter().zip(x.chunks_exact_mut(W)).zip(y) {
            row.copy_from_slice(&self.observed[t - W..t]);
            *y = self.observed[t];
        }
    }
}

/// Shuffles `values` in place (Fisher–Yates) from `rng`.
fn shuffle(values: &mut [usize], rng: &mut Rng) {
    for i in (1..values.len()).rev() {
        let j = ((uniform(rng, 0.0, 1.0) * (i + 1) as f32) as usize).min(i);
        values.swap(i, j);
    }
}

/// Command-line options.
struct Options {
    epochs: usize,
    lr: f32,
    seed: u64,
    max_mse_ratio: Option<f64>,
    out: PathBuf,
    readme_image: Option<PathBuf>,
}

const USAGE: &str = "usage: cargo run --release --example forecast --features plots -- \
[--epochs N] [--lr X] [--seed N] [--max-mse-ratio X] [--out PATH] [--readme-image PATH]";

impl Options {
    fn parse() -> Result<Self, String> {
        let mut options = Self {
            epochs: 50,
            lr: 2e-3,
            seed: 0,
            max_mse_ratio: None,
            out: PathBuf::from(env!("WORKSPACE_DIR"))
                .join("target")
                .join("forecast.png"),
            readme_image: None,
        };
        for (flag, value) in args::flags(USAGE)? {
            match flag.as_str() {
                "--epochs" => options.epochs = parse_value(&flag, &value)?,
                "--lr" => options.lr = parse_value(&flag, &value)?,
                "--seed" => options.seed = parse_value(&flag, &value)?,
                "--max-mse-ratio" => options.max_mse_ratio = Some(parse_value(&flag, &value)?),
                "--out" => options.out = PathBuf::from(value),
                "--readme-image" => options.readme_image = Some(PathBuf::from(value)),
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        Ok(options)
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
        Ok(ratio) => match options.max_mse_ratio {
            Some(max) if ratio.is_nan() || ratio > max => {
                eprintln!(
                    "error: the LSTM's test MSE is {ratio:.3} times the naive forecast's, above the allowed {max}"
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

/// A forecaster's test scores and its forecasts over the test stretch.
struct Scored {
    name: &'static str,
    params: usize,
    /// Against the observed next value.
    mse: f64,
    /// Against the clean signal.
    clean_mse: f64,
    forecasts: Vec<f32>,
}

fn score(name: &'static str, params: usize, series: &Series, forecasts: Vec<f32>) -> Scored {
    let mse_against = |truth: &[f32]| {
        forecasts
            .iter()
            .zip(truth)
            .map(|(&f, &t)| f64::from(f - t).powi(2))
            .sum::<f64>()
            / forecasts.len() as f64
    };
    Scored {
        name,
        params,
        mse: mse_against(&series.observed[TEST_START..]),
        clean_mse: mse_against(&series.clean[TEST_START..]),
        forecasts,
    }
}

/// Trains both models, prints the scores, writes the chart, and returns the LSTM's test MSE over
/// the naive forecast's.
fn run(options: &Options) -> Result<f64> {
    let series = Series::new();
    println!(
        "series: sin(2πt/60) + 0.5 sin(2πt/23 + 0.7) + 0.25 sin(2πt/9 + 1.9) + N(0, {NOISE}²), t = 0..{LEN}; \
         train on targets t < {TEST_START}, test on the {} after; windows of {W} past values",
        LEN - TEST_START
    );
    println!(
        "LSTM lstm(1 -> {HIDDEN}), last, dense({HIDDEN} -> 1): {} parameters; dense dense({W} -> {DENSE_HIDDEN}), relu, \
         dense({DENSE_HIDDEN} -> 1): {} parameters; Adam {}, batches of {BATCH}, {} epochs, seed {}",
        Recurrent::PARAM_COUNT,
        Flat::PARAM_COUNT,
        options.lr,
        options.epochs,
        options.seed
    );

    let mut lstm = Recurrent::seeded(options.seed);
    let mut dense = Flat::seeded(options.seed);
    let mut lstm_adam = Adam::new(options.lr);
    let mut dense_adam = Adam::new(options.lr);
    let mut lstm_tape = RecurrentTape::<BATCH>::new();
    let mut dense_tape = FlatTape::<BATCH>::new();
    let mut lstm_x = Tensor3::<BATCH, W, 1>::zeros();
    let mut dense_x = Tensor2::<BATCH, W>::zeros();
    let mut target = Tensor2::<BATCH, 1>::zeros();
    let mut dy = Tensor2::<BATCH, 1>::zeros();

    // Both models see the same batches in the same order.
    let mut order: Vec<usize> = (W..TEST_START).collect();
    let mut rng = seeded(options.seed);
    let start = Instant::now();
    for epoch in 1..=options.epochs {
        let epoch_start = Instant::now();
        shuffle(&mut order, &mut rng);
        let (mut lstm_sum, mut dense_sum, mut steps) = (0.0f64, 0.0f64, 0usize);
        for targets in order.chunks_exact(BATCH) {
            series.fill(targets, lstm_x.as_mut_slice(), target.as_mut_slice());
            dense_x.as_mut_slice().copy_from_slice(lstm_x.as_slice());

            lstm.zero_grad();
            let y = lstm.forward_train(&lstm_x, &mut lstm_tape);
            lstm_sum += f64::from(mse(y, &target, &mut dy));
            lstm.backward_params(&mut lstm_tape, &dy);
            lstm_adam.step(&mut lstm)?;

            dense.zero_grad();
            let y = dense.forward_train(&dense_x, &mut dense_tape);
            dense_sum += f64::from(mse(y, &target, &mut dy));
            dense.backward_params(&mut dense_tape, &dy);
            dense_adam.step(&mut dense)?;
            steps += 1;
        }
        if epoch > 1 && epoch % 5 != 0 && epoch != options.epochs {
            continue;
        }
        println!(
            "epoch {epoch:>2}/{}: train MSE  LSTM {:.4}  dense {:.4}  {:.1} s",
            options.epochs,
            lstm_sum / steps as f64,
            dense_sum / steps as f64,
            epoch_start.elapsed().as_secs_f64()
        );
    }
    println!("training: {:.1} s", start.elapsed().as_secs_f64());

    // Forecasts over the test stretch, on inference tapes.
    let test_targets: Vec<usize> = (TEST_START..LEN).collect();
    let mut lstm_eval = RecurrentTape::<EVAL_BATCH, Eval>::new();
    let mut dense_eval = FlatTape::<EVAL_BATCH, Eval>::new();
    let mut x3 = Tensor3::<EVAL_BATCH, W, 1>::zeros();
    let mut x2 = Tensor2::<EVAL_BATCH, W>::zeros();
    let mut y = Tensor2::<EVAL_BATCH, 1>::zeros();
    let (mut lstm_forecasts, mut dense_forecasts) = (Vec::new(), Vec::new());
    for targets in test_targets.chunks_exact(EVAL_BATCH) {
        series.fill(targets, x3.as_mut_slice(), y.as_mut_slice());
        x2.as_mut_slice().copy_from_slice(x3.as_slice());
        lstm_forecasts.extend_from_slice(lstm.infer(&x3, &mut lstm_eval).as_slice());
        dense_forecasts.extend_from_slice(dense.infer(&x2, &mut dense_eval).as_slice());
    }
    let naive: Vec<f32> = test_targets
        .iter()
        .map(|&t| series.observed[t - 1])
        .collect();
    let scores = [
        score("LSTM", Recurrent::PARAM_COUNT, &series, lstm_forecasts),
        score("dense", Flat::PARAM_COUNT, &series, dense_forecasts),
        score("naive (last value)", 0, &series, naive),
    ];
    let floor = f64::from(NOISE * NOISE);
    println!(
        "\ntest ({} steps)       MSE vs observed   MSE vs clean signal   parameters",
        LEN - TEST_START
    );
    for s in &scores {
        println!(
            "{:<20} {:>17.4} {:>21.4} {:>12}",
            s.name, s.mse, s.clean_mse, s.params
        );
    }
    println!("{:<20} {:>17.4} {:>21.4}", "noise floor (σ²)", floor, 0.0);

    chart(&options.out, &series, &scores)?;
    println!("chart: {}", options.out.display());
    if let Some(path) = &options.readme_image {
        chart(path, &series, &scores)?;
        println!("chart: {}", path.display());
    }
    println!("lstm_test_mse: {:.4}", scores[0].mse);
    Ok(scores[0].mse / scores[2].mse)
}

/// The first [`CHART_STEPS`] test steps: observed values, the clean signal, both forecasts.
fn chart(path: &Path, series: &Series, scores: &[Scored]) -> Result<()> {
    let steps = TEST_START..TEST_START + CHART_STEPS;
    let along = |values: &[f32]| -> Vec<(f64, f64)> {
        steps
            .clone()
            .zip(values)
            .map(|(t, &v)| (t as f64, f64::from(v)))
            .collect()
    };
    let panel = Panel {
        title: format!(
            "next-value forecasts on the test stretch (window {W}; test MSE over {} steps)",
            LEN - TEST_START
        ),
        x_label: "t".into(),
        y_label: "value".into(),
        curves: vec![
            Curve {
                label: format!("observed (noise σ = {NOISE})"),
                points: along(&series.observed[TEST_START..]),
                color: GREY,
                style: Style::Dots,
                width: 3,
            },
            Curve {
                label: "clean signal".into(),
                points: along(&series.clean[TEST_START..]),
                color: RGB_BLACK,
                style: Style::Line,
                width: 1,
            },
            Curve {
                label: format!("LSTM forecast (MSE {:.4})", scores[0].mse),
                points: along(&scores[0].forecasts),
                color: BLUE,
                style: Style::Line,
                width: 2,
            },
            Curve {
                label: format!("dense forecast (MSE {:.4})", scores[1].mse),
                points: along(&scores[1].forecasts),
                color: ORANGE,
                style: Style::Dashed,
                width: 2,
            },
        ],
        notes: Vec::new(),
    };
    series_plots::line_panel(
        path,
        &panel,
        (steps.start as f64, steps.end as f64),
        (1200, 480),
    )
}

/// Black, for the clean signal.
const RGB_BLACK: plotters::style::RGBColor = plotters::style::RGBColor(0, 0, 0);
