#!/usr/bin/env python3
"""Writes tests/oracle/vision_fixture.json: PyTorch reference values for tests/pytorch_oracle_vision.rs.

Regenerate (from the workspace root, with PyTorch installed):

    python3 tests/oracle/vision_generate.py

`cargo test` never needs PyTorch: it reads the committed fixture. Rerunning this script with the
same PyTorch version gives byte-identical output: every random draw comes from a fixed
`torch.manual_seed`, one per case, so adding a case does not change the others.

What it records, in the style of tests/oracle/generate.py:

* `layers`: one case per vision layer and configuration, each with the input (NCHW, or `(B, N)`
  for `BatchNorm1d`), the parameters, an upstream gradient `dy`, the output, the input gradient
  `dx = (∂y/∂x)ᵀ dy` and every parameter gradient. The cases: `Conv2d` with stride 1 / padding 0,
  stride 2 / padding 1, a shape with C == H == W (4 input and output channels on 4×4 images,
  padding 1), a 1×1 kernel and stride 2 with an unused last row (`floor`); general `Conv2d`s
  (groups with a dilated rectangular kernel, depthwise with and without a multiplier, stride 2
  and dilation 2, TensorFlow's `same` at stride 2 with the odd zero after) and `Conv1d`s
  (plain, causal and dilated, grouped with stride 2, depthwise causal, `same` with an even
  kernel), each padded with `F.pad` first so that one-sided padding is exact; `MaxPool2d` 2 and 3
  (stride 2, overlapping windows) on inputs without ties; `AvgPool2d` 2 and 3 (stride 1);
  padded pools: `MaxPool2d` and `AvgPool2d` (counting the padding and not) 3 at stride 2
  with padding 1, a rectangular `MaxPool2d` with per-axis strides, TensorFlow's `same` at
  stride 2 (`MaxPool2d`, and `AvgPool2d` without the padding in the count, with the padding
  split evenly and with the odd one after); `MaxPool1d` 3 at stride 2 with padding 1 and 2
  unpadded, `AvgPool1d` 3 at stride 1 with padding 1, counting the padding and not. Max pool
  inputs are mostly negative, so −∞ padding differs from zeros;
  `Upsample` nearest ×2 and bilinear ×2 and ×3 (`align_corners=False`); `GlobalAvgPool`;
  `BatchNorm1d` / `BatchNorm2d` in training mode (batch statistics; the running statistics
  before and after the step) and in eval mode (the given running statistics).
* `dropout`: the drop probability only. Masks come from different random generators, so the
  Rust test checks the scaling rule rather than a mask.
* `networks`: two small CNNs built from torch.nn modules, the same layers as the `network!`
  declarations in the Rust test, with softmax cross-entropy on fixed labels: the output, loss,
  input gradient and every parameter gradient of one training-mode forward/backward, the
  running statistics after it, and the eval-mode output with given running statistics.

Numerics: inputs, parameters, upstream gradients and running statistics are drawn in float32,
so the Rust side starts from exactly the same numbers; all reference arithmetic runs in float64.
The script also reruns every case in float32 PyTorch and prints how much of the Rust test's
tolerance (`1e-6 + 1e-4·|torch|`) PyTorch's own float32 rounding uses.

Layouts are PyTorch's: NCHW batches, conv weights `[C_out, C_in, K, K]`, linear weights
`[out, in]`, all row-major and flattened. Parameters are listed in the order `network!` visits
them (`conv1.weight`, `conv1.bias`, `bn1.weight`, ...).
"""

import json
import os
import re

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vision_fixture.json")
ABS_TOL = 1e-6
REL_TOL = 1e-4
MOMENTUM = 0.1
EPS = 1e-5


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def draw_f32(*shape, low=-1.0, high=1.0):
    """Uniform float32 values in [low, high), widened to float64 exactly."""
    t = torch.rand(*shape, dtype=torch.float32) * (high - low) + low
    return t.to(torch.float64)


