//! The character-level language model of `examples/char_lm` (64 characters, D = 64, 4 heads,
//! three causal pre-norm blocks) with its weights baked in, run on a Cortex-M4F
//! (`thumbv7em-none-eabihf`): `#![no_std]`, no allocator. It reads 16 windows of 64 characters
//! of the Mozilla Public License 2.0 (`src/text.txt`, from Debian's `base-files`; the example
//! holds this licence out of training) and predicts the next character at every position.
//!
//! ```text
//! embedded/run.sh                                   # every firmware, on QEMU and on the host
//! cargo run -p nn-embedded-char-lm --target thumbv7em-none-eabihf --profile embedded
//! ```
#![cfg_attr(target_os = "none", no_std, no_main)]

use nn::network;
use nn_embedded_board as board;

/// Characters per window.
const T: usize = 64;
/// Newline and the 95 printable ASCII characters.
const VOCAB: usize = 96;

network! {
    /// `examples/char_lm`'s network (a baked network writes its sizes as numbers), with the
    /// weights of its default run
    /// (`--save models/char_lm.safetensors`).
    #[weights = "../../models/char_lm.safetensors"]
    #[baked_only]
    pub struct CharLm<
        input(64) tokens,
        embed: embedding(96 -> 64),
        positional(sinusoidal),
        attn1: fork { attn: [layer_norm, multi_head_attention(64, heads = 4, causal)], skip: skip } => add,
        mlp1: fork { mlp: [layer_norm, dense(64 -> 256), gelu, dense(256 -> 64)], skip: skip } => add,
        attn2: fork { attn: [layer_norm, multi_head_attention(64, heads = 4, causal)], skip: skip } => add,
        mlp2: fork { mlp: [layer_norm, dense(64 -> 256), gelu, dense(256 -> 64)], skip: skip } => add,
        attn3: fork { attn: [layer_norm, multi_head_attention(64, heads = 4, causal)], skip: skip } => add,
        mlp3: fork { mlp: [layer_norm, dense(64 -> 256), gelu, dense(256 -> 64)], skip: skip } => add,
        norm: layer_norm,
        head: dense(64 -> 96),
    >
}

/// The example's ids: newline is 0, the printable characters 1 to 95, anything else a space.
fn id(byte: u8) -> usize {
    match byte {
        b'\n' => 0,
        b' '..=b'~' => usize::from(byte - b' ') + 1,
        _ => 1,
    }
}

fn character(id: usize) -> u8 {
    if id == 0 {
        b'\n'
    } else {
        b' ' + (id as u8 - 1)
    }
}

fn run() -> ! {
    let mut work = [0.0f32; CharLmBaked::WORK_LEN];
    board::run_text::<T>(
        "char-lm",
        include_bytes!("text.txt"),
        id,
        character,
        |ids, predicted, probe| {
            let logits = match probe {
                None => CharLmBaked::infer(ids, &mut work),
                Some(probe) => CharLmBaked::infer_probed(ids, &mut work, &mut |layer, macs| {
                    probe.mark(layer, macs)
                }),
            };
            for (p, row) in predicted.iter_mut().zip(logits.chunks_exact(VOCAB)) {
                *p = board::argmax(row);
            }
        },
    )
}

#[cfg(target_os = "none")]
#[cortex_m_rt::entry]
fn main() -> ! {
    run()
}

#[cfg(not(target_os = "none"))]
fn main() {
    run()
}
