// Rule: a window that does not fit is one error; the network keeps its declared input and
// output types, so the program's uses of it (`forward`, `Fit`) still type-check.
use nn::data::{LastBatch, mnist::Mnist};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit};

network! {
    pub struct Cnn<
        input(1, 28, 28),
        conv1: conv2d(1 -> 8, kernel = 5), relu, max_pool(5),
        flatten, fc: dense(128 -> 10),
    >
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load_images("data/mnist")?;
    let mut net = Cnn::seeded(0);
    let y = net.forward(&Tensor4::<1, 1, 28, 28>::zeros());
    println!("{:?}", y.shape());
    let mut adam = Adam::new(1e-3);
    Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(1)
        .metric(Accuracy::default())
        .run(mnist.train.shuffled_batches::<64>(LastBatch::Drop, 0)?)?;
    Ok(())
}
