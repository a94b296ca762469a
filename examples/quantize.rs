//! int8 post-training quantization of the MNIST MLP and CNN, on the real test set.
//!
//! ```text
//! cargo run --release --example quantize --features baked
//! cargo run --release --example quantize --features baked -- --save models   # rewrite the .q files (then rebuild: they are baked in)
//! ```
//!
//! The float networks are the committed `models/mnist_mlp.safetensors` (the `mnist` example's
//! run) and `models/mnist_cnn.safetensors` (`mnist_cnn`'s). For each, `nn::quant` calibrates
//! every activation's range over 1 000 training images with each of its four rules (min/max,
//! a moving average, the 99.99th percentile, least squared error), folds the CNN's batch norms
//! into its convolutions, and quantizes weights per output channel. The rule kept is the one
//! with the best accuracy on the last 5 000 training images, which calibration did not see
//! (the test set never chooses); every rule's test accuracy is printed beside it. The int8 networks run on `nn::quant`'s
//! reference kernels, TensorFlow Lite Micro's arithmetic to the bit (`tests/int8_tflm.rs`).
//!
//! Then it bakes: `models/mnist_mlp.q.safetensors` and `models/mnist_cnn.q.safetensors` (this
//! example's kept models, written with `--save models`) are baked into `MlpInt8Baked` and
//! `CnnInt8Baked` by `network!` at compile time, and each must give the runtime model's bytes
//! on every test image.
//!
//! With `--save DIR`, the kept models are written as `DIR/mnist_mlp.q.safetensors` and
//! `DIR/mnist_cnn.q.safetensors` (the names are in `nn::quant`'s docs). The last four lines
//! are `mlp_float_accuracy`, `mlp_int8_accuracy`, `cnn_float_accuracy` and
//! `cnn_int8_accuracy`, on all 10 000 test images.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use nn_examples::{args, mnist_fetch};

use nn::data::Standardize;
use nn::data::mnist::Mnist;
use nn::prelude::*;
use nn::quant::{Calibration, QuantModel, Quantize, calibrate, float_tensors};

