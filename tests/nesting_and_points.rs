//! Networks used as layers of other networks, a hand-written layer used the same way, and
//! named outputs with injected gradients, each checked against central differences.

use nn::layers::Composable;
use nn::prelude::*;
use nn::testing::{
    check_gradients, compare_gradients, numeric_gradient, random_tensor, weighted_loss,
};

network! {
    pub struct Encoder< fc1: dense(6 -> 4), tanh, fc2: dense(4 -> 2) >
    pub struct Decoder< fc1: dense(2 -> 4), sigmoid, fc2: dense(4 -> 6) >

    /// An autoencoder made of the two networks above.
    pub struct Autoencoder< encoder: Encoder, code: tanh, decoder: Decoder >

    /// A hand-written layer between two dense layers.
    pub struct WithScale< dense(3 -> 3), scale: Scale, head: dense(3 -> 1) >

    /// Two named points: a hidden layer and the output.
    pub struct TwoLosses< input(4), hidden: dense(4 -> 3), tanh, out: dense(3 -> 2) >
}

/// `y = a · x` with one learned scalar `a`.
#[derive(Clone, Debug)]
pub struct Scale {
    a: Tensor1<1>,
    grad: Tensor1<1>,
}

impl HasParams for Scale {
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let param = Param {
            value: self.a.as_mut_slice(),
            grad: self.grad.as_mut_slice(),
            shape: &[1],
        };
        visitor.visit(&path.child("a"), param);
    }
}

impl Layer for Scale {
    type Input<const B: usize> = Tensor2<B, 3>;
    type Output<const B: usize> = Tensor2<B, 3>;
    type Scratch<const B: usize> = ();
    type Cache<const B: usize> = ();

    fn forward<const B: usize>(&self, x: &Tensor2<B, 3>, y: &mut Tensor2<B, 3>, _: &mut ()) {
        for (y, x) in y.iter_mut().zip(x.iter()) {
            *y = self.a[[0]] * x;
        }
    }

    fn forward_train<const B: usize>(
        &mut self,
        x: &Tensor2<B, 3>,
        y: &mut Tensor2<B, 3>,
        c: &mut (),
    ) {
        self.forward(x, y, c);
    }

    fn backward<const B: usize>(
        &mut self,
        x: &Tensor2<B, 3>,
        _y: &Tensor2<B, 3>,
        _: &mut (),
        dy: &Tensor2<B, 3>,
        dx: Option<&mut Tensor2<B, 3>>,
    ) {
        self.grad[[0]] += x.iter().zip(dy.iter()).map(|(x, d)| x * d).sum::<f32>();
        if let Some(dx) = dx {
            for (g, d) in dx.iter_mut().zip(dy.iter()) {
                *g = self.a[[0]] * d;
            }
        }
    }
}