def distinct_f32(*shape, shift=0.0):
    """Float32 values in [-1 + shift, 1 + shift) without ties (so max pooling has one winner
    per window): a random permutation of n evenly spaced values, plus a jitter smaller than
    their spacing. A negative `shift` makes most values negative, so that a window of negative
    values and padding tells −∞ padding from zeros."""
    n = 1
    for s in shape:
        n *= s
    perm = torch.randperm(n).to(torch.float64)
    jitter = torch.rand(n, dtype=torch.float64) * 0.5
    t = ((perm + jitter) / n * 2.0 - 1.0 + shift).to(torch.float32)
    assert torch.unique(t).numel() == n, "ties in a max-pool input"
    return t.reshape(*shape).to(torch.float64)


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


def layer_case(name, kind, config, x, params, fn, *, x_grad=True, extra=None):
    """Runs `fn(x, *params)` in float64 with autograd and records the case.

    `params` is a list of `(name, tensor)`. `dy` is drawn here, after `x` and the parameters.
    `fn` may take a `dtype`-converted copy, so it is also rerun in float32 for the budget.
    """
    xg = x.clone().requires_grad_(x_grad)
    ps = [p.clone().requires_grad_(True) for _, p in params]
    y = fn(xg, *ps)
    dy = draw_f32(*y.shape)
    y.backward(dy)

    # The same case in float32 PyTorch, to see what its rounding uses of the tolerance.
    x32 = x.float().requires_grad_(x_grad)
    p32 = [p.float().requires_grad_(True) for _, p in params]
    y32 = fn(x32, *p32)
    y32.backward(dy.float())
    used = max(
        [budget_used(y, y32), budget_used(xg.grad, x32.grad)]
        + [budget_used(a.grad, b.grad) for a, b in zip(ps, p32)]
    )
    Budget.note(name, used)

    case = {
        "name": name,
        "kind": kind,
        "config": config,
        "input_shape": list(x.shape),
        "input": flat(x),
        "params": [
            {"name": n, "shape": list(p.shape), "value": flat(p)} for n, p in params
        ],
        "dy": flat(dy),
        "output_shape": list(y.shape),
        "output": flat(y),
        "input_grad": flat(xg.grad),
        "grads": [{"name": n, "value": flat(p.grad)} for (n, _), p in zip(params, ps)],
    }
    if extra:
        case.update(extra)
    return case


def conv_case(name, seed, batch, c_in, c_out, h, w, k, stride, pad):
    torch.manual_seed(seed)
    x = draw_f32(batch, c_in, h, w)
    weight = draw_f32(c_out, c_in, k, k, low=-0.5, high=0.5)
    bias = draw_f32(c_out, low=-0.5, high=0.5)
    return layer_case(
        name,
        "conv2d",
        {"c_in": c_in, "c_out": c_out, "kernel": k, "stride": stride, "padding": pad},
        x,
        [("weight", weight), ("bias", bias)],
        lambda x, w_, b_: F.conv2d(x, w_, b_, stride=stride, padding=pad),
    )


