//! Forks, merges, reshapes and injected gradients allocate nothing after the tape is made: the
//! merges copy through stack arrays of slices into tape buffers. No dense layer here, so the one
//! known allocation (`sgemm`'s packing buffer, see `tests/no_allocation.rs`) does not arise and
//! the count must be exactly zero.

use nn::prelude::*;

network! {
    /// Every merge, a skip, a reshape and a flatten, and two named points.
    pub struct Plumbing<
        input(4),
        joined: fork { a: [relu], b: [tanh], c: skip } => concat,
        reshape(3, 4),
        fork { p: skip, q: [sigmoid] } => add,
        fork { l: [relu], r: skip } => stack,
        flat: flatten,
    >
}

#[test]
fn training_step_with_injection_allocates_nothing() {
    let mut net = Plumbing::seeded(0);
    let x = Tensor2::<8, 4>::full(0.3);
    let dy = Tensor2::<8, 24>::full(1.0);
    let extra = Tensor2::<8, 12>::full(0.5);
    let mut tape = PlumbingTape::<8>::new();
    let mut eval_tape = PlumbingTape::<8, Eval>::new();
    let counted = allocation_counter::measure(|| {
        for _ in 0..3 {
            net.forward_train(&x, &mut tape);
            let inject = PlumbingInject {
                joined: Some(&extra),
                ..Default::default()
            };
            net.backward_with(&mut tape, &dy, &inject);
            net.infer(&x, &mut eval_tape);
        }
    });
    assert_eq!(counted.count_total, 0, "{counted:?}");
    // The counter sees allocations: the convenience `forward` makes a tape on every call.
    let allocating = allocation_counter::measure(|| {
        let _ = net.forward(&x);
    });
    assert!(allocating.count_total > 0);
    // The step did work: the input gradient is not zero.
    assert!(tape.input_grad().iter().any(|&g| g != 0.0));
}
