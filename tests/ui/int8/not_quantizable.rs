// `nn::quant` calibrates and quantizes networks whose every layer has an int8 form; a
// recurrent network has none, and the error says which kinds do.
use nn::prelude::*;

network! {
    pub struct Sequence< input(4, 3), lstm(3 -> 5), last, dense(5 -> 2) >
}

fn quantize<N: nn::quant::Quantize>() {}

fn main() {
    quantize::<Sequence>();
}
