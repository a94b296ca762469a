//! Every activation, pool and recurrent nonlinearity propagates NaN, as PyTorch does: a NaN
//! in the data must reach the loss (where `fit` reports it), never turn silently into a number.

use nn_core::layers::{
    Elu, Features, Gelu, Layer, LeakyRelu, Relu, Rnn, RnnRelu, Shape, Shape3, Sigmoid, Softmax,
    SquareAvgPool2d, SquareMaxPool2d, Tanh,
};
use nn_core::tensor::{Tensor2, Tensor3, Tensor4};

/// Runs `layer` on `[-1, NaN, 2]` in both passes and checks that the NaN's output is NaN and
/// the finite inputs stay finite (for elementwise layers).
fn check_elementwise<L>(name: &str, mut layer: L, elementwise: bool)
where
    L: Layer<Input<1> = Tensor2<1, 3>, Output<1> = Tensor2<1, 3>>,
{
    let x = Tensor2::<1, 3>::from_slice(&[-1.0, f32::NAN, 2.0]).unwrap();
    let mut y = Tensor2::<1, 3>::zeros();
    let mut scratch = <L::Scratch<1> as nn_core::tensor::Zeroed>::zeroed();
    layer.forward(&x, &mut y, &mut scratch);
    assert!(
        y.as_slice()[1].is_nan(),
        "{name}: forward gave {:?}",
        y.as_slice()
    );
    if elementwise {
        assert!(
            y.as_slice()[0].is_finite() && y.as_slice()[2].is_finite(),
            "{name}"
        );
    }
    let mut cache = <L::Cache<1> as nn_core::tensor::Zeroed>::zeroed();
    let mut y = Tensor2::<1, 3>::zeros();
    layer.forward_train(&x, &mut y, &mut cache);
    assert!(
        y.as_slice()[1].is_nan(),
        "{name}: forward_train gave {:?}",
        y.as_slice()
    );
}

#[test]
fn activations_propagate_nan() {
    check_elementwise("relu", Relu::<Features<3>>::default(), true);
    check_elementwise("leaky_relu", LeakyRelu::<Features<3>>::default(), true);
    check_elementwise("elu", Elu::<Features<3>>::default(), true);
    check_elementwise("gelu", Gelu::<Features<3>>::default(), true);
    check_elementwise("sigmoid", Sigmoid::<Features<3>>::default(), true);
    check_elementwise("tanh", Tanh::<Features<3>>::default(), true);
    // Softmax mixes a row, so one NaN makes the whole row NaN (as in PyTorch).
    check_elementwise("softmax", Softmax::<3>, false);
}

#[test]
fn relu_gradient_passes_nan_on() {
    let mut relu = Relu::<Features<2>>::default();
    let x = Tensor2::<1, 2>::from_slice(&[f32::NAN, -1.0]).unwrap();
    let mut y = Tensor2::<1, 2>::zeros();
    relu.forward_train(&x, &mut y, &mut ());
    let dy = Tensor2::<1, 2>::full(1.0);
    let mut dx = Tensor2::<1, 2>::zeros();
    relu.backward(&x, &y, &mut (), &dy, Some(&mut dx));
    assert_eq!(dx.as_slice()[1], 0.0);
    assert_ne!(
        dx.as_slice()[0],
        0.0,
        "a NaN input must not stop its gradient"
    );
}

#[test]
fn pools_propagate_nan() {
    let mut x = Tensor4::<1, 1, 2, 2>::full(1.0);
    x.as_mut_slice()[3] = f32::NAN;
    let mut y = Tensor4::<1, 1, 1, 1>::zeros();
    let mut max = SquareMaxPool2d::<1, 2, 2, 1, 1, 2, 2>::default();
    max.forward(&x, &mut y, &mut ());
    assert!(y.as_slice()[0].is_nan(), "max_pool gave {:?}", y.as_slice());
    max.forward_train(&x, &mut y, &mut ());
    assert!(
        y.as_slice()[0].is_nan(),
        "max_pool (train) gave {:?}",
        y.as_slice()
    );
    let avg = SquareAvgPool2d::<1, 2, 2, 1, 1, 2, 2>::default();
    avg.forward(&x, &mut y, &mut ());
    assert!(y.as_slice()[0].is_nan());
    let _ = Shape3::<1, 2, 2>::SIZE;
}

#[test]
fn relu_rnn_propagates_nan() {
    let rnn = Rnn::<2, 1, 2, RnnRelu>::new(&mut nn_core::init::seeded(0));
    let x = Tensor3::<1, 2, 1>::from_slice(&[f32::NAN, 1.0]).unwrap();
    let mut y = Tensor3::<1, 2, 2>::zeros();
    let mut scratch =
        <<Rnn<2, 1, 2, RnnRelu> as Layer>::Scratch<1> as nn_core::tensor::Zeroed>::zeroed();
    rnn.forward(&x, &mut y, &mut scratch);
    assert!(
        y.as_slice().iter().all(|v| v.is_nan()),
        "{:?}",
        y.as_slice()
    );
}
