#!/usr/bin/env python3
"""Times the same workloads in `nn` and (when it is installed) PyTorch, with the same number of
threads each (one unless told otherwise).

Run from anywhere:

    python3 benches/compare/compare.py [--reps N] [--figures epoch,infer_b1,...] [--threads N]

Our side is the `perf_probe` bench target (benches/compare/perf_probe.rs), built here with
`cargo bench -p nn --no-run --bench perf_probe` (the bench profile: release plus line tables; the
`threading` feature is on by default) and run with NN_THREADS=N, the size of `nn`'s thread pool.
The PyTorch side runs in this process after torch.set_num_threads(N), with OMP_NUM_THREADS and
MKL_NUM_THREADS set to N before torch is imported. N is `--threads`, 1 by default.
PyTorch is optional: without it only our figures are printed.

Both sides measure each figure the same way, and the repetitions interleave (ours, PyTorch,
PyTorch, ours, ...) so that drift in the machine's speed hits both alike. Each side reports the
median over its repetitions.

Figures (synthetic data of MNIST's shape; real MNIST is not needed to time an epoch):
    epoch_s        one epoch of 784-128-10 ReLU MLP training, 60 000 samples = 937 full batches
                   of 64, softmax cross-entropy, Adam 1e-3, no shuffling
    infer_b1_us    one batch-1 inference call (median block of 20 000 calls)
    infer_b64_us   one batch-64 inference call (median block of 1 000 calls)
    celsius_ms     the Keras celsius tutorial: fresh Dense(1 -> 1), 500 full-batch Adam steps
    sgemm_gflops   64x784 . (128x784)^T, the MLP's forward product, in GFLOP/s
    lenet_epoch_s  one epoch of LeNet-5 training on the same synthetic data (as 1x28x28
                   images): conv(1->6, k5), relu, maxpool 2, conv(6->16, k5), relu, maxpool 2,
                   flatten, 256-120 relu -84 relu -10; 937 full batches of 64, softmax
                   cross-entropy, Adam 1e-3, no shuffling
    cnn_infer_b1_us  one batch-1 LeNet inference call (median block of 2 000 calls); PyTorch
                   in eval mode under torch.no_grad()
    lstm_epoch_s   one epoch of the sequential-MNIST LSTM (28 steps of 28 pixels, LSTM(28, 128),
                   last step, Linear(128, 10)), 937 batches of 64, Adam 1e-3, no clipping
    lstm_infer_b1_us  one batch-1 inference of it, 28 steps (median block of 2 000 calls)
    conv1_gflops   the forward of LeNet's conv1, Conv2d(1, 6, 5) on 64x1x28x28, in GFLOP/s
                   (2 * multiply-adds / time; the bias is not counted)
    conv2_gflops   the same for conv2, Conv2d(6, 16, 5) on 64x6x12x12
    conv1_wgrad_gflops, conv2_wgrad_gflops  (not in the default set) their weight gradients;
                   PyTorch's through torch.autograd.grad on the weight alone
    tcn784_gflops, tcn28_gflops  (not in the default set) a TCN block: four causal
                   Conv1d(64, 64, 3) with dilations 1, 2, 4, 8 (input padded on the left by
                   F.pad), forward, over 784 steps at batch 8 and 28 steps at batch 64
    depthwise_gflops, depthwise_wgrad_gflops  (not in the default set) DS-CNN's depthwise
                   Conv2d(64, 64, 3, padding=1, groups=64) on 64x64x25x5, forward and weight
                   gradient
    fma_peak_gflops  this core's single-thread f32 FMA peak, measured in the same run by our
                   probe (independent chains of AVX-512 or AVX2 FMAs, the faster); no PyTorch
                   twin. With it, sgemm_peak_fraction and conv<N>_peak_fraction lines give each
                   side's GFLOP/s as a fraction of the peak of the cores in use: N * fma_peak
                   with --threads N (the probe measures one core; more threads than cores make
                   the fraction meaningless)
    dispatch_us    (not in the default set) one empty split across our thread pool: the fixed
                   cost of going parallel; no PyTorch twin

Output: a `# cpu:` line (model name, L1d size per core, logical CPUs), a header naming the thread
count, then `nn_<figure>: value`, `torch_<figure>: value` and `ratio_<figure>: x` lines. The ratio
is ours / PyTorch for times and PyTorch / ours for throughputs, so below 1 means we are ahead.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = ["epoch", "infer_b1", "infer_b64", "celsius", "sgemm", "lenet_epoch", "cnn_infer_b1", "conv1", "conv2", "fma_peak",
           "lstm_epoch", "lstm_infer_b1"]
# Figure name -> (output key, higher is better)
KEYS = {
    "epoch": ("epoch_s", False),
    "infer_b1": ("infer_b1_us", False),
    "infer_b64": ("infer_b64_us", False),
    "celsius": ("celsius_ms", False),
    "sgemm": ("sgemm_gflops", True),
    "lenet_epoch": ("lenet_epoch_s", False),
    "lstm_epoch": ("lstm_epoch_s", False),
    "lstm_infer_b1": ("lstm_infer_b1_us", False),
    "cnn_infer_b1": ("cnn_infer_b1_us", False),
    "lenet_int8_b64": ("lenet_int8_b64_us", False),
    "conv1": ("conv1_gflops", True),
    "conv2": ("conv2_gflops", True),
    "conv1_wgrad": ("conv1_wgrad_gflops", True),
    "conv2_wgrad": ("conv2_wgrad_gflops", True),
    "tcn784": ("tcn784_gflops", True),
    "tcn28": ("tcn28_gflops", True),
    "depthwise": ("depthwise_gflops", True),
    "depthwise_wgrad": ("depthwise_wgrad_gflops", True),
    "fma_peak": ("fma_peak_gflops", True),
    "dispatch": ("dispatch_us", False),
    "transformer": ("transformer_fwd_us", False),
    "transformer_train": ("transformer_train_us", False),
    "transformer_decode": ("transformer_decode_us", False),
}
# Figures that only our probe measures.
OURS_ONLY = {"fma_peak", "dispatch"}
# Throughput figures that are compared with the FMA peak.
PEAK_FIGURES = ["sgemm", "conv1", "conv2"]
# Conv figure -> (input shape, output channels, kernel): LeNet's two convolutions at batch 64.
CONVS = {
    "conv1": ((64, 1, 28, 28), 6, 5),
    "conv2": ((64, 6, 12, 12), 16, 5),
}
BLOCKS = 7
BATCH = 64
EPOCH_SAMPLES = 60_000


def build_probe(features=()):
    """Builds perf_probe in the bench profile, with the given cargo features, and returns the
    executable's path."""
    cmd = [
        "cargo", "bench", "-p", "nn", "--no-run", "--bench", "perf_probe", "--message-format=json-render-diagnostics",
    ]
    if features:
        cmd += ["--features", ",".join(features)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "perf_probe":
            if msg.get("executable"):
                return msg["executable"]
    sys.exit("compare.py: cargo did not report a perf_probe executable")


def cpu_description():
    """`<model name>, L1d <size> per core, <n> logical CPUs`, from /proc/cpuinfo and sysfs, with
    lscpu as the fallback; unknown parts are left out."""
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                name, sep, value = line.partition(":")
                if sep and name.strip() == "model name":
                    model = value.strip()
                    break
    except OSError:
        pass
    l1d = None
    try:
        base = "/sys/devices/system/cpu/cpu0/cache"
        for index in sorted(os.listdir(base)):
            def read(name):
                with open(os.path.join(base, index, name)) as f:
                    return f.read().strip()
            if read("level") == "1" and read("type") in ("Data", "Unified"):
                size = read("size")
                l1d = size[:-1] + " KiB" if size.endswith("K") else size
                break
    except OSError:
        pass
    if model is None or l1d is None:
        try:
            out = subprocess.run(["lscpu"], check=True, stdout=subprocess.PIPE, text=True).stdout
        except (OSError, subprocess.CalledProcessError):
            out = ""
        info = {}
        for line in out.splitlines():
            name, sep, value = line.partition(":")
            if sep:
                info[name.strip()] = value.strip()
        model = model or info.get("Model name")
        # lscpu gives the total over all cores, e.g. "64 KiB (2 instances)".
        l1d = l1d or (info.get("L1d cache") and info["L1d cache"] + " in all")
    parts = [model or "unknown CPU"]
    if l1d:
        parts.append(f"L1d {l1d}" + ("" if l1d.endswith("in all") else " per core"))
    parts.append(f"{os.cpu_count()} logical CPUs")
    return ", ".join(parts)


def parse(text):
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            try:
                values[name.strip()] = float(value)
            except ValueError:
                pass
    return values


def run_ours(exe, figures, threads=1):
    env = dict(os.environ, NN_THREADS=str(threads))
    out = subprocess.run([exe, *figures], check=True, stdout=subprocess.PIPE, text=True, env=env)
    return parse(out.stdout)


class Torch:
    """The same workloads in PyTorch, float32, `threads` threads."""

    def __init__(self, torch, threads=1):
        self.torch = torch
        self.F = torch.nn.functional
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.pixels = torch.rand(EPOCH_SAMPLES, 784)
        self.labels = torch.randint(0, 10, (EPOCH_SAMPLES,))

    def mlp(self):
        nn = self.torch.nn
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))

    def lenet(self):
        nn = self.torch.nn
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(256, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    def lenet_int8_b64(self):
        """64 LeNet images through PyTorch's int8 LeNet: eager-mode post-training quantization
        with the fbgemm engine (conv+ReLU and linear+ReLU fused, per-channel weights),
        calibrated on 256 images."""
        torch = self.torch
        nn = torch.nn
        q = torch.ao.quantization

        class Quantized(nn.Module):
            def __init__(self, body):
                super().__init__()
                self.quant = q.QuantStub()
                self.body = body
                self.dequant = q.DeQuantStub()

            def forward(self, x):
                return self.dequant(self.body(self.quant(x)))

        torch.backends.quantized.engine = "fbgemm"
        model = Quantized(self.lenet()).eval()
        model.qconfig = q.get_default_qconfig("fbgemm")
        q.fuse_modules(model.body, [["0", "1"], ["3", "4"], ["7", "8"], ["9", "10"]], inplace=True)
        q.prepare(model, inplace=True)
        with torch.no_grad():
            model(self.pixels[:256].view(256, 1, 28, 28))
        q.convert(model, inplace=True)
        x = self.pixels[:BATCH].view(BATCH, 1, 28, 28)

        def call():
            with torch.no_grad():
                model(x)

        return self.time_per_call(200, call)

    def transformer(self, train):
        """One pre-norm encoder layer (T = 64, D = 64, 4 heads, feed-forward 256, ReLU) at batch
        32: eval mode under no_grad (PyTorch may take its fused fast path), or a forward and
        backward in train mode."""
        torch = self.torch
        torch.manual_seed(0)
        layer = torch.nn.TransformerEncoderLayer(64, 4, dim_feedforward=256, dropout=0.0,
                                                 activation="relu", batch_first=True,
                                                 norm_first=True)
        x = torch.rand(32, 64, 64) * 2 - 1
        dy = torch.full((32, 64, 64), 0.01)
        if not train:
            layer.eval()

            def call():
                with torch.no_grad():
                    layer(x)
        else:
            layer.train()

            def call():
                layer.zero_grad(set_to_none=False)
                layer(x).backward(dy)
        return self.time_per_call(20, call)

    def transformer_decode(self):
        """One batch-1 decode step of the same layer with causal attention, the mean over the 64
        steps of a sequence: each step projects its row, appends its key and value to a cache
        and attends over the cache with `scaled_dot_product_attention`, the way a PyTorch
        user writes cached decoding (the layer itself has no cache)."""
        torch, F = self.torch, self.F
        torch.manual_seed(0)
        layer = torch.nn.TransformerEncoderLayer(64, 4, dim_feedforward=256, dropout=0.0,
                                                 activation="relu", batch_first=True,
                                                 norm_first=True).eval()
        attn = layer.self_attn
        heads, head_dim = 4, 16
        x = torch.rand(64, 64) * 2 - 1

        def call():
            with torch.no_grad():
                keys = torch.empty(1, heads, 64, head_dim)
                values = torch.empty(1, heads, 64, head_dim)
                for t in range(64):
                    row = x[t:t + 1]
                    q, k, v = F.linear(layer.norm1(row), attn.in_proj_weight,
                                       attn.in_proj_bias).split(64, dim=-1)
                    keys[0, :, t] = k.view(heads, head_dim)
                    values[0, :, t] = v.view(heads, head_dim)
                    heads_out = F.scaled_dot_product_attention(
                        q.view(1, heads, 1, head_dim), keys[:, :, :t + 1], values[:, :, :t + 1])
                    row = row + attn.out_proj(heads_out.reshape(1, 64))
                    row = row + layer.linear2(F.relu(layer.linear1(layer.norm2(row))))

        return self.time_per_call(20, call) / 64

    def lenet_epoch(self):
        model = self.lenet()
        opt = self.torch.optim.Adam(model.parameters(), lr=1e-3)
        images = self.pixels.view(EPOCH_SAMPLES, 1, 28, 28)

        def step(i):
            x = images[i * BATCH:(i + 1) * BATCH]
            y = self.labels[i * BATCH:(i + 1) * BATCH]
            loss = self.F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        for i in range(5):
            step(i)
        start = time.perf_counter()
        for i in range(EPOCH_SAMPLES // BATCH):
            loss = step(i)
        loss.item()
        return time.perf_counter() - start

    def seq_lstm(self):
        torch = self.torch

        class SeqLstm(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = torch.nn.LSTM(28, 128, batch_first=True)
                self.head = torch.nn.Linear(128, 10)

            def forward(self, x):
                states, _ = self.lstm(x)
                return self.head(states[:, -1])

        return SeqLstm()

    def lstm_epoch(self):
        model = self.seq_lstm()
        opt = self.torch.optim.Adam(model.parameters(), lr=1e-3)
        rows = self.pixels.view(EPOCH_SAMPLES, 28, 28)

        def step(i):
            x = rows[i * BATCH:(i + 1) * BATCH]
            y = self.labels[i * BATCH:(i + 1) * BATCH]
            loss = self.F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        for i in range(5):
            step(i)
        start = time.perf_counter()
        for i in range(EPOCH_SAMPLES // BATCH):
            loss = step(i)
        loss.item()
        return time.perf_counter() - start

    def lstm_infer_b1(self):
        model = self.seq_lstm().eval()
        x = self.pixels[:1].view(1, 28, 28).clone()
        with self.torch.no_grad():
            return self.time_per_call(2_000, lambda: model(x))

    def cnn_infer_b1(self):
        model = self.lenet().eval()
        x = self.pixels[:1].view(1, 1, 28, 28).clone()
        with self.torch.no_grad():
            return self.time_per_call(2_000, lambda: model(x))

    def conv_gflops(self, figure):
        shape, c_out, k = CONVS[figure]
        conv = self.torch.nn.Conv2d(shape[1], c_out, k)
        x = self.torch.rand(*shape) * 2 - 1
        b, _, h, w = shape
        macs = b * c_out * (h - k + 1) * (w - k + 1) * shape[1] * k * k
        with self.torch.no_grad():
            seconds = self.time_per_call(200, lambda: conv(x))
        return 2 * macs / seconds / 1e9

    def conv_wgrad_gflops(self, figure):
        shape, c_out, k = CONVS[figure.removesuffix("_wgrad")]
        conv = self.torch.nn.Conv2d(shape[1], c_out, k)
        x = self.torch.rand(*shape) * 2 - 1
        b, _, h, w = shape
        macs = b * c_out * (h - k + 1) * (w - k + 1) * shape[1] * k * k
        y = conv(x)
        dy = self.torch.rand_like(y)
        grad = lambda: self.torch.autograd.grad(y, conv.weight, dy, retain_graph=True)  # noqa: E731
        return 2 * macs / self.time_per_call(100, grad) / 1e9

    def tcn_gflops(self, length, batch, calls):
        F = self.torch.nn.functional
        x = self.torch.rand(batch, 64, length) * 2 - 1
        total = 0.0
        with self.torch.no_grad():
            for d in (1, 2, 4, 8):
                w = (self.torch.rand(64, 64, 3) - 0.5) * 0.2
                bias = self.torch.zeros(64)
                total += self.time_per_call(
                    calls, lambda: F.conv1d(F.pad(x, (2 * d, 0)), w, bias, dilation=d))
        return 4 * 2 * batch * 64 * length * 64 * 3 / total / 1e9

    def depthwise_gflops(self, wgrad):
        conv = self.torch.nn.Conv2d(64, 64, 3, padding=1, groups=64)
        x = self.torch.rand(BATCH, 64, 25, 5) * 2 - 1
        macs = BATCH * 64 * 25 * 5 * 9
        if wgrad:
            y = conv(x)
            dy = self.torch.rand_like(y)
            seconds = self.time_per_call(
                500, lambda: self.torch.autograd.grad(y, conv.weight, dy, retain_graph=True))
        else:
            with self.torch.no_grad():
                seconds = self.time_per_call(500, lambda: conv(x))
        return 2 * macs / seconds / 1e9

    def epoch(self):
        model = self.mlp()
        opt = self.torch.optim.Adam(model.parameters(), lr=1e-3)

        def step(i):
            x = self.pixels[i * BATCH:(i + 1) * BATCH]
            y = self.labels[i * BATCH:(i + 1) * BATCH]
            loss = self.F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        for i in range(5):
            step(i)
        start = time.perf_counter()
        for i in range(EPOCH_SAMPLES // BATCH):
            loss = step(i)
        loss.item()
        return time.perf_counter() - start

    def time_per_call(self, calls, f):
        for _ in range(-(-calls // 10)):
            f()
        blocks = []
        for _ in range(BLOCKS):
            start = time.perf_counter()
            for _ in range(calls):
                f()
            blocks.append((time.perf_counter() - start) / calls)
        return statistics.median(blocks)

    def infer(self, batch, calls):
        model = self.mlp().eval()
        x = self.pixels[:batch].clone()
        with self.torch.inference_mode():
            return self.time_per_call(calls, lambda: model(x))

    def celsius_once(self):
        torch = self.torch
        c = torch.tensor([-40.0, -10.0, 0.0, 8.0, 15.0, 22.0, 38.0]).reshape(-1, 1)
        f = torch.tensor([-40.0, 14.0, 32.0, 46.0, 59.0, 72.0, 100.0]).reshape(-1, 1)
        fc = torch.nn.Linear(1, 1)
        opt = torch.optim.Adam(fc.parameters(), lr=0.1)
        for _ in range(500):
            opt.zero_grad()
            self.F.mse_loss(fc(c), f).backward()
            opt.step()
        return fc

    def sgemm_gflops(self):
        a = self.torch.rand(BATCH, 784) * 2 - 1
        w = self.torch.rand(128, 784) * 2 - 1
        out = self.torch.empty(BATCH, 128)
        wt = w.t()
        seconds = self.time_per_call(2000, lambda: self.torch.mm(a, wt, out=out))
        return 2 * BATCH * 128 * 784 / seconds / 1e9

    def measure(self, figure):
        if figure == "epoch":
            return self.epoch()
        if figure == "infer_b1":
            return self.infer(1, 20_000) * 1e6
        if figure == "infer_b64":
            return self.infer(BATCH, 1_000) * 1e6
        if figure == "celsius":
            return self.time_per_call(5, self.celsius_once) * 1e3
        if figure == "sgemm":
            return self.sgemm_gflops()
        if figure == "lenet_epoch":
            return self.lenet_epoch()
        if figure == "lstm_epoch":
            return self.lstm_epoch()
        if figure == "lstm_infer_b1":
            return self.lstm_infer_b1() * 1e6
        if figure == "cnn_infer_b1":
            return self.cnn_infer_b1() * 1e6
        if figure == "lenet_int8_b64":
            return self.lenet_int8_b64() * 1e6
        if figure == "transformer_decode":
            return self.transformer_decode() * 1e6
        if figure in ("transformer", "transformer_train"):
            return self.transformer(train=figure == "transformer_train") * 1e6
        if figure in CONVS:
            return self.conv_gflops(figure)
        if figure in ("conv1_wgrad", "conv2_wgrad"):
            return self.conv_wgrad_gflops(figure)
        if figure == "tcn784":
            return self.tcn_gflops(784, 8, 50)
        if figure == "tcn28":
            return self.tcn_gflops(28, BATCH, 200)
        if figure in ("depthwise", "depthwise_wgrad"):
            return self.depthwise_gflops(figure == "depthwise_wgrad")
        raise ValueError(figure)

    def run(self, figures):
        return {KEYS[f][0]: self.measure(f) for f in figures if f not in OURS_ONLY}


def fmt(v):
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions per side (default 5)")
    parser.add_argument("--figures", default=",".join(FIGURES),
                        help="comma-separated subset of " + ",".join(FIGURES) + " (also: dispatch)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads on each side: NN_THREADS for ours, torch.set_num_threads for PyTorch (default 1)")
    args = parser.parse_args()
    figures = [f for f in args.figures.split(",") if f]
    for f in figures:
        if f not in KEYS:
            sys.exit(f"compare.py: unknown figure `{f}` (known: {', '.join(KEYS)})")
    if args.threads < 1:
        sys.exit("compare.py: --threads must be a positive integer")
    if args.threads > (os.cpu_count() or 1):
        print(f"compare.py: warning: --threads {args.threads} is more than the {os.cpu_count()} logical CPUs",
              file=sys.stderr)

    # PyTorch's OpenMP/MKL pools get the same count; must be set before torch is imported.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    exe = build_probe()
    try:
        import torch
    except Exception:  # not installed, or broken: our figures alone
        torch = None
    side = Torch(torch, args.threads) if torch is not None else None

    threads = "one thread each" if args.threads == 1 else f"{args.threads} threads each"
    print(f"# cpu: {cpu_description()}")
    print(f"# nn perf_probe vs {'PyTorch ' + torch.__version__ if torch else 'no PyTorch (import torch failed)'}"
          f"; {threads}; median of {args.reps} interleaved repetitions", flush=True)
    ours, theirs = [], []
    for rep in range(args.reps):
        # Alternate who goes first, so neither side always runs on a cooler (or hotter) core.
        order = [0, 1] if rep % 2 == 0 else [1, 0]
        for who in order:
            if who == 0:
                ours.append(run_ours(exe, figures, args.threads))
            elif side is not None:
                theirs.append(side.run(figures))
        print(f"# repetition {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)

    medians = {}
    for f in figures:
        key, higher_is_better = KEYS[f]
        mine = statistics.median(r[key] for r in ours)
        medians[("nn", f)] = mine
        print(f"nn_{key}: {fmt(mine)}")
        if theirs and f not in OURS_ONLY:
            ref = statistics.median(r[key] for r in theirs)
            medians[("torch", f)] = ref
            print(f"torch_{key}: {fmt(ref)}")
            ratio = ref / mine if higher_is_better else mine / ref
            print(f"ratio_{key}: {ratio:.3f}")

    # GEMM and conv throughput as a fraction of the FMA peak measured in the same run. The probe
    # measures one core, so with N threads the peak of the cores in use is N times that.
    peak = medians.get(("nn", "fma_peak"))
    if peak:
        peak *= args.threads
        if args.threads > 1 and any(f in PEAK_FIGURES for f in figures):
            print(f"# peak fractions below are of {args.threads} x fma_peak_gflops = {fmt(peak)} GFLOP/s")
        for f in figures:
            if f in PEAK_FIGURES:
                for who in ("nn", "torch"):
                    if (who, f) in medians:
                        print(f"{who}_{f}_peak_fraction: {medians[(who, f)] / peak:.3f}")


if __name__ == "__main__":
    main()
