//! The vision transformer of `examples/vit_mnist` (16 patches of 7 × 7, D = 64, 4 heads, four
//! pre-norm blocks) with its weights baked in, run on a Cortex-M4F (`thumbv7em-none-eabihf`):
//! `#![no_std]`, no allocator. Attention runs its tiled kernel at batch 1, in the work arena.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-mnist-vit --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

network! {
    /// `examples/vit_mnist`'s network, with the weights of its default run
    /// (`--save models/vit_mnist.safetensors`).
    #[weights = "../../models/vit_mnist.safetensors"]
    #[baked_only]
    pub struct Vit<
        input(1, 28, 28),
        patches(7),
        embed: dense(49 -> 64),
        pos: positional(16, 64),
        attn1: fork { attn: [layer_norm, multi_head_attention(64, heads = 4), dropout(0.1)], skip: skip } => add,
        mlp1: fork { mlp: [layer_norm, dense(64 -> 128), gelu, dropout(0.1), dense(128 -> 64), dropout(0.1)], skip: skip } => add,
        attn2: fork { attn: [layer_norm, multi_head_attention(64, heads = 4), dropout(0.1)], skip: skip } => add,
        mlp2: fork { mlp: [layer_norm, dense(64 -> 128), gelu, dropout(0.1), dense(128 -> 64), dropout(0.1)], skip: skip } => add,
        attn3: fork { attn: [layer_norm, multi_head_attention(64, heads = 4), dropout(0.1)], skip: skip } => add,
        mlp3: fork { mlp: [layer_norm, dense(64 -> 128), gelu, dropout(0.1), dense(128 -> 64), dropout(0.1)], skip: skip } => add,
        attn4: fork { attn: [layer_norm, multi_head_attention(64, heads = 4), dropout(0.1)], skip: skip } => add,
        mlp4: fork { mlp: [layer_norm, dense(64 -> 128), gelu, dropout(0.1), dense(128 -> 64), dropout(0.1)], skip: skip } => add,
        norm: layer_norm,
        mean_pool,
        head: dense(64 -> 10),
    >
}

board::firmware!("mnist-vit", VitBaked, board::standardized);
