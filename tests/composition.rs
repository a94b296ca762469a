//! Networks that reshape, branch and merge, nest other networks, and expose named outputs:
//! every one passes a central-difference gradient check, and the generated API behaves as
//! documented.

use nn::prelude::*;
use nn::testing::{check_gradients, random_tensor};

network! {
    /// Two towers over one input, joined along the features.
    pub struct TwoTower<
        input(3),
        fork {
            left: [dense(3 -> 3), relu],
            right: [dense(3 -> 2), tanh],
        } => concat,
        head: dense(5 -> 1),
    >

    /// The same towers stacked along a new axis: (2, 3) per sample, flattened for the head.
    pub struct Stacked<
        input(3),
        towers: fork {
            left: [dense(3 -> 3), sigmoid],
            right: [dense(3 -> 3), tanh],
        } => stack,
        flatten,
        head: dense(6 -> 2),
    >

    /// A residual block: the branch's output plus its input.
    pub struct Residual<
        fc: dense(4 -> 3),
        block: fork {
            body: [dense(3 -> 3), tanh, dense(3 -> 3)],
            shortcut: skip,
        } => add,
        head: dense(3 -> 2),
    >

    /// Rank-2 samples: reshape, concat along the first axis, flatten.
    pub struct Sequences<
        input(2, 3),
        fork {
            first: [sigmoid],
            second: [reshape(3, 2), reshape(2, 3), tanh],
        } => concat(0),
        flatten,
        head: dense(12 -> 2),
    >

    pub struct Small< fc1: dense(4 -> 6) >

    /// A fork inside a branch, a named layer in a branch, and a network in a branch.
    pub struct Deep<
        input(4),
        fork {
            a: [first: dense(4 -> 3), relu],
            b: [fork { x: [dense(4 -> 2)], y: [dense(4 -> 1)] } => concat, tanh],
            c: [inner: Small, dense(6 -> 3)],
        } => stack,
        relu,
        reshape(9),
        out: dense(9 -> 2),
    >

    /// A nested network first, its output forked.
    pub struct ForkAfterNested<
        small: Small,
        fork { p: [dense(6 -> 2)], q: [dense(6 -> 2)] } => add,
        softmax,
    >

    /// No layers at all: the input twice, side by side.
    pub struct Twice< input(3), fork { a: skip, b: skip } => concat >

    /// A fork straight off the input, so the input gradient is a sum over branches.
    pub struct ForkedInput<
        input(2),
        fork { a: [dense(2 -> 2)], b: skip, c: [tanh] } => concat,
        dense(6 -> 1),
    >
}

/// Non-zero biases, so the checks also cover them.
fn perturb_biases<N: HasParams>(net: &mut N) {
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            if path.last() == "bias" {
                for (i, b) in p.value.iter_mut().enumerate() {
                    *b = 0.1 * (i as f32 - 1.0);
                }
            }
        },
    );
}

fn param_names<N: HasParams>(net: &mut N) -> Vec<String> {
    let mut names = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, _: Param<'_>| names.push(path.to_string()),
    );
    names
}

#[test]
fn fork_concat_passes_gradient_check() {
    let mut rng = seeded(1);
    let mut net = TwoTower::new(&mut rng);
    perturb_biases(&mut net);
    let x = random_tensor::<Tensor2<3, 3>>(&mut rng);
    let checked = check_gradients::<_, 3>(&mut net, &x, 2).unwrap();
    assert_eq!(checked, 3 * 3 + TwoTower::PARAM_COUNT);
    assert_eq!(TwoTower::PARAM_COUNT, (9 + 3) + (6 + 2) + (5 + 1));
    assert_eq!((TwoTower::INPUTS, TwoTower::OUTPUTS), (3, 1));
}

