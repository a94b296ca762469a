// Rule: after a merge mismatch, the program's uses of the network are still accepted, so the
// one mistake is the only error.
use nn::prelude::*;

network! {
    pub struct Net<
        fc: dense(4 -> 3),
        block: fork {
            body: [dense(3 -> 5), relu],
            shortcut: skip,
        } => add,
        dense(3 -> 1),
    >
}

fn main() {
    let net = Net::seeded(0);
    let y: Tensor2<8, 1> = net.forward(&Tensor2::<8, 4>::zeros());
    assert_eq!(y.shape(), [8, 1]);
}
