// Rule: each argument of `forward` has the type of its input, so swapped inputs do not compile.
use nn::prelude::*;

network! {
    pub struct Net<
        input(image: 784),
        input(meta: 10),
        fork { image => [dense(784 -> 8)], meta => [dense(10 -> 8)] } => add,
    >
}

fn main() {
    let net = Net::seeded(0);
    let image = Tensor2::<1, 784>::zeros();
    let meta = Tensor2::<1, 10>::zeros();
    let _ = net.forward(&meta, &image);
}
