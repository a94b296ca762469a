// conv1d with causal dilations, grouped and depthwise convs, rectangular windows and
// TensorFlow's `same` at stride 2 all line up.
use nn::prelude::*;

network! {
    /// A TCN block over 28 steps of 28 features.
    pub struct Tcn<
        input(28, 28),
        conv1d(28 -> 32, kernel = 3, padding = causal), relu,
        conv1d(32 -> 32, kernel = 3, dilation = 2, padding = causal), relu,
        conv1d(32 -> 32, kernel = 3, dilation = 4, padding = causal, groups = 4), relu,
        conv1d(32 -> 16, kernel = 2, stride = 2), relu,
        flatten, dense(224 -> 10),
    >
}

network! {
    /// DS-CNN's first layers: a 10 x 4 window at stride 2 with `same` padding, then a
    /// depthwise-separable block.
    pub struct DsCnn<
        input(1, 49, 10),
        conv2d(1 -> 64, kernel = (10, 4), stride = 2, padding = same), relu,
        depthwise(64, kernel = 3, padding = same), relu,
        conv2d(64 -> 64, kernel = 1), relu,
        depthwise(64 -> 128, kernel = (3, 1), dilation = (2, 1), padding = (2, 0)),
        global_avg_pool, dense(128 -> 12),
    >
}

fn main() {
    let mut tcn = Tcn::seeded(0);
    let mut tape = TcnTape::<2>::new();
    let y: &Tensor2<2, 10> = tcn.forward_train(&Tensor3::<2, 28, 28>::zeros(), &mut tape);
    assert!(y.iter().all(|v| v.is_finite()));

    let mut ds = DsCnn::seeded(0);
    let mut tape = DsCnnTape::<1>::new();
    ds.forward_train(&Tensor4::<1, 1, 49, 10>::zeros(), &mut tape);
    let y: Tensor2<1, 12> = ds.forward(&Tensor4::<1, 1, 49, 10>::zeros());
    assert_eq!(y.shape(), [1, 12]);
}
