// Every sequence kind: rnn (tanh and relu), gru, lstm, a per-step dense, last, named sizes.
use nn::prelude::*;

const STEPS: usize = 6;
const HIDDEN: usize = 5;

network! {
    pub struct Seq<
        input(STEPS, 2),
        rnn1: rnn(2 -> 4),
        rnn(4 -> 4, relu),
        gru(4 -> HIDDEN),
        per_step: dense(HIDDEN -> 3), tanh,
        lstm1: lstm(3 -> HIDDEN),
        last,
        head: dense(HIDDEN -> 2),
    >
}

fn main() {
    let mut net = Seq::seeded(0);
    let x = Tensor3::<4, STEPS, 2>::full(0.5);
    let mut tape = SeqTape::<4>::new();
    let y: &Tensor2<4, 2> = net.forward_train(&x, &mut tape);
    assert!(y.iter().all(|v| v.is_finite()));
    let states: &Tensor3<4, STEPS, HIDDEN> = tape.outputs().lstm1;
    assert_eq!(states.shape(), [4, STEPS, HIDDEN]);
    let per_step: &Tensor3<4, STEPS, 3> = tape.outputs().per_step;
    assert_eq!(per_step.shape(), [4, STEPS, 3]);
}