network! {
    /// `examples/mnist.rs`'s MLP.
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    /// `examples/mnist_cnn.rs`'s CNN.
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        conv2: conv2d(16 -> 32, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        flatten,
        fc1: dense(1568 -> 128), relu, dropout(0.3),
        fc2: dense(128 -> 10),
    >

    /// The MLP baked in int8 from the committed quantized file (what `--save models` writes).
    #[weights = "../models/mnist_mlp.q.safetensors"]
    #[baked_only]
    pub struct MlpInt8< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    /// The CNN baked in int8 from the committed quantized file.
    #[weights = "../models/mnist_cnn.q.safetensors"]
    #[baked_only]
    pub struct CnnInt8<
        input(1, 28, 28),
        conv1: conv2d(1 -> 16, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        conv2: conv2d(16 -> 32, kernel = 5, padding = 2), batch_norm, relu, max_pool(2),
        flatten,
        fc1: dense(1568 -> 128), relu, dropout(0.3),
        fc2: dense(128 -> 10),
    >
}

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo run --release --example quantize --features baked -- [--data-dir DIR] [--save DIR]";

/// Training images calibration observes.
const CALIBRATION_IMAGES: usize = 1000;
/// Training images calibration does not see (the last of the set), which pick the rule.
const VALIDATION_IMAGES: usize = 5000;

const RULES: [(&str, Calibration); 4] = [
    ("min/max", Calibration::MinMax),
    (
        "moving average",
        Calibration::MovingAverage { momentum: 0.01 },
    ),
    ("percentile 99.99", Calibration::Percentile(99.99)),
    ("least squared error", Calibration::Mse),
];

fn main() -> Result<()> {
    let mut data_dir = std::env::var_os("MNIST_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let mut save = None;
    for (flag, value) in args::flags(USAGE)? {
        match flag.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            "--save" => save = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument `{flag}`\n\n{USAGE}").into()),
        }
    }
    let data_dir = data_dir.unwrap_or_else(mnist_fetch::default_dir);
    mnist_fetch::ensure_mnist(&data_dir)?;
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");

    // The MLP reads pixels in [0, 1]; the CNN standardized ones, as each was trained.
    let flat = Mnist::load(&data_dir)?;
    let mut mlp = Mlp::seeded(0);
    nn::weights::load(&mut mlp, models.join("mnist_mlp.safetensors"))?;
    let (mlp_float, mlp_int8) = study("mlp", &mlp, &flat.train, &flat.test, &save)?;

    let mut images = Mnist::load_images(&data_dir)?;
    Standardize::MNIST.apply_dataset(&mut images.train);
    Standardize::MNIST.apply_dataset(&mut images.test);
    let mut cnn = Cnn::seeded(0);
    nn::weights::load(&mut cnn, models.join("mnist_cnn.safetensors"))?;
    let (cnn_float, cnn_int8) = study("cnn", &cnn, &images.train, &images.test, &save)?;

    // The bake: the committed files, baked by `network!`, against the runtime model of the
    // same bytes (as compiled in: `--save` may have rewritten the files since), on every test
    // image.
    let baked_mlp = QuantModel::from_bytes(&Mlp::PLAN, MlpInt8Baked::WEIGHTS_FILE_BYTES)?;
    let same = baked_matches(
        &baked_mlp,
        &flat.test,
        |x, work: &mut Vec<i8>| {
            let work: &mut [i8; MlpInt8Baked::WORK_LEN] = work.as_mut_slice().try_into().ok()?;
            Some(MlpInt8Baked::infer(x.try_into().ok()?, work).to_vec())
        },
        MlpInt8Baked::WORK_LEN,
    );
    println!(
        "mlp: baked int8 (models/mnist_mlp.q.safetensors) gives the runtime model's bytes on {same}/{} test images",
        flat.test.len()
    );
    let baked_cnn = QuantModel::from_bytes(&Cnn::PLAN, CnnInt8Baked::WEIGHTS_FILE_BYTES)?;
    let same_cnn = baked_matches(
        &baked_cnn,
        &images.test,
        |x, work: &mut Vec<i8>| {
            let work: &mut [i8; CnnInt8Baked::WORK_LEN] = work.as_mut_slice().try_into().ok()?;
            Some(CnnInt8Baked::infer(x.try_into().ok()?, work).to_vec())
        },
        CnnInt8Baked::WORK_LEN,
    );
    println!(
        "cnn: baked int8 (models/mnist_cnn.q.safetensors) gives the runtime model's bytes on {same_cnn}/{} test images",
        images.test.len()
    );
    if same != flat.test.len() || same_cnn != images.test.len() {
        return Err("a baked int8 network differs from its runtime model".into());
    }

    println!("mlp_float_accuracy: {mlp_float:.4}");
    println!("mlp_int8_accuracy: {mlp_int8:.4}");
    println!("cnn_float_accuracy: {cnn_float:.4}");
    println!("cnn_int8_accuracy: {cnn_int8:.4}");
    Ok(())
}

/// Calibrates `net` with each rule, keeps the best on held-out images, and returns the float
/// and kept int8 test accuracies.
fn study<N, S>(
    name: &str,
    net: &N,
    train: &nn::data::Dataset<S>,
    test: &nn::data::Dataset<S>,
    save: &Option<PathBuf>,
) -> Result<(f64, f64)>
where
    N: Quantize + HasParams,
    S: nn::layers::Shape,
{
    let per_sample = N::PLAN.inputs();
    let calibration_set = &train.inputs()[..CALIBRATION_IMAGES * per_sample];
    let validation = train.len() - VALIDATION_IMAGES..train.len();
    let tensors = float_tensors(net);
    let float_accuracy = accuracy(test, 0..test.len(), |x| float_class::<N>(&tensors, x));
    println!("{name}: float test accuracy {float_accuracy:.4}");

    let mut kept: Option<(f64, f64, &str, QuantModel)> = None;
    for (rule, calibration) in RULES {
        let started = Instant::now();
        let ranges = calibrate::<N>(&tensors, calibration_set, calibration)?;
        let model = QuantModel::quantize(&N::PLAN, &tensors, &ranges)?;
        let held_out = accuracy(train, validation.clone(), |x| int8_class(&model, x));
        let tested = accuracy(test, 0..test.len(), |x| int8_class(&model, x));
        println!(
            "{name}: {rule:<20} held-out {held_out:.4}  test {tested:.4}  ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        if kept.as_ref().is_none_or(|(best, ..)| held_out > *best) {
            kept = Some((held_out, tested, rule, model));
        }
    }
    let (_, int8_accuracy, rule, model) = kept.ok_or("no calibration rule")?;
    println!(
        "{name}: kept {rule}: int8 test accuracy {int8_accuracy:.4} ({:+.2} points)",
        100.0 * (int8_accuracy - float_accuracy)
    );
    if let Some(dir) = save {
        let path = dir.join(format!("mnist_{name}.q.safetensors"));
        model.save(&path)?;
        println!("{name}: wrote {}", path.display());
    }
    Ok((float_accuracy, int8_accuracy))
}

/// The class the float network (as calibration runs it) gives one sample.
fn float_class<N: Quantize>(tensors: &nn::quant::FloatTensors, x: &[f32]) -> usize {
    // A plan with one step per layer, run in float: the same kernels as the baked network.
    let out = nn::quant::float_outputs(&N::PLAN, tensors, x).expect("the network's tensors");
    argmax(&out)
}

fn int8_class(model: &QuantModel, x: &[f32]) -> usize {
    thread_local! {
        static ACTIVATIONS: std::cell::RefCell<Option<nn::quant::Activations>> = const { std::cell::RefCell::new(None) };
    }
    ACTIVATIONS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let activations = cell.get_or_insert_with(|| model.activations());
        argmax(model.predict(x, activations))
    })
}

/// The share of `indices` of `data` that `classify` gets right, split over two threads.
fn accuracy<S: nn::layers::Shape>(
    data: &nn::data::Dataset<S>,
    indices: std::ops::Range<usize>,
    classify: impl Fn(&[f32]) -> usize + Sync,
) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let total = indices.len();
    let chunk = total.div_ceil(threads).max(1);
    let correct: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (indices.start..indices.end)
            .step_by(chunk)
            .map(|start| {
                let classify = &classify;
                let end = (start + chunk).min(indices.end);
                scope.spawn(move || {
                    (start..end)
                        .filter_map(|i| data.sample(i))
                        .filter(|(x, label)| classify(x) == *label)
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    correct as f64 / total.max(1) as f64
}

/// How many test images the baked network `infer` classifies into the bytes of `model`.
fn baked_matches<S: nn::layers::Shape>(
    model: &QuantModel,
    data: &nn::data::Dataset<S>,
    infer: impl Fn(&[i8], &mut Vec<i8>) -> Option<Vec<i8>>,
    work_len: usize,
) -> usize {
    let mut activations = model.activations();
    let mut work = vec![0i8; work_len];
    (0..data.len())
        .filter_map(|i| data.sample(i))
        .filter(|(x, _)| {
            let q = model.quantize_input(x);
            let expected = model.infer(&q, &mut activations).to_vec();
            infer(&q, &mut work).is_some_and(|got| got == expected)
        })
        .count()
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}
