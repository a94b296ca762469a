#!/usr/bin/env python3
"""Writes tests/oracle/fixture.json: reference values computed by PyTorch for tests/pytorch_oracle.rs.

Regenerate (from the workspace root, with PyTorch installed):

    python3 tests/oracle/generate.py

`cargo test` never needs PyTorch: it reads the committed fixture. Rerunning this script with the
same PyTorch version gives byte-identical output, because every random draw comes from a fixed
`torch.manual_seed`.

What it records. Three small networks are built here independently of the Rust code, with plain
`torch.nn.Linear` layers and functional activations:

* `classifier`: 5 -> 7 tanh -> 6 sigmoid -> 4 leaky_relu(0.2) -> 3, softmax cross-entropy.
* `regressor`:  4 -> 8 relu -> 8 softmax -> 2, mean squared error.
* `tagger`:     6 -> 5 leaky_relu(0.01) -> 5 tanh -> 4, binary cross-entropy with logits (soft
  targets in [0, 1]).

For each one it stores the parameters, the inputs and targets, the forward output, the loss, the
input gradient, every parameter gradient, and the parameters after each of three Adam steps
(lr 0.01) and three SGD-momentum steps (lr 0.1, momentum 0.9), where every step recomputes the
gradient on the same batch. Three steps rather than one, because a first SGD step ignores momentum
and a first Adam step is almost `lr * sign(grad)`; later steps exercise both moment estimates.

Numerics: parameters and inputs are drawn in float32, so the Rust side starts from exactly the
same numbers. All reference arithmetic then runs in float64, so the fixture holds the true values
for those float32 inputs, and the Rust test measures only its own float32 rounding.

Weights are stored in `nn.Linear` layout, `[out, in]`, row-major and flattened. Parameters are
listed in the order `network!` visits them (`fc1.weight`, `fc1.bias`, `fc2.weight`, ...).

`celsius` is the Keras "celsius -> fahrenheit" tutorial: Dense(1 -> 1), Adam lr 0.1, 500 full-batch
steps of MSE, from a fixed initial weight and bias. It stores those and the final weight and bias.
"""

import json
import os
import re

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
ADAM_LR = 0.01
SGD_LR = 0.1
SGD_MOMENTUM = 0.9
STEPS = 3


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def draw_f32(*shape, low=-1.0, high=1.0):
    """Uniform float32 values in [low, high), widened to float64 exactly."""
    t = torch.rand(*shape, dtype=torch.float32) * (high - low) + low
    return t.to(torch.float64)


def make_linear(fan_in, fan_out):
    layer = torch.nn.Linear(fan_in, fan_out, dtype=torch.float32)
    # PyTorch's default init (kaiming-uniform weight, uniform bias), then widened exactly.
    return layer.to(torch.float64)


class Net(torch.nn.Module):
    """A stack of Linear layers with the activation listed after each one (None: none)."""

    def __init__(self, dims, activations):
        super().__init__()
        assert len(activations) == len(dims) - 1
        self.fcs = torch.nn.ModuleList(make_linear(a, b) for a, b in zip(dims, dims[1:]))
        self.activations = activations

    def named(self):
        out = []
        for i, fc in enumerate(self.fcs):
            out.append((f"fc{i + 1}.weight", fc.weight))
            out.append((f"fc{i + 1}.bias", fc.bias))
        return out

    def forward(self, x):
        for fc, act in zip(self.fcs, self.activations):
            x = fc(x)
            if act is not None:
                x = act(x)
        return x


def loss_of(kind, out, target):
    if kind == "softmax_cross_entropy":
        return F.cross_entropy(out, target)
    if kind == "mse":
        return F.mse_loss(out, target)
    if kind == "binary_cross_entropy_with_logits":
        return F.binary_cross_entropy_with_logits(out, target)
    raise ValueError(kind)


def snapshot(net):
    return [{"name": n, "value": flat(p)} for n, p in net.named()]


