#!/usr/bin/env python3
"""Measures what `nn` costs at compile time, as a user's crate sees it.

Run from anywhere:

    python3 benches/compare/compile_cost.py [--reps N]

It writes a throwaway crate into a temporary directory that depends on this checkout by path
(no dev-dependencies, so criterion and friends are not in the build), and times cargo on it:

    clean_release_build_s   `cargo build --release` of the MNIST-MLP bench program (training
                            and inference on synthetic data) from an empty target directory:
                            nn, nn-core, nn-macros and their dependencies (syn, quote, rand, ...)
    incremental_check_s     `cargo check` after editing the network declaration (a hidden size)
    resnet18_check_s        `cargo check` after editing a ResNet-18-shaped declaration (20 convs,
                            20 batch norms, 8 residual adds on 3 x 32 x 32; the head's size)
    resnet18_clean_release_build_s  `cargo build --release` of that program (a training step
                            and an inference) from an empty target directory
    resnet18_incremental_release_build_s  the release build again after that edit
    check_20_layers_s       the same edit and `cargo check` with a 20-layer network instead
    check_2_layers_s        ... and with a 2-layer one, same program otherwise
    expansion_20_layers_s   check_20_layers_s - check_2_layers_s: what 18 more layers cost
    stripped_inference_bytes  size of a stripped release binary that only runs MLP inference
    transformer6_check_s    `cargo check` after editing a 6-layer causal transformer language model
                            (token ids, embedding, sinusoidal positions, 6 pre-norm blocks of
                            layer_norm + 4-head attention and layer_norm + a 256-wide MLP, each
                            block two residual forks; the vocabulary size)

`--only transformer` measures transformer6_check_s alone.

Times are medians over --reps runs (the clean build runs once per rep, each in a fresh target
directory). Output lines are `name: value`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MANIFEST = """[package]
name = "nn_cost_probe"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
nn = {{ path = "{root}" }}

[[bin]]
name = "train"
path = "src/train.rs"

[[bin]]
name = "infer"
path = "src/infer.rs"

[profile.release]
strip = true
"""

# The bench program: the MNIST MLP, a few Adam steps on synthetic data, then inference.
TRAIN = """use nn::prelude::*;

network! {{
    pub struct Mlp< fc1: dense(784 -> {hidden}), relu, fc2: dense({hidden} -> 10) >
}}

fn main() {{
    let mut net = Mlp::seeded(0);
    let mut adam = Adam::new(1e-3);
    let mut tape = MlpTape::<64>::new();
    let mut grad = Tensor2::<64, 10>::zeros();
    let x = Tensor2::<64, 784>::from_fn(|[r, c]| ((r * 31 + c * 7) % 255) as f32 / 255.0);
    let labels: [usize; 64] = std::array::from_fn(|i| i % 10);
    for _ in 0..10 {{
        let logits = net.forward_train(&x, &mut tape);
        let loss = softmax_cross_entropy(logits, &labels, &mut grad).unwrap();
        net.zero_grad();
        net.backward_params(&mut tape, &grad);
        adam.step(&mut net);
        println!("loss {{loss}}");
    }}
    let mut eval = MlpTape::<64, Eval>::new();
    println!("{{:?}}", &net.infer(&x, &mut eval).as_slice()[..10]);
}}
"""

INFER = """use nn::prelude::*;

network! {
    pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
}

fn main() {
    let net = Mlp::seeded(0);
    let mut tape = MlpTape::<1, Eval>::new();
    let x = Tensor2::<1, 784>::full(0.5);
    let y = net.infer(&x, &mut tape);
    println!("{}", argmax(y.as_slice()));
}
"""


def deep_network(layers, hidden):
    """A chain of `layers` dense layers with tanh between, 784 -> ... -> 10."""
    parts = []
    width = 784
    for i in range(layers):
        out = 10 if i == layers - 1 else hidden + (i % 3)
        parts.append(f"dense({width} -> {out})")
        if i != layers - 1:
            parts.append("tanh")
        width = out
    return ", ".join(parts)


DEEP = """use nn::prelude::*;

