// Rule: attention's D is the features of each step it reads. The layers after it were written
// for the declared D, so they add no error of their own.
use nn::prelude::*;

network! {
    pub struct Net<
        input(16, 49),
        embed: dense(49 -> 64),
        attn: multi_head_attention(32, heads = 4),
        mean_pool,
        head: dense(32 -> 2),
    >
}

fn main() {
    let y: Tensor2<1, 2> = Net::seeded(0).forward(&Tensor3::<1, 16, 49>::zeros());
    println!("{y:?}");
}
