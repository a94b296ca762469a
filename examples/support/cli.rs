//! What the classifier examples (`mnist_cnn`, `mnist_lstm`, `resnet8`, ...) share: their flags
//! and env vars, and the exit status. MNIST is the default data set; [`main_with`] takes
//! another folder ([`Data`]).

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::args::{self, parse_value};
use crate::{fashion_fetch, mnist_fetch};

/// Where an example's data set lives: the env var that names its folder, and the folder
/// otherwise.
pub struct Data {
    pub env: &'static str,
    pub default_dir: fn() -> PathBuf,
}

/// MNIST, in `MNIST_DIR` or `data/mnist`.
pub const MNIST: Data = Data {
    env: "MNIST_DIR",
    default_dir: mnist_fetch::default_dir,
};

/// Fashion-MNIST, in `FASHION_MNIST_DIR` or `data/fashion-mnist`.
pub const FASHION_MNIST: Data = Data {
    env: "FASHION_MNIST_DIR",
    default_dir: fashion_fetch::default_dir,
};

/// An example's defaults for the flags that differ between examples.
pub struct Defaults {
    pub epochs: usize,
    pub lr: f32,
    pub lr_decay: f32,
}

/// Command-line options; flags win over env vars.
pub struct Options {
    pub epochs: usize,
    pub seed: u64,
    /// Adam's learning rate in the first epoch.
    pub lr: f32,
    /// The learning rate's factor from one epoch to the next.
    pub lr_decay: f32,
    pub min_accuracy: Option<f64>,
    pub data_dir: PathBuf,
    /// Where to write the trained weights (safetensors, PyTorch's names), if anywhere.
    pub save: Option<PathBuf>,
}

/// The usage line for `example`, listing the flags [`Options::parse`] reads.
pub fn usage(example: &str, data: &Data) -> String {
    format!(
        "usage: cargo run --release --example {example} -- \
[--epochs N] [--seed N] [--lr X] [--lr-decay X] [--min-accuracy X] [--data-dir DIR] [--save PATH]
(or the env vars MNIST_EPOCHS, MNIST_SEED, MNIST_MIN_ACCURACY, {})",
        data.env
    )
}

impl Options {
    pub fn parse(usage: &str, defaults: Defaults, data: &Data) -> Result<Self, String> {
        let mut epochs = env_value("MNIST_EPOCHS")?;
        let mut seed = env_value("MNIST_SEED")?;
        let mut min_accuracy = env_value("MNIST_MIN_ACCURACY")?;
        let (mut lr, mut lr_decay, mut save) = (None, None, None);
        let mut data_dir = std::env::var_os(data.env)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        for (flag, value) in args::flags(usage)? {
            match flag.as_str() {
                "--epochs" => epochs = Some(parse_value(&flag, &value)?),
                "--seed" => seed = Some(parse_value(&flag, &value)?),
                "--lr" => lr = Some(parse_value(&flag, &value)?),
                "--lr-decay" => lr_decay = Some(parse_value(&flag, &value)?),
                "--min-accuracy" => min_accuracy = Some(parse_value(&flag, &value)?),
                "--data-dir" => data_dir = Some(PathBuf::from(value)),
                "--save" if cfg!(feature = "weights") => save = Some(PathBuf::from(value)),
                "--save" => {
                    return Err(
                        "`--save` writes a safetensors file, which needs this package's `weights` feature: add `--features weights`"
                            .to_string(),
                    );
                }
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        Ok(Self {
            epochs: epochs.unwrap_or(defaults.epochs),
            seed: seed.unwrap_or(0),
            lr: lr.unwrap_or(defaults.lr),
            lr_decay: lr_decay.unwrap_or(defaults.lr_decay),
            min_accuracy,
            data_dir: data_dir.unwrap_or_else(data.default_dir),
            save,
        })
    }
}

fn env_value<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => parse_value(name, &value).map(Some),
        _ => Ok(None),
    }
}

/// Parses the options, runs `run`, and turns its test accuracy into the exit status: 2 for a
/// bad flag, 1 for an error or an accuracy below `--min-accuracy`. The data is MNIST.
pub fn main(
    example: &str,
    defaults: Defaults,
    run: impl FnOnce(&Options) -> Result<f64, Box<dyn Error>>,
) -> ExitCode {
    main_with(example, defaults, &MNIST, run)
}

/// [`main`] for an example whose data set is `data`.
pub fn main_with(
    example: &str,
    defaults: Defaults,
    data: &Data,
    run: impl FnOnce(&Options) -> Result<f64, Box<dyn Error>>,
) -> ExitCode {
    let usage = usage(example, data);
    let options = match Options::parse(&usage, defaults, data) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(accuracy) => match options.min_accuracy {
            Some(min) if accuracy < min => {
                eprintln!("error: test accuracy {accuracy:.4} is below the required {min}");
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

/// Writes `net`'s weights where `--save` says, if it says anywhere.
#[cfg(feature = "weights")]
pub fn save_weights(
    net: &impl nn::param::HasParams,
    options: &Options,
) -> Result<(), Box<dyn Error>> {
    if let Some(path) = &options.save {
        nn::weights::save(net, path)?;
        println!("saved the weights to {}", path.display());
    }
    Ok(())
}

/// Without the `weights` feature, `--save` is refused when the flags are read.
#[cfg(not(feature = "weights"))]
pub fn save_weights<N>(_: &N, _: &Options) -> Result<(), Box<dyn Error>> {
    Ok(())
}
