#!/usr/bin/env python3
"""Does `nn`'s thread pool pay? Times whole workloads with NN_THREADS=1 and NN_THREADS=N
(N = 2 unless told otherwise), interleaved, from one build of the perf_probe bench target
(benches/compare/perf_probe.rs, built by compare.py's build_probe; the `threading` feature is on
by default).

Run from anywhere:

    python3 benches/compare/thread_scaling.py [--reps N] [--workloads mlp,lenet,...] [--threads N]

Workloads (the probe figure in brackets; see compare.py for what each one does):
    mlp      one epoch of the 784-128-10 MLP at batch 64 (epoch), in s
    lenet    one epoch of LeNet-5 at batch 64 (lenet_epoch), in s
    lstm     one epoch of the sequential-MNIST LSTM at batch 64 (lstm_epoch), in s
    cnn_b1   one batch-1 LeNet inference call (cnn_infer_b1), in us

Each repetition runs every workload once per thread count, alternating the order (1, N then N, 1)
from one repetition to the next, so that drift in the machine's speed hits both alike.

Prints a `# cpu:` line, then for each workload `<figure>_1_thread_<unit>` and
`<figure>_N_threads_<unit>` (medians over the repetitions, e.g. `mlp_epoch_1_thread_s`) and
`speedup_N_threads_<workload>` (1-thread time / N-thread time; above 1 means N threads are faster),
and last `dispatch_us`, the median cost of one empty split across the pool at N threads.
"""

import argparse
import os
import statistics
import subprocess
import sys

# The probe is built the same way as for compare.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import build_probe, cpu_description, run_ours  # noqa: E402

# Workload -> (probe figure, probe output key, label in our output, unit)
WORKLOADS = {
    "mlp": ("epoch", "epoch_s", "mlp_epoch", "s"),
    "lenet": ("lenet_epoch", "lenet_epoch_s", "lenet_epoch", "s"),
    "lstm": ("lstm_epoch", "lstm_epoch_s", "lstm_epoch", "s"),
    "cnn_b1": ("cnn_infer_b1", "cnn_infer_b1_us", "cnn_infer_b1", "us"),
}


def measure(exe, figure, key, threads):
    values = run_ours(exe, [figure], threads)
    if key not in values:
        sys.exit(f"thread_scaling.py: the probe printed no {key} for `{figure}`")
    return values[key]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions per thread count (default 5)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset of " + ",".join(WORKLOADS))
    parser.add_argument("--threads", type=int, default=2, help="the thread count compared with 1 (default 2)")
    args = parser.parse_args()
    workloads = [w for w in args.workloads.split(",") if w]
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit(f"thread_scaling.py: unknown workload `{w}` (known: {', '.join(WORKLOADS)})")
    n = args.threads
    if n < 2:
        sys.exit("thread_scaling.py: --threads must be at least 2")
    if n > (os.cpu_count() or 1):
        print(f"thread_scaling.py: warning: --threads {n} is more than the {os.cpu_count()} logical CPUs",
              file=sys.stderr)

    exe = build_probe()
    print(f"# cpu: {cpu_description()}; 1 vs {n} threads, median of {args.reps} interleaved repetitions",
          flush=True)
    times = {(w, t): [] for w in workloads for t in (1, n)}
    dispatch = []
    for rep in range(args.reps):
        order = [1, n] if rep % 2 == 0 else [n, 1]
        for w in workloads:
            figure, key, _, _ = WORKLOADS[w]
            for threads in order:
                times[(w, threads)].append(measure(exe, figure, key, threads))
        dispatch.append(measure(exe, "dispatch", "dispatch_us", n))
        print(f"# repetition {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)

    for w in workloads:
        _, _, label, unit = WORKLOADS[w]
        t1, tn = statistics.median(times[(w, 1)]), statistics.median(times[(w, n)])
        digits = 4 if unit == "s" else 2
        print(f"{label}_1_thread_{unit}: {t1:.{digits}f}")
        print(f"{label}_{n}_threads_{unit}: {tn:.{digits}f}")
        print(f"speedup_{n}_threads_{w}: {t1 / tn:.2f}")
    print(f"dispatch_us: {statistics.median(dispatch):.3f}")


if __name__ == "__main__":
    sys.exit(main())
