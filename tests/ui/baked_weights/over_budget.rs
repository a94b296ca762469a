// LeNet with batch norm, baked: its work arena is 18 176 bytes (at conv2, with a tile of its
// column matrix), over a 16 KiB RAM budget; its weights (138 488 bytes) fit flash.
use nn::prelude::*;

network! {
    #[weights = "tests/fixtures/baked_lenet.safetensors"]
    #[budget(ram = "16 KiB", flash = "256 KiB")]
    pub struct Lenet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), bn1: batch_norm, relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5), bn2: batch_norm, relu, max_pool(2),
        flatten, fc1: dense(256 -> 120), relu, dropout(0.5), fc2: dense(120 -> 10),
    >
}

fn main() {}