def conv_general_case(name, seed, batch, c_in, c_out, hw, kernel, stride, pads, dilation, groups):
    """A 2-D convolution with a rectangular kernel, per-axis strides and dilations, padding
    `(top, bottom, left, right)` (TensorFlow's `same` at stride 2 pads one more after) and
    `groups`."""
    torch.manual_seed(seed)
    x = draw_f32(batch, c_in, *hw)
    weight = draw_f32(c_out, c_in // groups, *kernel, low=-0.5, high=0.5)
    bias = draw_f32(c_out, low=-0.5, high=0.5)
    top, bottom, left, right = pads
    return layer_case(
        name,
        "conv2d",
        {"c_in": c_in, "c_out": c_out, "kernel": list(kernel), "stride": list(stride),
         "padding": list(pads), "dilation": list(dilation), "groups": groups},
        x,
        [("weight", weight), ("bias", bias)],
        lambda x, w_, b_: F.conv2d(F.pad(x, (left, right, top, bottom)), w_, b_,
                                   stride=stride, dilation=dilation, groups=groups),
    )


def conv1d_case(name, seed, batch, c_in, c_out, length, k, stride, pads, dilation, groups):
    """A 1-D convolution over `(B, C, L)`, padded `(before, after)`: causal padding is
    `(dilation·(k − 1), 0)`."""
    torch.manual_seed(seed)
    x = draw_f32(batch, c_in, length)
    weight = draw_f32(c_out, c_in // groups, k, low=-0.5, high=0.5)
    bias = draw_f32(c_out, low=-0.5, high=0.5)
    return layer_case(
        name,
        "conv1d",
        {"c_in": c_in, "c_out": c_out, "kernel": k, "stride": stride, "padding": list(pads),
         "dilation": dilation, "groups": groups},
        x,
        [("weight", weight), ("bias", bias)],
        lambda x, w_, b_: F.conv1d(F.pad(x, pads), w_, b_, stride=stride, dilation=dilation,
                                   groups=groups),
    )


def pool_case(name, seed, kind, batch, c, h, w, k, stride):
    torch.manual_seed(seed)
    if kind == "max_pool":
        x = distinct_f32(batch, c, h, w)
        fn = lambda x: F.max_pool2d(x, k, stride=stride)  # noqa: E731
    else:
        x = draw_f32(batch, c, h, w)
        fn = lambda x: F.avg_pool2d(x, k, stride=stride)  # noqa: E731
    return layer_case(name, kind, {"kernel": k, "stride": stride}, x, [], fn)


def padded_pool_case(name, seed, kind, batch, c, hw, kernel, stride, pads, count_include_pad=True):
    """`MaxPool2d` / `AvgPool2d` with a rectangular kernel, per-axis strides and padding
    `(top, bottom, left, right)`.

    Symmetric padding goes to PyTorch's own `padding=` (−∞ for max, zeros for avg with
    `count_include_pad`). One more after (TensorFlow's `same` at stride 2) has no PyTorch
    argument, so the reference is written out: max pools the input padded with −∞ by `F.pad`;
    avg without `count_include_pad` is the sum over each window of the zero-padded input
    divided by the number of its places inside the input (the same sum over ones padded with
    zeros). Where PyTorch has an equivalent (its own `padding=`, or `ceil_mode=True` for one
    window hanging off the end), the script checks the written-out reference against it."""
    torch.manual_seed(seed)
    (kh, kw), (sh, sw) = kernel, stride
    top, bottom, left, right = pads
    symmetric = top == bottom and left == right
    if kind == "max_pool":
        x = distinct_f32(batch, c, *hw, shift=-0.8)
        if symmetric:
            def fn(x):
                return F.max_pool2d(x, kernel, stride=stride, padding=(top, left))
        else:
            def fn(x):
                return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=-float("inf")),
                                    kernel, stride=stride)
        if any(pads):
            # The padding matters: zeros in its place would change the output.
            zero_padded = F.max_pool2d(F.pad(x, (left, right, top, bottom)), kernel, stride=stride)
            assert not torch.equal(fn(x), zero_padded), f"{name}: padding never wins or loses"
    else:
        x = draw_f32(batch, c, *hw)
        if symmetric and count_include_pad:
            def fn(x):
                return F.avg_pool2d(x, kernel, stride=stride, padding=(top, left),
                                    count_include_pad=True)
        else:
            assert not count_include_pad, "one-sided padding counted in: not a PyTorch layer"

            def fn(x):
                padded = F.pad(x, (left, right, top, bottom))
                ones = F.pad(torch.ones_like(x), (left, right, top, bottom))
                window_sum = F.avg_pool2d(padded, kernel, stride=stride, divisor_override=1)
                inside = F.avg_pool2d(ones, kernel, stride=stride, divisor_override=1)
                return window_sum / inside
    y = fn(x)
    # Cross-checks of the written-out references against PyTorch's own layers.
    if kind == "avg_pool" and not count_include_pad and symmetric:
        torch.testing.assert_close(y, F.avg_pool2d(x, kernel, stride=stride, padding=(top, left),
                                                   count_include_pad=False), rtol=1e-12, atol=0)
    if not symmetric and top == left == 0 and bottom <= 1 and right <= 1:
        # One window hanging off the bottom / right edge by one place: ceil mode.
        ceil = (F.max_pool2d if kind == "max_pool" else F.avg_pool2d)(x, kernel, stride=stride,
                                                                     ceil_mode=True)
        torch.testing.assert_close(y, ceil, rtol=1e-12, atol=0)
    config = {"kernel": list(kernel), "stride": list(stride), "padding": list(pads)}
    if kind == "avg_pool":
        config["count_include_pad"] = count_include_pad
    return layer_case(name, kind, config, x, [], fn)