#[test]
fn fork_concat_output_is_the_two_towers_side_by_side() {
    let net = TwoTower::seeded(3);
    let x = Tensor2::<2, 3>::from_slice(&[0.5, -1.0, 2.0, 1.0, 0.0, -0.5]).unwrap();
    let mut left_y = Tensor2::<2, 3>::zeros();
    let mut left_mid = Tensor2::<2, 3>::zeros();
    net.left_0.forward(&x, &mut left_mid, &mut ());
    net.left_1.forward(&left_mid, &mut left_y, &mut ());
    let mut right_mid = Tensor2::<2, 2>::zeros();
    let mut right_y = Tensor2::<2, 2>::zeros();
    net.right_0.forward(&x, &mut right_mid, &mut ());
    net.right_1.forward(&right_mid, &mut right_y, &mut ());
    let mut joined = Tensor2::<2, 5>::zeros();
    nn::ops::concat(nn::ops::Axis::<1>, &left_y, &right_y, &mut joined);
    let mut want = Tensor2::<2, 1>::zeros();
    net.head.forward(&joined, &mut want, &mut ());
    assert_eq!(net.forward(&x), want);
}

#[test]
fn fork_params_have_branch_names() {
    assert_eq!(
        param_names(&mut TwoTower::seeded(0)),
        [
            "left.0.weight",
            "left.0.bias",
            "right.0.weight",
            "right.0.bias",
            "head.weight",
            "head.bias"
        ]
    );
    assert_eq!(
        param_names(&mut Stacked::seeded(0))[..2],
        ["towers.left.0.weight", "towers.left.0.bias"]
    );
    assert_eq!(
        TwoTower::LAYER_NAMES,
        ["left_0", "left_1", "right_0", "right_1", "head"]
    );
}

#[test]
fn fork_stack_passes_gradient_check() {
    let mut rng = seeded(4);
    let mut net = Stacked::new(&mut rng);
    perturb_biases(&mut net);
    let x = random_tensor::<Tensor2<2, 3>>(&mut rng);
    check_gradients::<_, 2>(&mut net, &x, 5).unwrap();
}

#[test]
fn stack_puts_each_branch_in_its_own_row() {
    let mut net = Stacked::seeded(6);
    let x = random_tensor::<Tensor2<1, 3>>(&mut seeded(7));
    let mut tape = StackedTape::<1>::new();
    net.forward_train(&x, &mut tape);
    let stacked: &Tensor3<1, 2, 3> = tape.outputs().towers;
    let mut left = Tensor2::<1, 3>::zeros();
    let mut scratch = Tensor2::<1, 3>::zeros();
    net.towers_left_0.forward(&x, &mut scratch, &mut ());
    net.towers_left_1.forward(&scratch, &mut left, &mut ());
    assert_eq!(&stacked.as_slice()[..3], left.as_slice());
}

#[test]
fn residual_add_passes_gradient_check() {
    let mut rng = seeded(8);
    let mut net = Residual::new(&mut rng);
    perturb_biases(&mut net);
    let x = random_tensor::<Tensor2<3, 4>>(&mut rng);
    check_gradients::<_, 3>(&mut net, &x, 9).unwrap();
    assert_eq!(param_names(&mut net)[2], "block.body.0.weight");
}

#[test]
fn residual_with_a_zero_body_is_the_identity() {
    let mut net = Residual::seeded(10);
    net.block_body_2.weight_mut().fill(0.0);
    net.block_body_2.bias_mut().fill(0.0);
    let x = random_tensor::<Tensor2<2, 4>>(&mut seeded(11));
    let mut tape = ResidualTape::<2>::new();
    net.forward_train(&x, &mut tape);
    let points = tape.outputs();
    assert_eq!(points.block, points.fc);
}

#[test]
fn rank_two_concat_and_reshape_pass_gradient_check() {
    let mut rng = seeded(12);
    let mut net = Sequences::new(&mut rng);
    perturb_biases(&mut net);
    let x = random_tensor::<Tensor3<2, 2, 3>>(&mut rng);
    check_gradients::<_, 2>(&mut net, &x, 13).unwrap();
    assert_eq!(Sequences::INPUTS, 6);
}

