#!/usr/bin/env python3
"""Writes tests/oracle/recurrent_fixture.json: PyTorch reference values for
nn-core/tests/recurrent_oracle.rs.

Regenerate (from the workspace root, with PyTorch installed):

    python3 tests/oracle/recurrent_generate.py

`cargo test` never needs PyTorch: it reads the committed fixture. Rerunning this script with the
same PyTorch version gives byte-identical output: every random draw comes from a fixed
`torch.manual_seed`, one per case, so adding a case does not change the others.

What it records, in the style of tests/oracle/vision_generate.py: one case per recurrent layer,
`nn.RNN` with `nonlinearity='tanh'` and `'relu'`, `nn.GRU` and `nn.LSTM`, each one layer, one
direction, `batch_first=True`, over T = 30 steps with B = 3 sequences of F = 4 features and
H = 5 hidden units. Each case has the input `(B, T, F)`, the four parameters in PyTorch's order
and layout (`weight_ih_l0` `(G·H, F)`, `weight_hh_l0` `(G·H, H)`, `bias_ih_l0`, `bias_hh_l0`,
G = 1, 3, 4; gate rows `r, z, n` for the GRU and `i, f, g, o` for the LSTM), an upstream
gradient `dy` for the output `(B, T, H)` (every step's hidden state), the output, the input
gradient `dx = (∂y/∂x)ᵀ dy` and every parameter gradient. Initial states are zero.

Numerics: inputs, parameters and upstream gradients are drawn in float32, so the Rust side starts
from exactly the same numbers; the reference arithmetic runs in float64. The script also reruns
every case in float32 PyTorch and prints how much of the Rust test's tolerance
(`1e-6 + 1e-4·|torch|`) PyTorch's own float32 rounding uses.
"""

import json
import os
import re

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recurrent_fixture.json")
ABS_TOL = 1e-6
REL_TOL = 1e-4
BATCH, STEPS, FEATURES, HIDDEN = 3, 30, 4, 5
PARAM_NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def draw_f32(*shape, low=-1.0, high=1.0):
    """Uniform float32 values in [low, high), widened to float64 exactly."""
    t = torch.rand(*shape, dtype=torch.float32) * (high - low) + low
    return t.to(torch.float64)


def budget_used(ref, f32):
    """The largest fraction of the tolerance that PyTorch's float32 result uses."""
    ref, f32 = ref.detach().reshape(-1), f32.detach().to(torch.float64).reshape(-1)
    return float(((f32 - ref).abs() / (ABS_TOL + REL_TOL * ref.abs())).max())


class Budget:
    """Tracks the worst float32 budget over every case."""

    worst = (0.0, "")

    @classmethod
    def note(cls, case, used):
        if used > cls.worst[0]:
            cls.worst = (used, case)
        assert used < 0.5, f"{case}: float32 PyTorch uses {used:.2f} of the tolerance"


def make(kind, nonlinearity, dtype):
    if kind == "rnn":
        module = torch.nn.RNN(FEATURES, HIDDEN, nonlinearity=nonlinearity, batch_first=True)
    elif kind == "gru":
        module = torch.nn.GRU(FEATURES, HIDDEN, batch_first=True)
    else:
        module = torch.nn.LSTM(FEATURES, HIDDEN, batch_first=True)
    return module.to(dtype)


def run(kind, nonlinearity, dtype, x, params, dy):
    """Output, input gradient and parameter gradients of one forward/backward in `dtype`."""
    module = make(kind, nonlinearity, dtype)
    with torch.no_grad():
        for name, value in zip(PARAM_NAMES, params):
            getattr(module, name).copy_(value.to(dtype))
    xg = x.to(dtype).clone().requires_grad_(True)
    y, _ = module(xg)
    y.backward(dy.to(dtype))
    grads = [getattr(module, name).grad for name in PARAM_NAMES]
    return y, xg.grad, grads


def case(name, seed, kind, nonlinearity=None, spread=0.6):
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    torch.manual_seed(seed)
    x = draw_f32(BATCH, STEPS, FEATURES)
    shapes = [
        (gates * HIDDEN, FEATURES),
        (gates * HIDDEN, HIDDEN),
        (gates * HIDDEN,),
        (gates * HIDDEN,),
    ]
    params = [draw_f32(*s, low=-spread, high=spread) for s in shapes]
    dy = draw_f32(BATCH, STEPS, HIDDEN)

    y, dx, grads = run(kind, nonlinearity, torch.float64, x, params, dy)
    y32, dx32, grads32 = run(kind, nonlinearity, torch.float32, x, params, dy)
    used = max(
        [budget_used(y, y32), budget_used(dx, dx32)]
        + [budget_used(a, b) for a, b in zip(grads, grads32)]
    )
    Budget.note(name, used)
    print(f"{name}: |y| <= {float(y.detach().abs().max()):.3f}, |dx| <= {float(dx.abs().max()):.3f}")

    return {
        "name": name,
        "kind": kind,
        "nonlinearity": nonlinearity,
        "config": {"batch": BATCH, "steps": STEPS, "features": FEATURES, "hidden": HIDDEN},
        "input_shape": list(x.shape),
        "input": flat(x),
        "params": [
            {"name": n, "shape": list(p.shape), "value": flat(p)}
            for n, p in zip(PARAM_NAMES, params)
        ],
        "dy": flat(dy),
        "output_shape": list(y.shape),
        "output": flat(y),
        "input_grad": flat(dx),
        "grads": [{"name": n, "value": flat(g)} for n, g in zip(PARAM_NAMES, grads)],
    }


def main():
    torch.set_num_threads(1)
    cases = [
        case("rnn_tanh", 701, "rnn", "tanh"),
        case("rnn_relu", 702, "rnn", "relu", spread=0.4),
        case("gru", 703, "gru"),
        case("lstm", 704, "lstm"),
    ]
    fixture = {
        "about": "Reference values from PyTorch; regenerate with `python3 tests/oracle/recurrent_generate.py`.",
        "torch_version": torch.__version__.split("+")[0],
        "tolerance": {"abs": ABS_TOL, "rel": REL_TOL},
        "cases": cases,
    }
    text = json.dumps(fixture, indent=1)
    # Keep each list of numbers on one line, so the file reads (and diffs) by tensor.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text)
    with open(OUT, "w") as fh:
        fh.write(text + "\n")
    used, name = Budget.worst
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
    print(f"float32 PyTorch uses at most {used:.1%} of the tolerance ({name})")


if __name__ == "__main__":
    main()