def pool1d_case(name, seed, kind, batch, c, length, k, stride, pad, count_include_pad=True):
    """`MaxPool1d` / `AvgPool1d` over `(B, C, L)` with `pad` on both ends: PyTorch's own
    `F.max_pool1d` / `F.avg_pool1d`."""
    torch.manual_seed(seed)
    if kind == "max_pool1d":
        x = distinct_f32(batch, c, length, shift=-0.8)

        def fn(x):
            return F.max_pool1d(x, k, stride=stride, padding=pad)
        if pad:
            zero_padded = F.max_pool1d(F.pad(x, (pad, pad)), k, stride=stride)
            assert not torch.equal(fn(x), zero_padded), f"{name}: padding never wins or loses"
    else:
        x = draw_f32(batch, c, length)

        def fn(x):
            return F.avg_pool1d(x, k, stride=stride, padding=pad,
                                count_include_pad=count_include_pad)
    config = {"kernel": k, "stride": stride, "padding": [pad, pad]}
    if kind == "avg_pool1d":
        config["count_include_pad"] = count_include_pad
    return layer_case(name, kind, config, x, [], fn)


def upsample_case(name, seed, mode, batch, c, h, w, scale):
    torch.manual_seed(seed)
    x = draw_f32(batch, c, h, w)
    size = (h * scale, w * scale)
    if mode == "nearest":
        fn = lambda x: F.interpolate(x, size=size, mode="nearest")  # noqa: E731
    else:
        fn = lambda x: F.interpolate(x, size=size, mode="bilinear", align_corners=False)  # noqa: E731
    return layer_case(name, "upsample", {"mode": mode, "scale": scale}, x, [], fn)


def global_avg_pool_case(name, seed, batch, c, h, w):
    torch.manual_seed(seed)
    x = draw_f32(batch, c, h, w)
    return layer_case(name, "global_avg_pool", {}, x, [], lambda x: x.mean(dim=(2, 3)))


def batch_norm_case(name, seed, training, shape):
    """Batch norm on `shape` (`(B, N)` or `(B, C, H, W)`); channels get different offsets and
    scales, so the statistics are far from 0 and 1."""
    torch.manual_seed(seed)
    c = shape[1]
    view = (1, c) + (1,) * (len(shape) - 2)
    offset = draw_f32(c, low=-2.0, high=2.0).reshape(view)
    scale = draw_f32(c, low=0.5, high=3.0).reshape(view)
    x = (draw_f32(*shape) * scale + offset).to(torch.float32).to(torch.float64)
    weight = draw_f32(c, low=0.5, high=1.5)
    bias = draw_f32(c, low=-0.5, high=0.5)
    running_mean = draw_f32(c, low=-1.0, high=1.0)
    running_var = draw_f32(c, low=0.5, high=2.0)
    buffers_before = [
        {"name": "running_mean", "value": flat(running_mean)},
        {"name": "running_var", "value": flat(running_var)},
    ]
    # The float64 run updates these copies in place; the float32 rerun gets its own.
    runs = {}

    def fn(x, w_, b_):
        rm = running_mean.clone().to(x.dtype)
        rv = running_var.clone().to(x.dtype)
        runs[x.dtype] = (rm, rv)
        return F.batch_norm(x, rm, rv, w_, b_, training=training, momentum=MOMENTUM, eps=EPS)

    case = layer_case(
        name,
        "batch_norm",
        {"training": training, "momentum": MOMENTUM, "eps": EPS},
        x,
        [("weight", weight), ("bias", bias)],
        fn,
    )
    rm, rv = runs[torch.float64]
    if training:
        Budget.note(name + " running stats", max(
            budget_used(rm, runs[torch.float32][0]), budget_used(rv, runs[torch.float32][1])
        ))
    else:
        assert torch.equal(rm, running_mean) and torch.equal(rv, running_var)
    case["buffers_before"] = buffers_before
    case["buffers_after"] = [
        {"name": "running_mean", "value": flat(rm)},
        {"name": "running_var", "value": flat(rv)},
    ]
    return case