network! {{
    pub struct Deep< {layers} >
}}

fn main() {{
    let net = Deep::seeded(0);
    let mut tape = DeepTape::<1, Eval>::new();
    let y = net.infer(&Tensor2::<1, 784>::full(0.5), &mut tape);
    println!("{{}}", y.as_slice()[0]);
}}
"""


def resnet18(classes):
    """A ResNet-18-shaped declaration on 3 x 32 x 32 (CIFAR): a 3x3 stem, four stages of two
    basic blocks (64, 128, 256, 512 channels; stages 2-4 halve the size with a strided conv
    and a 1x1 strided shortcut), global average pooling and a dense head: 20 convs, 20 batch
    norms, 8 residual `add`s."""
    def block(name, c_in, c_out, stride):
        down = ", stride = 2, floor" if stride == 2 else ""
        body = (f"conv2d({c_in} -> {c_out}, kernel = 3, padding = 1{down}), batch_norm, relu, "
                f"conv2d({c_out} -> {c_out}, kernel = 3, padding = 1), batch_norm")
        if stride == 2:
            shortcut = f"[conv2d({c_in} -> {c_out}, kernel = 1, stride = 2, floor), batch_norm]"
        else:
            shortcut = "skip"
        return f"{name}: fork {{ body: [{body}], shortcut: {shortcut} }} => add, relu"

    parts = ["input(3, 32, 32)", "stem: conv2d(3 -> 64, kernel = 3, padding = 1), batch_norm, relu"]
    c = 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            parts.append(block(f"layer{stage}_{index}", c, width, stride))
            c = width
    parts += ["global_avg_pool", f"fc: dense(512 -> {classes})"]
    return ",\n        ".join(parts)


RESNET = """use nn::prelude::*;

network! {{
    pub struct ResNet18<
        {layers}
    >
}}

fn main() {{
    let mut net = ResNet18::seeded(0);
    let mut adam = Adam::new(1e-3);
    let mut tape = ResNet18Tape::<2>::new();
    let mut grad = Tensor2::<2, {classes}>::zeros();
    let x = Tensor4::<2, 3, 32, 32>::full(0.5);
    let logits = net.forward_train(&x, &mut tape);
    let loss = softmax_cross_entropy(logits, &[1, 2], &mut grad).unwrap();
    net.zero_grad();
    net.backward_params(&mut tape, &grad);
    adam.step(&mut net);
    let mut eval = ResNet18Tape::<1, Eval>::new();
    let y = net.infer(&Tensor4::<1, 3, 32, 32>::full(0.5), &mut eval);
    println!("{{loss}} {{}}", y.as_slice()[0]);
}}
"""


def transformer6(vocab):
    """A 6-layer causal transformer language model over 64 tokens, D = 64, 4 heads."""
    parts = ["input(64) tokens", f"embed: embedding({vocab} -> 64)", "positional(sinusoidal)"]
    for i in range(1, 7):
        parts.append(f"attn{i}: fork {{ attn: [layer_norm, multi_head_attention(64, heads = 4, causal)], skip: skip }} => add")
        parts.append(f"mlp{i}: fork {{ mlp: [layer_norm, dense(64 -> 256), gelu, dense(256 -> 64)], skip: skip }} => add")
    parts += ["norm: layer_norm", f"head: dense(64 -> {vocab})"]
    return ",\n        ".join(parts)


TRANSFORMER = """use nn::prelude::*;

network! {{
    pub struct Lm<
        {layers}
    >
}}

