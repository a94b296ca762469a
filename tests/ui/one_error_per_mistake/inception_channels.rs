// Rule: a bare `concat` joins channels, so after an inception fork of two 16-channel branches
// the next conv takes 32 channels; the suggestion keeps the maps' height and width.
use nn::prelude::*;

network! {
    pub struct Inception<
        input(1, 28, 28),
        inception: fork {
            narrow: [conv2d(1 -> 16, kernel = 1), relu],
            wide: [conv2d(1 -> 16, kernel = 3, padding = 1), relu],
        } => concat,
        conv2d(16 -> 32, kernel = 3, padding = 1), global_avg_pool, dense(32 -> 10),
    >
}

fn main() {
    let net = Inception::seeded(0);
    let y: Tensor2<2, 10> = net.forward(&Tensor4::<2, 1, 28, 28>::zeros());
    println!("{:?}", y.shape());
}
