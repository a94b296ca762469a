#!/usr/bin/env python3
"""Does the opt-in `threading` feature pay? Times one MLP training step at batch 256 with
MATMUL_NUM_THREADS=1 and =2, interleaved, from one build with `--features threading`.

Run from anywhere:

    python3 benches/compare/thread_scaling.py [--reps N]

Prints `train_b256_1_thread_us`, `train_b256_2_threads_us` (medians over the repetitions) and
`speedup_2_threads` (1-thread time / 2-thread time; above 1 means two threads are faster).
"""

import argparse
import os
import statistics
import subprocess
import sys

# The probe is built the same way as for compare.py, only with the feature on.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import build_probe  # noqa: E402


def step_us(exe, threads):
    env = dict(os.environ, MATMUL_NUM_THREADS=str(threads))
    out = subprocess.run([exe, "train_b256"], check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    for line in out.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "train_b256_us":
            return float(value)
    sys.exit(f"thread_scaling.py: no train_b256_us in {out!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    reps = parser.parse_args().reps
    exe = build_probe(features=["threading"])
    one, two = [], []
    for rep in range(reps):
        for threads in ([1, 2] if rep % 2 == 0 else [2, 1]):
            (one if threads == 1 else two).append(step_us(exe, threads))
    t1, t2 = statistics.median(one), statistics.median(two)
    print(f"train_b256_1_thread_us: {t1:.1f}")
    print(f"train_b256_2_threads_us: {t2:.1f}")
    print(f"speedup_2_threads: {t1 / t2:.2f}")


if __name__ == "__main__":
    sys.exit(main())
