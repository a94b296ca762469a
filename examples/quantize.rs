//! int8 MNIST: post-training quantization, quantization-aware training, and the bake, on the
//! real test set.
//!
//! ```text
//! cargo run --release --example quantize --features baked
//! cargo run --release --example quantize --features baked -- --save models   # rewrite the .q files (then rebuild: they are baked in)
//! ```
//!
//! The float networks are the committed `models/mnist_mlp.safetensors` (the `mnist` example's
//! run) and `models/mnist_cnn.safetensors` (`mnist_cnn`'s). For each:
//! 1. **post-training**: `nn::quant` calibrates every activation's range over 1 000 training
//!    images with each of its four rules (min/max, a moving average, the 99.99th percentile,
//!    least squared error), folds the CNN's batch norms into its convolutions, and quantizes
//!    weights per output channel; the rule kept is the one with the best accuracy on the last
//!    5 000 training images, which calibration did not see (the test set never chooses);
//! 2. **quantization-aware training**: `nn::quant::Qat` trains the float network for one epoch
//!    through fake quantization, from the kept rule's ranges, over the training images but
//!    those 5 000; beside it, the float network trains the same epoch without, as a control;
//! 3. the int8 model kept is whichever of the two does better on the 5 000.
//!
//! The int8 networks run on `nn::quant`'s kernels, TensorFlow Lite Micro's arithmetic to the
//! bit (`tests/int8_tflm.rs`). Then it bakes: `models/mnist_mlp.q.safetensors` and
//! `models/mnist_cnn.q.safetensors` (this example's kept models, written with `--save models`)
//! are baked into `MlpInt8Baked` and `CnnInt8Baked` by `network!` at compile time, and each
//! must give the runtime model's bytes on every test image.
//!
//! With `--save DIR`, the kept models are written as `DIR/mnist_mlp.q.safetensors` and
//! `DIR/mnist_cnn.q.safetensors` (the names are in `nn::quant`'s docs). The last four lines
//! are `mlp_float_accuracy`, `mlp_int8_accuracy`, `cnn_float_accuracy` and
//! `cnn_int8_accuracy`, on all 10 000 test images.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use nn_examples::{args, mnist_fetch};

use nn::data::mnist::Mnist;
use nn::data::{LastBatch, Standardize};
use nn::prelude::*;
use nn::quant::{Calibration, Qat, QuantModel, Quantize, calibrate, float_tensors};
use nn::train::{CrossEntropy, Fit, Progress};

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
/// Epochs of quantization-aware training, from the trained float network.
const QAT_EPOCHS: usize = 1;

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
    let ptq = study("mlp", &mlp, &flat.train, &flat.test)?;
    let qat = quantization_aware!(Mlp, "mlp", mlp, ptq, &flat.train, &flat.test, 1e-4);
    let (mlp_float, mlp_int8) = keep("mlp", ptq, qat, &save)?;

    let mut images = Mnist::load_images(&data_dir)?;
    Standardize::MNIST.apply_dataset(&mut images.train);
    Standardize::MNIST.apply_dataset(&mut images.test);
    let mut cnn = Cnn::seeded(0);
    nn::weights::load(&mut cnn, models.join("mnist_cnn.safetensors"))?;
    let ptq = study("cnn", &cnn, &images.train, &images.test)?;
    let qat = quantization_aware!(Cnn, "cnn", cnn, ptq, &images.train, &images.test, 1e-4);
    let (cnn_float, cnn_int8) = keep("cnn", ptq, qat, &save)?;

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

/// What post-training quantization of one network gave: the float test accuracy, the kept
/// rule, its held-out and test accuracies, and its model.
struct Quantized {
    float_accuracy: f64,
    rule: Calibration,
    held_out: f64,
    tested: f64,
    model: QuantModel,
}