impl Composable for Scale {
    const PARAM_COUNT: usize = 1;
    fn build(_rng: &mut Rng) -> Self {
        let mut a = Tensor1::zeros();
        a[[0]] = 1.5;
        Scale {
            a,
            grad: Tensor1::zeros(),
        }
    }
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
fn nested_networks_pass_gradient_check() {
    let mut rng = seeded(1);
    let mut net = Autoencoder::new(&mut rng);
    let x = random_tensor::<Tensor2<2, 6>>(&mut rng);
    let checked = check_gradients::<_, 2>(&mut net, &x, 2).unwrap();
    assert_eq!(checked, 2 * 6 + Autoencoder::PARAM_COUNT);
    assert_eq!(
        Autoencoder::PARAM_COUNT,
        Encoder::PARAM_COUNT + Decoder::PARAM_COUNT
    );
    assert_eq!((Autoencoder::INPUTS, Autoencoder::OUTPUTS), (6, 6));
}

#[test]
fn nested_params_have_dotted_names() {
    let names = param_names(&mut Autoencoder::seeded(0));
    assert_eq!(
        names,
        [
            "encoder.fc1.weight",
            "encoder.fc1.bias",
            "encoder.fc2.weight",
            "encoder.fc2.bias",
            "decoder.fc1.weight",
            "decoder.fc1.bias",
            "decoder.fc2.weight",
            "decoder.fc2.bias"
        ]
    );
}

#[test]
fn nested_network_computes_what_its_parts_compute() {
    let mut net = Autoencoder::seeded(3);
    let x = random_tensor::<Tensor2<1, 6>>(&mut seeded(4));
    let code = net.encoder.forward(&x);
    let mut squashed = Tensor2::<1, 2>::zeros();
    net.code.forward(&code, &mut squashed, &mut ());
    assert_eq!(net.forward(&x), net.decoder.forward(&squashed));
    let mut tape = AutoencoderTape::<1>::new();
    net.forward_train(&x, &mut tape);
    assert_eq!(tape.outputs().encoder, &code);
}

#[test]
fn hand_written_layer_passes_gradient_check() {
    let mut rng = seeded(5);
    let mut net = WithScale::new(&mut rng);
    let x = random_tensor::<Tensor2<3, 3>>(&mut rng);
    check_gradients::<_, 3>(&mut net, &x, 6).unwrap();
    assert_eq!(param_names(&mut net)[2], "scale.a");
    assert_eq!(WithScale::PARAM_COUNT, 12 + 1 + 4);
}

/// `L = Σ out ⊙ r + Σ hidden ⊙ g`: the second term's gradient enters at `hidden`.
fn two_term_loss(
    net: &mut TwoLosses,
    x: &Tensor2<2, 4>,
    r: &Tensor2<2, 2>,
    g: &Tensor2<2, 3>,
) -> f64 {
    let mut tape = TwoLossesTape::<2>::new();
    net.forward_train(x, &mut tape);
    let points = tape.outputs();
    weighted_loss(points.out.as_slice(), r.as_slice())
        + weighted_loss(points.hidden.as_slice(), g.as_slice())
}

#[test]
fn injected_gradient_matches_central_differences() {
    let mut rng = seeded(7);
    let mut net = TwoLosses::new(&mut rng);
    let mut x = random_tensor::<Tensor2<2, 4>>(&mut rng);
    let r = random_tensor::<Tensor2<2, 2>>(&mut rng);
    let g = random_tensor::<Tensor2<2, 3>>(&mut rng);

    let mut tape = TwoLossesTape::<2>::new();
    net.zero_grad();
    net.forward_train(&x, &mut tape);
    let extra = TwoLossesInject {
        hidden: Some(&g),
        ..Default::default()
    };
    let dx = net.backward_with(&mut tape, &r, &extra).clone();

    let numeric = numeric_gradient(x.as_mut_slice(), |x| {
        two_term_loss(&mut net, &Tensor2::from_slice(x).unwrap(), &r, &g)
    });
    compare_gradients("input", dx.as_slice(), &numeric).unwrap();

    let mut weight = net.hidden.weight().as_slice().to_vec();
    let numeric = numeric_gradient(&mut weight, |w| {
        let mut probe = net.clone();
        probe.hidden.weight_mut().as_mut_slice().copy_from_slice(w);
        two_term_loss(&mut probe, &x, &r, &g)
    });
    compare_gradients(
        "hidden.weight",
        net.hidden.weight_grad().as_slice(),
        &numeric,
    )
    .unwrap();

    // Without the injection the input gradient differs: the check above is not vacuous.
    let mut plain = TwoLossesTape::<2>::new();
    net.forward_train(&x, &mut plain);
    assert_ne!(net.backward(&mut plain, &r), &dx);
}

#[test]
fn gradients_at_points_include_the_injection() {
    let mut net = TwoLosses::seeded(8);
    let x = random_tensor::<Tensor2<2, 4>>(&mut seeded(9));
    let r = random_tensor::<Tensor2<2, 2>>(&mut seeded(10));
    let e = random_tensor::<Tensor2<2, 2>>(&mut seeded(11));
    let mut tape = TwoLossesTape::<2>::new();
    net.forward_train(&x, &mut tape);
    let extra = TwoLossesInject {
        out: Some(&e),
        ..Default::default()
    };
    let with_extra = net.backward_with(&mut tape, &r, &extra).clone();
    let mut sum = Tensor2::<2, 2>::zeros();
    nn::ops::add(&r, &e, &mut sum);
    assert_eq!(tape.gradients().out, &sum);
    // Injecting e at the output is the same as backpropagating r + e.
    let mut again = TwoLossesTape::<2>::new();
    net.forward_train(&x, &mut again);
    assert_eq!(net.backward(&mut again, &sum), &with_extra);
}

#[test]
fn backward_params_with_matches_backward_with_on_every_parameter() {
    let mut rng = seeded(12);
    let x = random_tensor::<Tensor2<2, 4>>(&mut rng);
    let r = random_tensor::<Tensor2<2, 2>>(&mut rng);
    let g = random_tensor::<Tensor2<2, 3>>(&mut rng);
    let extra = TwoLossesInject {
        hidden: Some(&g),
        ..Default::default()
    };
    let grads = |net: &mut TwoLosses| {
        let mut all = Vec::new();
        net.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| all.extend_from_slice(p.grad),
        );
        all
    };
    let mut full = TwoLosses::seeded(13);
    let mut tape = TwoLossesTape::<2>::new();
    full.forward_train(&x, &mut tape);
    full.backward_with(&mut tape, &r, &extra);

    let mut params_only = TwoLosses::seeded(13);
    let mut tape = TwoLossesTape::<2>::new();
    params_only.forward_train(&x, &mut tape);
    params_only.backward_params_with(&mut tape, &r, &extra);

    let (a, b) = (grads(&mut full), grads(&mut params_only));
    assert!(
        a.iter().any(|&v| v != 0.0),
        "no gradient reached the parameters"
    );
    assert_eq!(a, b);
}
