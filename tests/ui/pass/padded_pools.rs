// Pools with padding (PyTorch's), rectangular windows, TensorFlow's `same` at stride 2, averages
// that count the padding or not, and the 1-D pools on (C, L) sequences all line up.
use nn::prelude::*;

network! {
    /// ResNet's stem pool, a rectangular window, and `same` pools at stride 2 on odd sizes.
    pub struct Pools<
        input(1, 28, 28),
        conv2d(1 -> 4, kernel = 3, padding = 1), relu,
        max_pool(3, stride = 2, padding = 1, floor),
        avg_pool((3, 1), stride = 1, padding = (1, 0), count_include_pad = false),
        max_pool(2, padding = same),
        avg_pool(3, stride = 2, padding = same),
        flatten, dense(64 -> 10),
    >
}

network! {
    /// A temporal conv net that pools along time.
    pub struct SequencePools<
        input(8, 25),
        conv1d(8 -> 8, kernel = 3, padding = same), relu,
        max_pool1d(2, padding = same),
        avg_pool1d(3, stride = 1, padding = 1),
        max_pool1d(3, stride = 2, floor),
        flatten, dense(48 -> 2),
    >
}

fn main() {
    let mut pools = Pools::seeded(0);
    let mut tape = PoolsTape::<2>::new();
    let y: &Tensor2<2, 10> = pools.forward_train(&Tensor4::<2, 1, 28, 28>::zeros(), &mut tape);
    assert!(y.iter().all(|v| v.is_finite()));

    let mut sequences = SequencePools::seeded(0);
    let mut tape = SequencePoolsTape::<2>::new();
    let y: &Tensor2<2, 2> = sequences.forward_train(&Tensor3::<2, 8, 25>::zeros(), &mut tape);
    assert!(y.iter().all(|v| v.is_finite()));
}