/// Quantization-aware training of `$net` (a `$ty`) for one epoch over the training images
/// calibration's rule and the held-out ones did not pick from, from the kept rule's ranges:
/// `(held-out accuracy, test accuracy, model)`.
macro_rules! quantization_aware {
    ($ty:ty, $name:expr, $net:expr, $ptq:expr, $train:expr, $test:expr, $lr:expr) => {{
        let started = Instant::now();
        let train = $train;
        let per_sample = <$ty as Quantize>::PLAN.inputs();
        let calibration_set = &train.inputs()[..CALIBRATION_IMAGES * per_sample];
        let mut qat = Qat::new($net.clone(), calibration_set, $ptq.rule)?;
        let fitted = train.first(train.len() - VALIDATION_IMAGES);
        Fit::new(&mut qat, &mut Adam::new($lr), CrossEntropy)
            .epochs(QAT_EPOCHS)
            .progress(Progress::Silent)
            .run(fitted.shuffled_batches::<64>(LastBatch::Drop, 7)?)?;
        let model = qat.model()?;
        // The control: the float network trained the same epoch without fake quantization,
        // so that the gain of the extra training shows apart from quantization's.
        let mut control = $net.clone();
        Fit::new(&mut control, &mut Adam::new($lr), CrossEntropy)
            .epochs(QAT_EPOCHS)
            .progress(Progress::Silent)
            .run(fitted.shuffled_batches::<64>(LastBatch::Drop, 7)?)?;
        let control_tensors = float_tensors(&control);
        let control_accuracy = accuracy($test, 0..$test.len(), |x| {
            float_class::<$ty>(&control_tensors, x)
        });
        println!(
            "{}: {:<20} test {control_accuracy:.4} (the same epoch in float, for comparison)",
            $name, "float, 1 more epoch"
        );
        let validation = train.len() - VALIDATION_IMAGES..train.len();
        let held_out = accuracy(train, validation, |x| int8_class(&model, x));
        let tested = accuracy($test, 0..$test.len(), |x| int8_class(&model, x));
        println!(
            "{}: {:<20} held-out {held_out:.4}  test {tested:.4}  ({:.1} s)",
            $name,
            "QAT, 1 epoch",
            started.elapsed().as_secs_f64()
        );
        (held_out, tested, model)
    }};
}
use quantization_aware;

/// Keeps post-training or quantization-aware int8, whichever does better on the held-out
/// images, writes it under `--save`, and returns the float and kept int8 test accuracies.
fn keep(
    name: &str,
    ptq: Quantized,
    (qat_held_out, qat_tested, qat_model): (f64, f64, QuantModel),
    save: &Option<PathBuf>,
) -> Result<(f64, f64)> {
    let (how, tested, model) = if qat_held_out > ptq.held_out {
        ("quantization-aware training", qat_tested, qat_model)
    } else {
        ("post-training quantization", ptq.tested, ptq.model)
    };
    println!(
        "{name}: kept {how}: int8 test accuracy {tested:.4} ({:+.2} points from float)",
        100.0 * (tested - ptq.float_accuracy)
    );
    if let Some(dir) = save {
        let path = dir.join(format!("mnist_{name}.q.safetensors"));
        model.save(&path)?;
        println!("{name}: wrote {}", path.display());
    }
    Ok((ptq.float_accuracy, tested))
}

/// Calibrates `net` with each rule and keeps the best on held-out images.
fn study<N, S>(
    name: &str,
    net: &N,
    train: &nn::data::Dataset<S>,
    test: &nn::data::Dataset<S>,
) -> Result<Quantized>
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

    let mut kept: Option<(f64, f64, &str, Calibration, QuantModel)> = None;
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
            kept = Some((held_out, tested, rule, calibration, model));
        }
    }
    let (held_out, tested, rule, calibration, model) = kept.ok_or("no calibration rule")?;
    println!(
        "{name}: post-training: kept {rule}: int8 test accuracy {tested:.4} ({:+.2} points)",
        100.0 * (tested - float_accuracy)
    );
    Ok(Quantized {
        float_accuracy,
        rule: calibration,
        held_out,
        tested,
        model,
    })
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