#[test]
fn a_fork_off_the_input_sums_its_input_gradients() {
    let mut rng = seeded(14);
    let mut net = ForkedInput::new(&mut rng);
    perturb_biases(&mut net);
    let x = random_tensor::<Tensor2<3, 2>>(&mut rng);
    check_gradients::<_, 3>(&mut net, &x, 15).unwrap();
    // The tape API agrees with the layer API, and backward_params leaves the input gradient.
    let dy = random_tensor::<Tensor2<3, 1>>(&mut rng);
    let mut tape = ForkedInputTape::<3>::new();
    net.forward_train(&x, &mut tape);
    let dx = net.backward(&mut tape, &dy).clone();
    let mut cache = ForkedInputTape::<3>::new();
    let (mut y, mut dx2) = (Tensor2::<3, 1>::zeros(), Tensor2::<3, 2>::zeros());
    Layer::forward_train(&mut net, &x, &mut y, &mut cache);
    Layer::backward(&mut net, &x, &y, &mut cache, &dy, Some(&mut dx2));
    assert_eq!(dx, dx2);
    assert!(dx.iter().any(|&g| g != 0.0));
}

#[test]
fn a_network_of_only_a_merge_duplicates_its_input() {
    let mut net = Twice::seeded(0);
    let x = Tensor2::<2, 3>::from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let y = net.forward(&x);
    assert_eq!(y.row(1), &[4.0, 5.0, 6.0, 4.0, 5.0, 6.0]);
    assert_eq!(Twice::PARAM_COUNT, 0);
    // Both copies send their gradient back: dx = dy[.., :3] + dy[.., 3:].
    let mut tape = TwiceTape::<2>::new();
    net.forward_train(&x, &mut tape);
    let dy = Tensor2::<2, 6>::from_fn(|[r, c]| (r * 6 + c) as f32);
    let dx = net.backward(&mut tape, &dy);
    assert_eq!(dx.row(0), &[3.0, 5.0, 7.0]);
    check_gradients::<_, 2>(&mut net, &x, 1).unwrap();
}

#[test]
fn deep_composition_passes_gradient_check_with_path_names() {
    let mut rng = seeded(16);
    let mut net = Deep::new(&mut rng);
    perturb_biases(&mut net);
    let x = random_tensor::<Tensor2<2, 4>>(&mut rng);
    check_gradients::<_, 2>(&mut net, &x, 17).unwrap();
    assert_eq!(
        param_names(&mut net),
        [
            "a.first.weight",
            "a.first.bias",
            "b.x.0.weight",
            "b.x.0.bias",
            "b.y.0.weight",
            "b.y.0.bias",
            "c.inner.fc1.weight",
            "c.inner.fc1.bias",
            "c.1.weight",
            "c.1.bias",
            "out.weight",
            "out.bias"
        ]
    );
    let mut tape = DeepTape::<2>::new();
    net.forward_train(&x, &mut tape);
    let first: &Tensor2<2, 3> = tape.outputs().first;
    let inner: &Tensor2<2, 6> = tape.outputs().inner;
    assert_eq!(first, &net.a_0_first(&x));
    assert_eq!(inner, &net.inner.forward(&x));
}

#[test]
fn fork_after_a_nested_network_passes_gradient_check() {
    let mut rng = seeded(18);
    let mut net = ForkAfterNested::new(&mut rng);
    let x = random_tensor::<Tensor2<2, 4>>(&mut rng);
    check_gradients::<_, 2>(&mut net, &x, 19).unwrap();
}

impl Deep {
    /// The `first` layer alone, for comparison with the tape.
    fn a_0_first(&self, x: &Tensor2<2, 4>) -> Tensor2<2, 3> {
        let mut y = Tensor2::zeros();
        self.first.forward(x, &mut y, &mut ());
        y
    }
}
