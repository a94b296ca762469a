//! Our side of `benches/compare/interop.py`, which checks weight files both ways between this
//! crate and PyTorch. Not a benchmark: `cargo bench -p nn` alone only prints how to use it.
//!
//! The script writes, for each model `NAME`, PyTorch's weights `torch_NAME.safetensors`
//! (`safetensors.torch.save_file(model.state_dict(), ...)`) and an input `NAME_x.safetensors`
//! into a directory, then runs `interop DIR`, which for each model:
//! 1. loads `torch_NAME.safetensors` into the network declared below, runs it on `x` and
//!    writes the output to `from_torch_NAME_y.safetensors`;
//! 2. trains a seeded network of its own for a few steps (so batch norm's running statistics
//!    move), saves it to `rust_NAME.safetensors` and its output on `x` to
//!    `rust_NAME_y.safetensors`, which the script loads into the PyTorch twin
//!    (`load_state_dict(strict=True)`) and compares.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nn::prelude::*;
use nn::weights;

network! {
    /// The MNIST MLP.
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >

    /// Two branches concatenated (one with a named layer), then a residual block.
    pub struct Branchy<
        input(6),
        fork {
            left: [dense(6 -> 4), relu],
            right: [fc: dense(6 -> 2), tanh],
        } => concat,
        block: fork { body: [dense(6 -> 6), relu], skip: skip } => add,
        head: dense(6 -> 3),
    >

    pub struct Encoder< fc1: dense(6 -> 4), tanh, fc2: dense(4 -> 2) >
    pub struct Decoder< fc1: dense(2 -> 4), sigmoid, fc2: dense(4 -> 6) >
    /// Two networks nested in a third.
    pub struct Autoencoder< encoder: Encoder, code: tanh, decoder: Decoder >

    /// Convolution, 2-D and 1-D batch norm (with running statistics), pooling.
    pub struct Cnn<
        input(1, 8, 8),
        conv1: conv2d(1 -> 3, kernel = 3, padding = 1), bn1: batch_norm, relu, max_pool(2),
        flatten, bn2: batch_norm, head: dense(48 -> 5),
    >

    /// An LSTM over 5 steps, its last state, a dense head.
    pub struct Recurrent< input(5, 3), lstm: lstm(3 -> 4), last, head: dense(4 -> 3) >
}

const B: usize = 4;

/// One named tensor, so that `nn::weights` reads and writes it as a file of one tensor.
struct Named<T> {
    name: &'static str,
    value: T,
    grad: T,
}

impl<T: Tensor> Named<T> {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            value: T::zeros(),
            grad: T::zeros(),
        }
    }
}

impl<T: Tensor> HasParams for Named<T> {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let param = Param {
            value: self.value.as_mut_slice(),
            grad: self.grad.as_mut_slice(),
            shape: T::SHAPE,
        };
        visitor.visit(&path.child(self.name), param);
    }

    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        let param = ParamRef {
            value: self.value.as_slice(),
            shape: T::SHAPE,
        };
        visitor.visit(&path.child(self.name), param);
    }
}

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Both directions for one model: see the module docs.
macro_rules! case {
    ($dir:expr, $name:literal, $net:ident, $tape:ident, $x:ty, $y:ty) => {{
        let dir: &Path = $dir;
        let file = |s: String| -> PathBuf { dir.join(s) };
        let mut x = Named::<$x>::new("x");
        weights::load(&mut x, file(format!("{}_x.safetensors", $name)))?;

        // PyTorch -> here.
        let mut net = $net::seeded(0);
        weights::load(&mut net, file(format!("torch_{}.safetensors", $name)))?;
        let mut y = Named::<$y>::new("y");
        y.value = net.forward(&x.value);
        weights::save(&y, file(format!("from_torch_{}_y.safetensors", $name)))?;

        // Here -> PyTorch: a few training steps first, so every buffer holds trained values.
        let mut net = $net::seeded(7);
        let mut adam = Adam::new(0.01);
        let mut tape = $tape::<B>::new();
        for _ in 0..3 {
            let out = net.forward_train(&x.value, &mut tape).clone();
            net.zero_grad();
            net.backward_params(&mut tape, &out);
            adam.step(&mut net)?;
        }
        weights::save(&net, file(format!("rust_{}.safetensors", $name)))?;
        y.value = net.forward(&x.value);
        weights::save(&y, file(format!("rust_{}_y.safetensors", $name)))?;
        println!("{}: loaded PyTorch's weights and saved ours", $name);
    }};
}

fn run(dir: &Path) -> Result<()> {
    case!(dir, "mlp", Mlp, MlpTape, Tensor2<B, 784>, Tensor2<B, 10>);
    case!(dir, "branchy", Branchy, BranchyTape, Tensor2<B, 6>, Tensor2<B, 3>);
    case!(dir, "autoencoder", Autoencoder, AutoencoderTape, Tensor2<B, 6>, Tensor2<B, 6>);
    case!(dir, "cnn", Cnn, CnnTape, Tensor4<B, 1, 8, 8>, Tensor2<B, 5>);
    case!(dir, "lstm", Recurrent, RecurrentTape, Tensor3<B, 5, 3>, Tensor2<B, 3>);
    Ok(())
}

fn main() -> ExitCode {
    let dir = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let Some(dir) = dir else {
        println!("interop: run by benches/compare/interop.py (`interop DIR`); nothing to do");
        return ExitCode::SUCCESS;
    };
    match run(Path::new(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop: {e}");
            ExitCode::FAILURE
        }
    }
}
