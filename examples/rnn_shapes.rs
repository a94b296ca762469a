//! # Recurrent layers by their shapes
//!
//! ```text
//! cargo run --release --example rnn_shapes
//! ```
//!
//! The notes' first recurrent example: a batch of 4 sequences of 30 steps with 1 feature,
//! `(4, 30, 1)`, through a SimpleRNN of 3 units gives `(4, 30, 3)`, every step's hidden state.
//! The same for `gru` and `lstm`, and `last`, which keeps only the final step (Keras's
//! `return_sequences=False`). Samples are `(T, F)`, batches `(B, T, F)`: batch first, as Keras
//! has it and as PyTorch does with `batch_first=True`. Every shape below is a type, checked
//! when this file compiles; the example prints them from the tensors the networks return.
//!
//! It prints, for each network, the shapes in and out and the parameter names with their
//! element counts: PyTorch's names and layouts, e.g. `rnn.weight_ih_l0`, `(G·H, F)` = `(3, 1)`.

use nn::prelude::*;

network! {
    /// A SimpleRNN of 3 units (tanh), every step's state.
    pub struct Simple< input(30, 1), rnn: rnn(1 -> 3) >

    /// A GRU of 3 units.
    pub struct Gated< input(30, 1), gru: gru(1 -> 3) >

    /// An LSTM of 3 units.
    pub struct LongShort< input(30, 1), lstm: lstm(1 -> 3) >

    /// An LSTM, then only its final state `(3)`, then a dense head.
    pub struct Final< input(30, 1), lstm: lstm(1 -> 3), last, head: dense(3 -> 1) >

    /// A dense layer on every step of an RNN's output (PyTorch's `Linear` on the last axis).
    pub struct PerStep< input(30, 1), rnn: rnn(1 -> 3), per_step: dense(3 -> 2) >
}

/// `(4, 30, 1)` for a tensor of that shape.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("({})", dims.join(", "))
}

fn params_text(net: &mut impl HasParams) -> String {
    let mut names = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| names.push(format!("{path} [{}]", p.value.len())),
    );
    names.join(", ")
}

fn main() {
    let x = Tensor3::<4, 30, 1>::from_fn(|[b, t, _]| ((b + 1) as f32 * t as f32 * 0.1).sin());
    let input = shape_text(&x.shape());

    let mut simple = Simple::seeded(0);
    let y = simple.forward(&x);
    println!("{input} -> rnn(1 -> 3) -> {}", shape_text(&y.shape()));
    println!("    params: {}", params_text(&mut simple));

    let mut gated = Gated::seeded(0);
    let y = gated.forward(&x);
    println!("{input} -> gru(1 -> 3) -> {}", shape_text(&y.shape()));
    println!("    params: {}", params_text(&mut gated));

    let mut long_short = LongShort::seeded(0);
    let y = long_short.forward(&x);
    println!("{input} -> lstm(1 -> 3) -> {}", shape_text(&y.shape()));
    println!("    params: {}", params_text(&mut long_short));

    let net = Final::seeded(0);
    let mut tape = FinalTape::<4, Eval>::new();
    let output = shape_text(&net.infer(&x, &mut tape).shape());
    let states = shape_text(&tape.outputs().lstm.shape());
    println!("{input} -> lstm(1 -> 3) -> {states} -> last -> (4, 3) -> dense(3 -> 1) -> {output}");

    let net = PerStep::seeded(0);
    let y = net.forward(&x);
    println!(
        "{input} -> rnn(1 -> 3) -> (4, 30, 3) -> dense(3 -> 2) on every step -> {}",
        shape_text(&y.shape())
    );
}
