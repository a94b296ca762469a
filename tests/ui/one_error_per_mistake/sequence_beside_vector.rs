// Rule: merging a sequence with a vector is one error that suggests `last` for the sequence.
use nn::prelude::*;

network! {
    pub struct Net<
        input(28, 28),
        fork {
            fast: [lstm(28 -> 32), last],
            slow: [gru(28 -> 32)],
        } => concat,
        dense(64 -> 10),
    >
}

fn main() {
    let net = Net::seeded(0);
    let y = net.forward(&Tensor3::<2, 28, 28>::zeros());
    println!("{:?}", y.shape());
}
