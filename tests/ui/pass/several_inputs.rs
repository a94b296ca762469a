// Networks with several named inputs compile in a strict user crate: a branch per input, two
// branches on one input, a `skip` of an input, a named fork and points, image inputs, a raw
// identifier as a name.
#![deny(warnings, missing_docs)]
#![forbid(unsafe_code)]
//! A user crate.

use nn::prelude::*;

const META: usize = 10;

network! {
    /// An image and its metadata.
    pub struct ImageAndMeta<
        input(image: 784),
        input(meta: META),
        fork {
            image => [dense(784 -> 64), relu],
            m: meta => [dense(META -> 8), relu],
        } => concat,
        head: dense(72 -> 10),
    >

    /// One input read by two branches, the other passed through as it is.
    pub struct Shared<
        input(a: 3),
        input(b: 2),
        joined: fork {
            left: a => [dense(3 -> 4)],
            right: a => [dense(3 -> 4), tanh],
            b => skip,
        } => concat,
        dense(10 -> 1),
    >

    /// A raw identifier as an input name; no layers, the inputs summed.
    pub struct Raw< input(r#type: 2), input(b: 2), fork { r#type => skip, b => skip } => add >

    /// A picture and a flat vector.
    pub struct PictureAndVector<
        input(picture: 1, 8, 8),
        input(vector: 4),
        fork {
            picture => [conv2d(1 -> 2, kernel = 3), relu, flatten, dense(72 -> 4)],
            vector => [dense(4 -> 4)],
        } => add,
    >
}

fn main() {
    let net = ImageAndMeta::seeded(0);
    let y: Tensor2<2, 10> = net.forward(&Tensor2::<2, 784>::zeros(), &Tensor2::<2, META>::zeros());
    assert_eq!(y.shape(), [2, 10]);
    assert_eq!((ImageAndMeta::INPUTS_IMAGE, ImageAndMeta::INPUTS_META), (784, 10));

    let mut shared = Shared::seeded(1);
    let mut tape = SharedTape::<2>::new();
    let (a, b) = (Tensor2::<2, 3>::full(0.5), Tensor2::<2, 2>::full(1.0));
    shared.forward_train(&a, &b, &mut tape);
    let joined: &Tensor2<2, 10> = tape.outputs().joined;
    assert_eq!(joined.shape(), [2, 10]);
    let grads = shared.backward(&mut tape, &Tensor2::<2, 1>::full(1.0));
    let (da, db): (&Tensor2<2, 3>, &Tensor2<2, 2>) = (grads.a, grads.b);
    assert_eq!((da.shape(), db.shape()), ([2, 3], [2, 2]));
    assert_eq!(tape.input_grads().b.shape(), [2, 2]);

    assert_eq!(Raw::INPUTS_TYPE, 2);
    let sum = Raw::seeded(0).forward(&Tensor2::<1, 2>::full(1.0), &Tensor2::<1, 2>::full(2.0));
    assert_eq!(sum.as_slice(), &[3.0, 3.0]);

    let mut eval = PictureAndVectorTape::<1, Eval>::new();
    let pictures = PictureAndVector::seeded(2);
    let out = pictures.infer(&Tensor4::<1, 1, 8, 8>::zeros(), &Tensor2::<1, 4>::zeros(), &mut eval);
    assert_eq!(out.shape(), [1, 4]);
}
