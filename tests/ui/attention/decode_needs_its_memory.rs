// Rule: an encoder-decoder attends to a second input, its memory, so its decoder is made with
// the memory: `Decoder::new` on it does not compile.
use nn::layers::Decoder;
use nn::prelude::*;

network! {
    pub struct Captioner<
        input(text: 6) tokens,
        input(image: 4, 5),
        cross: fork {
            text => [embedding(11 -> 8)],
            memory: image => [dense(5 -> 8)],
        } => multi_head_attention(8, heads = 4),
        head: dense(8 -> 11),
    >
}

fn main() {
    let net = Captioner::seeded(0);
    let _decoder = Decoder::new(&net);
}