# The two networks; `network!` declarations with the same layers are in the Rust test.
class SmallCnn(torch.nn.Module):
    """input(2, 8, 8), conv1: conv2d(2 -> 4, kernel = 3, padding = 1), bn1: batch_norm, relu,
    max_pool(2), flatten, fc: dense(64 -> 5)."""

    input_shape = (2, 8, 8)
    classes = 5

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4, momentum=MOMENTUM, eps=EPS)
        self.fc = nn.Linear(64, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        return self.fc(x.flatten(1))


class MixedCnn(torch.nn.Module):
    """input(3, 8, 8), conv1: conv2d(3 -> 4, kernel = 3, padding = same), bn1: batch_norm, relu,
    avg_pool(2), conv2: conv2d(4 -> 6, kernel = 3, stride = 2, padding = 1, floor),
    upsample(2, bilinear), max_pool(2), relu, upsample(2), global_avg_pool, bn2: batch_norm,
    fc: dense(6 -> 3)."""

    input_shape = (3, 8, 8)
    classes = 3

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4, momentum=MOMENTUM, eps=EPS)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm1d(6, momentum=MOMENTUM, eps=EPS)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        x = F.avg_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # (4, 4, 4)
        x = self.conv2(x)  # (6, 2, 2)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # (6, 4, 4)
        x = F.relu(F.max_pool2d(x, 2))  # (6, 2, 2)
        x = F.interpolate(x, scale_factor=2, mode="nearest")  # (6, 4, 4)
        x = self.bn2(x.mean(dim=(2, 3)))  # (6)
        return self.fc(x)


def param_list(net):
    """`(name, tensor)` in `network!`'s visiting order: module order, weight before bias."""
    return [(n, p) for n, p in net.named_parameters()]


def buffer_list(net):
    return [(n, b) for n, b in net.named_buffers() if not n.endswith("num_batches_tracked")]


def network_case(name, seed, cls, batch):
    torch.manual_seed(seed)
    net = cls()
    # Every parameter and running statistic drawn in float32 (batch norm's γ and β too, so they
    # are not the trivial 1 and 0), then the whole network widened to float64 exactly.
    with torch.no_grad():
        for n, p in net.named_parameters():
            if n.startswith("bn"):
                lo, hi = (0.5, 1.5) if n.endswith("weight") else (-0.5, 0.5)
            else:
                lo, hi = -0.5, 0.5
            p.copy_(draw_f32(*p.shape, low=lo, high=hi))
        for n, b in buffer_list(net):
            lo, hi = (-0.5, 0.5) if n.endswith("running_mean") else (0.5, 2.0)
            b.copy_(draw_f32(*b.shape, low=lo, high=hi))
    net = net.to(torch.float64)
    x = draw_f32(batch, *cls.input_shape)
    labels = torch.randint(0, cls.classes, (batch,))
    params = [
        {"name": n, "shape": list(p.shape), "value": flat(p)} for n, p in param_list(net)
    ]
    buffers_before = [{"name": n, "value": flat(b)} for n, b in buffer_list(net)]
    state = {k: v.clone() for k, v in net.state_dict().items()}

    def train_step(net, x):
        net.train()
        xg = x.clone().requires_grad_(True)
        out = net(xg)
        loss = F.cross_entropy(out, labels)
        net.zero_grad()
        loss.backward()
        return xg, out, loss

    xg, out, loss = train_step(net, x)
    grads = [{"name": n, "value": flat(p.grad)} for n, p in param_list(net)]
    after = [b.clone() for _, b in buffer_list(net)]
    buffers_after = [{"name": n, "value": flat(b)} for (n, _), b in zip(buffer_list(net), after)]

    # Eval mode from the running statistics the network started with (drawn above).
    net.load_state_dict(state)
    net.eval()
    with torch.no_grad():
        eval_out = net(x)

    # Float32 PyTorch on the same numbers, for the budget.
    net32 = cls()
    net32.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    x32g, out32, loss32 = train_step(net32, x.float())
    used = [budget_used(out, out32), budget_used(loss, loss32), budget_used(xg.grad, x32g.grad)]
    used += [budget_used(a.grad, b.grad) for (_, a), (_, b) in zip(param_list(net), param_list(net32))]
    used += [budget_used(a, b) for a, (_, b) in zip(after, buffer_list(net32))]
    net32.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    net32.eval()
    with torch.no_grad():
        used.append(budget_used(eval_out, net32(x.float())))
    Budget.note(name, max(used))

    return {
        "name": name,
        "layers": " ".join(cls.__doc__.split()),
        "batch": batch,
        "input_shape": list(x.shape),
        "input": flat(x),
        "labels": [int(v) for v in labels.tolist()],
        "params": params,
        "buffers_before": buffers_before,
        "output": flat(out),
        "loss": float(loss.detach()),
        "input_grad": flat(xg.grad),
        "grads": grads,
        "buffers_after": buffers_after,
        "eval_output": flat(eval_out),
    }


