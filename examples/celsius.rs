//! Celsius to Fahrenheit: the first example of the notes this library grew from.
//!
//! One dense unit, `f = w·c + b`, learns the conversion from seven examples with Adam
//! (learning rate 0.1), 500 full-batch steps and mean squared error. The true answer is
//! `w = 1.8, b = 32`; after 500 steps Keras and PyTorch reach `w ≈ 1.82, b ≈ 28.9` and
//! predict `f(100) ≈ 211.3`, and so does this.
//!
//! Run it with `cargo run --release --example celsius`.

use nn::prelude::*;

network! {
    /// A single neuron: one weight and one bias.
    pub struct Celsius< unit: dense(1 -> 1) >
}

const CELSIUS: [f32; 7] = [-40.0, -10.0, 0.0, 8.0, 15.0, 22.0, 38.0];
const FAHRENHEIT: [f32; 7] = [-40.0, 14.0, 32.0, 46.0, 59.0, 72.0, 100.0];
const STEPS: usize = 500;

fn main() -> Result<(), Error> {
    let c = Tensor2::<7, 1>::from_slice(&CELSIUS)?;
    let f = Tensor2::<7, 1>::from_slice(&FAHRENHEIT)?;

    let mut model = Celsius::seeded(0);
    let mut adam = Adam::new(0.1);
    let mut tape = CelsiusTape::<7>::new();
    let mut grad = Tensor2::<7, 1>::zeros();

    let started = std::time::Instant::now();
    let mut loss = 0.0;
    for step in 0..STEPS {
        let prediction = model.forward_train(&c, &mut tape);
        loss = mse(prediction, &f, &mut grad);
        model.zero_grad();
        model.backward_params(&mut tape, &grad);
        adam.step(&mut model)
            .expect("one optimizer per model, with a valid learning rate");
        if step % 100 == 0 {
            println!("step {step:>3}: loss {loss:.3}");
        }
    }
    let elapsed = started.elapsed();

    let w = model.unit.weight()[[0, 0]];
    let b = model.unit.bias()[[0]];
    let f100 = model.forward(&Tensor2::<1, 1>::full(100.0))[[0, 0]];
    println!("final loss: {loss:.3}");
    println!("weight: {w:.4}  (exact: 1.8)");
    println!("bias: {b:.4}  (exact: 32)");
    println!("f(100): {f100:.2}  (exact: 212)");
    println!(
        "training: {STEPS} steps in {:.3} ms",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