fn main() {{
    let mut net = Lm::seeded(0);
    let mut adam = Adam::new(1e-3);
    let mut tape = LmTape::<2>::new();
    let ids = Tensor2::<2, 64>::from_fn(|[b, t]| ((b + t) % {vocab}) as f32);
    let logits = net.forward_train(&ids, &mut tape);
    let grad = logits.clone();
    net.zero_grad();
    net.backward_params(&mut tape, &grad);
    adam.step(&mut net);
    let mut eval = LmTape::<1, Eval>::new();
    let y = net.infer(&Tensor2::<1, 64>::zeros(), &mut eval);
    println!("{{}}", y.as_slice()[0]);
}}
"""


def cargo(args, cwd, target, must_rebuild=False):
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    start = time.perf_counter()
    done = subprocess.run(["cargo", *args], cwd=cwd, env=env, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    # A timing of a build cargo skipped as fresh would flatter us: insist it ran.
    if must_rebuild and "nn_cost_probe" not in done.stderr:
        sys.exit(f"compile_cost.py: cargo did not rebuild the edited crate:\n{done.stderr}")
    return seconds


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", choices=["transformer"], default=None)
    args = parser.parse_args()
    reps = args.reps

    with tempfile.TemporaryDirectory(prefix="nn-cost-") as crate:
        os.makedirs(os.path.join(crate, "src"))
        write(os.path.join(crate, "Cargo.toml"), MANIFEST.format(root=ROOT))
        write(os.path.join(crate, "src", "train.rs"), TRAIN.format(hidden=128))
        write(os.path.join(crate, "src", "infer.rs"), INFER)
        # Resolve and fetch once, outside the timings.
        subprocess.run(["cargo", "fetch"], cwd=crate, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        target = os.path.join(crate, "target")

        def edited_check(path, texts):
            cargo(["check", "--bin", "train"], crate, target)  # warm
            times = []
            for rep in range(reps):
                write(path, texts[rep % len(texts)])
                times.append(cargo(["check", "--bin", "train"], crate, target, must_rebuild=True))
            return statistics.median(times)

        train = os.path.join(crate, "src", "train.rs")
        if args.only == "transformer":
            lms = [TRANSFORMER.format(layers=transformer6(v), vocab=v) for v in (96, 97, 98)]
            print(f"transformer6_check_s: {edited_check(train, lms):.2f}")
            return

        clean = []
        for _ in range(reps):
            with tempfile.TemporaryDirectory(prefix="nn-cost-target-") as target:
                clean.append(cargo(["build", "--release", "--bin", "train"], crate, target))
        print(f"clean_release_build_s: {statistics.median(clean):.1f}")

        cargo(["build", "--release", "--bin", "infer"], crate, target)
        size = os.path.getsize(os.path.join(target, "release", "infer"))
        print(f"stripped_inference_bytes: {size}")

        incremental = edited_check(train, [TRAIN.format(hidden=h) for h in (96, 128, 112)])
        print(f"incremental_check_s: {incremental:.2f}")

        deep20 = edited_check(train, [DEEP.format(layers=deep_network(20, h)) for h in (32, 40, 48)])
        deep2 = edited_check(train, [DEEP.format(layers=deep_network(2, h)) for h in (32, 40, 48)])
        print(f"check_20_layers_s: {deep20:.2f}")
        print(f"check_2_layers_s: {deep2:.2f}")
        print(f"expansion_20_layers_s: {deep20 - deep2:.2f}")

        resnet = [RESNET.format(layers=resnet18(k), classes=k) for k in (10, 11, 12)]
        print(f"resnet18_check_s: {edited_check(train, resnet):.2f}")
        write(train, resnet[0])
        builds = []
        for _ in range(reps):
            with tempfile.TemporaryDirectory(prefix="nn-cost-target-") as fresh:
                builds.append(cargo(["build", "--release", "--bin", "train"], crate, fresh))
        print(f"resnet18_clean_release_build_s: {statistics.median(builds):.1f}")
        # What the declaration itself adds to a release build, nn and its dependencies built.
        release = []
        for rep in range(reps):
            write(train, resnet[rep % len(resnet)])
            release.append(cargo(["build", "--release", "--bin", "train"], crate, target, must_rebuild=True))
        print(f"resnet18_incremental_release_build_s: {statistics.median(release):.1f}")

        lms = [TRANSFORMER.format(layers=transformer6(v), vocab=v) for v in (96, 97, 98)]
        print(f"transformer6_check_s: {edited_check(train, lms):.2f}")


if __name__ == "__main__":
    sys.exit(main())