def main():
    torch.set_num_threads(1)
    layers = [
        # name, seed, batch, c_in, c_out, h, w, k, stride, pad
        conv_case("conv_s1_p0", 101, 2, 3, 4, 7, 6, 3, 1, 0),
        conv_case("conv_s2_p1", 102, 3, 2, 3, 7, 7, 3, 2, 1),
        conv_case("conv_c_eq_h_eq_w", 103, 2, 4, 4, 4, 4, 3, 1, 1),
        conv_case("conv_1x1", 104, 2, 6, 3, 5, 5, 1, 1, 0),
        conv_case("conv_s2_floor", 105, 2, 2, 3, 8, 7, 3, 2, 0),
        # name, seed, batch, c_in, c_out, (h, w), (kh, kw), (sh, sw), (top, bottom, left,
        # right), (dh, dw), groups
        conv_general_case("conv_groups_dilated", 111, 2, 4, 6, (7, 6), (3, 2), (1, 1),
                          (1, 1, 0, 0), (2, 1), 2),
        conv_general_case("conv_depthwise", 112, 2, 3, 3, (6, 5), (3, 3), (1, 1),
                          (1, 1, 1, 1), (1, 1), 3),
        conv_general_case("conv_depthwise_multiplier_s2", 113, 2, 2, 4, (7, 7), (3, 3), (2, 2),
                          (1, 1, 1, 1), (1, 1), 2),
        conv_general_case("conv_tf_same_s2", 114, 2, 1, 4, (9, 6), (4, 3), (2, 2),
                          (1, 2, 0, 1), (1, 1), 1),
        conv_general_case("conv_depthwise_dilated", 115, 2, 3, 3, (9, 8), (3, 3), (1, 2),
                          (2, 2, 2, 2), (2, 2), 3),
        # name, seed, batch, c_in, c_out, length, k, stride, (before, after), dilation, groups
        conv1d_case("conv1d_plain", 121, 2, 3, 4, 11, 3, 1, (0, 0), 1, 1),
        conv1d_case("conv1d_causal_dilated", 122, 2, 3, 4, 12, 3, 1, (8, 0), 4, 1),
        conv1d_case("conv1d_groups_stride", 123, 3, 4, 6, 13, 3, 2, (1, 1), 1, 2),
        conv1d_case("conv1d_depthwise_causal", 124, 2, 4, 4, 10, 3, 1, (4, 0), 2, 4),
        conv1d_case("conv1d_same_even", 125, 2, 2, 3, 9, 4, 1, (1, 2), 1, 1),
        # name, seed, kind, batch, c, h, w, k, stride
        pool_case("max_pool_2", 201, "max_pool", 2, 3, 6, 8, 2, 2),
        pool_case("max_pool_3_s2", 202, "max_pool", 2, 2, 7, 9, 3, 2),
        pool_case("avg_pool_2", 203, "avg_pool", 2, 3, 6, 8, 2, 2),
        pool_case("avg_pool_3_s1", 204, "avg_pool", 2, 2, 5, 6, 3, 1),
        # name, seed, kind, batch, c, (h, w), (kh, kw), (sh, sw), (top, bottom, left, right),
        # count_include_pad
        padded_pool_case("max_pool_3_s2_p1", 205, "max_pool", 2, 3, (7, 8), (3, 3), (2, 2),
                         (1, 1, 1, 1)),
        padded_pool_case("avg_pool_3_s2_p1_count", 206, "avg_pool", 2, 3, (7, 8), (3, 3),
                         (2, 2), (1, 1, 1, 1), True),
        padded_pool_case("avg_pool_3_s2_p1_exclude", 207, "avg_pool", 2, 3, (7, 8), (3, 3),
                         (2, 2), (1, 1, 1, 1), False),
        padded_pool_case("max_pool_rect", 208, "max_pool", 2, 2, (5, 6), (3, 2), (1, 2),
                         (1, 1, 0, 0)),
        padded_pool_case("max_pool_tf_same_s2", 209, "max_pool", 2, 3, (5, 7), (2, 2), (2, 2),
                         (0, 1, 0, 1)),
        padded_pool_case("avg_pool_tf_same_s2", 210, "avg_pool", 2, 2, (5, 5), (3, 3), (2, 2),
                         (1, 1, 1, 1), False),
        padded_pool_case("avg_pool_tf_same_s2_odd", 211, "avg_pool", 2, 3, (5, 7), (2, 2),
                         (2, 2), (0, 1, 0, 1), False),
        # name, seed, kind, batch, c, length, k, stride, padding (both ends), count_include_pad
        pool1d_case("max_pool1d_3_s2_p1", 221, "max_pool1d", 2, 4, 11, 3, 2, 1),
        pool1d_case("avg_pool1d_3_s1_p1_count", 222, "avg_pool1d", 2, 3, 9, 3, 1, 1, True),
        pool1d_case("avg_pool1d_3_s1_p1_exclude", 223, "avg_pool1d", 2, 3, 9, 3, 1, 1, False),
        pool1d_case("max_pool1d_2", 224, "max_pool1d", 2, 2, 10, 2, 2, 0),
        upsample_case("upsample_nearest_2", 301, "nearest", 2, 2, 3, 4, 2),
        upsample_case("upsample_bilinear_2", 302, "bilinear", 2, 2, 3, 4, 2),
        upsample_case("upsample_bilinear_3", 303, "bilinear", 2, 2, 3, 4, 3),
        global_avg_pool_case("global_avg_pool", 401, 3, 4, 3, 5),
        batch_norm_case("batch_norm_1d_train", 501, True, (6, 5)),
        batch_norm_case("batch_norm_2d_train", 502, True, (3, 4, 3, 5)),
        batch_norm_case("batch_norm_1d_eval", 503, False, (6, 5)),
        batch_norm_case("batch_norm_2d_eval", 504, False, (3, 4, 3, 5)),
    ]
    fixture = {
        "about": "Reference values from PyTorch; regenerate with `python3 tests/oracle/vision_generate.py`.",
        "torch_version": torch.__version__.split("+")[0],
        "tolerance": {"abs": ABS_TOL, "rel": REL_TOL},
        "layers": layers,
        "dropout": {"p": 0.3},
        "networks": [
            network_case("small_cnn", 601, SmallCnn, 3),
            network_case("mixed_cnn", 602, MixedCnn, 4),
        ],
    }
    text = json.dumps(fixture, indent=1)
    # Keep each list of numbers on one line, so the file reads (and diffs) by tensor.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text)
    with open(OUT, "w") as fh:
        fh.write(text + "\n")
    used, case = Budget.worst
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
    print(f"float32 PyTorch uses at most {used:.1%} of the tolerance ({case})")


if __name__ == "__main__":
    main()