def record(name, dims, activations, activation_names, batch, loss_kind, make_target):
    net = Net(dims, activations)
    x = draw_f32(batch, dims[0], low=-2.0, high=2.0)
    target = make_target(batch, dims[-1])
    initial = [
        {"name": n, "shape": list(p.shape), "value": flat(p)} for n, p in net.named()
    ]

    # Forward, loss and every gradient at the initial parameters.
    xg = x.clone().requires_grad_(True)
    out = net(xg)
    loss = loss_of(loss_kind, out, target)
    net.zero_grad()
    loss.backward()
    grads = [{"name": n, "value": flat(p.grad)} for n, p in net.named()]

    def run(make_opt):
        state = {k: v.clone() for k, v in net.state_dict().items()}
        opt = make_opt(net.parameters())
        steps = []
        for _ in range(STEPS):
            opt.zero_grad()
            loss_of(loss_kind, net(x), target).backward()
            opt.step()
            steps.append(snapshot(net))
        net.load_state_dict(state)
        return steps

    adam = run(lambda ps: torch.optim.Adam(ps, lr=ADAM_LR))
    sgd = run(lambda ps: torch.optim.SGD(ps, lr=SGD_LR, momentum=SGD_MOMENTUM))

    if loss_kind == "softmax_cross_entropy":
        target_json = [int(v) for v in target.tolist()]
    else:
        target_json = flat(target)
    return {
        "name": name,
        "layers": activation_names,
        "batch": batch,
        "loss_kind": loss_kind,
        "input": flat(x),
        "target": target_json,
        "params": initial,
        "output": flat(out),
        "loss": float(loss.detach()),
        "input_grad": flat(xg.grad),
        "grads": grads,
        "adam": {"lr": ADAM_LR, "steps": adam},
        "sgd": {"lr": SGD_LR, "momentum": SGD_MOMENTUM, "steps": sgd},
    }


def celsius():
    c = torch.tensor([-40, -10, 0, 8, 15, 22, 38], dtype=torch.float64).reshape(-1, 1)
    f = torch.tensor([-40, 14, 32, 46, 59, 72, 100], dtype=torch.float64).reshape(-1, 1)
    fc = make_linear(1, 1)
    w0, b0 = float(fc.weight.item()), float(fc.bias.item())
    opt = torch.optim.Adam(fc.parameters(), lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        F.mse_loss(fc(c), f).backward()
        opt.step()
    w, b = float(fc.weight.item()), float(fc.bias.item())

    # Sanity check: float32 PyTorch lands within the Rust test's tolerance of the f64 answer.
    fc32 = torch.nn.Linear(1, 1, dtype=torch.float32)
    with torch.no_grad():
        fc32.weight.fill_(w0)
        fc32.bias.fill_(b0)
    opt32 = torch.optim.Adam(fc32.parameters(), lr=0.1)
    for _ in range(500):
        opt32.zero_grad()
        F.mse_loss(fc32(c.float()), f.float()).backward()
        opt32.step()
    for ref, got in [(w, fc32.weight.item()), (b, fc32.bias.item())]:
        assert abs(ref - got) <= 1e-3 * abs(ref), (ref, got)

    return {
        "celsius": flat(c),
        "fahrenheit": flat(f),
        "lr": 0.1,
        "steps": 500,
        "initial_weight": w0,
        "initial_bias": b0,
        "final_weight": w,
        "final_bias": b,
        "prediction_at_100": w * 100.0 + b,
    }


def main():
    torch.manual_seed(20240607)
    torch.set_num_threads(1)

    def labels(batch, classes):
        return torch.randint(0, classes, (batch,))

    def dense_target(batch, n):
        return draw_f32(batch, n)

    def soft_target(batch, n):
        return draw_f32(batch, n, low=0.0, high=1.0)

    fixture = {
        "about": "Reference values from PyTorch; regenerate with `python3 tests/oracle/generate.py`.",
        "torch_version": torch.__version__.split("+")[0],
        "networks": [
            record(
                "classifier",
                [5, 7, 6, 4, 3],
                [torch.tanh, torch.sigmoid, lambda t: F.leaky_relu(t, 0.2), None],
                ["tanh", "sigmoid", "leaky_relu(0.2)", None],
                4,
                "softmax_cross_entropy",
                labels,
            ),
            record(
                "regressor",
                [4, 8, 8, 2],
                [torch.relu, lambda t: torch.softmax(t, dim=1), None],
                ["relu", "softmax", None],
                5,
                "mse",
                dense_target,
            ),
            record(
                "tagger",
                [6, 5, 5, 4],
                [lambda t: F.leaky_relu(t, 0.01), torch.tanh, None],
                ["leaky_relu(0.01)", "tanh", None],
                3,
                "binary_cross_entropy_with_logits",
                soft_target,
            ),
        ],
        "celsius": celsius(),
    }
    text = json.dumps(fixture, indent=1)
    # Keep each list of numbers on one line, so the file reads (and diffs) by tensor.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text)
    with open(OUT, "w") as fh:
        fh.write(text + "\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
