// Rule: a merge of unequal branches is one error; the program's uses of the network (`forward`,
// `Fit`, named outputs) still type-check.
use nn::data::{LastBatch, mnist::Mnist};
use nn::prelude::*;
use nn::train::{Accuracy, CrossEntropy, Fit};

network! {
    pub struct Net<
        fc: dense(784 -> 64),
        block: fork {
            body: [dense(64 -> 32), relu],
            shortcut: skip,
        } => add,
        head: dense(64 -> 10),
    >
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load("data/mnist")?;
    let mut net = Net::seeded(0);
    let mut tape = NetTape::<64>::new();
    let logits = net.forward_train(&Tensor2::<64, 784>::zeros(), &mut tape);
    println!("{:?}", logits.shape());
    let hidden: &Tensor2<64, 64> = tape.outputs().fc;
    println!("{:?}", hidden.shape());
    let mut adam = Adam::new(1e-3);
    Fit::new(&mut net, &mut adam, CrossEntropy)
        .epochs(1)
        .metric(Accuracy::default())
        .run(mnist.train.shuffled_batches::<64>(LastBatch::Drop, 0)?)?;
    Ok(())
}
