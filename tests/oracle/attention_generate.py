#!/usr/bin/env python3
"""Writes tests/oracle/attention_fixture.json: PyTorch reference values for
tests/pytorch_oracle_attention.rs.

Regenerate (from the workspace root, with PyTorch installed):

    python3 tests/oracle/attention_generate.py

`cargo test` never needs PyTorch: it reads the committed fixture. Every random draw comes from a
fixed `torch.manual_seed` per case, so rerunning gives the same file.

Seven small networks, each declared the same way in the Rust test, run here from PyTorch's own
modules and functions, in float64, on float32 draws (so both sides start from the same numbers):

- `lm`: a causal language model. Token ids `(B, T)` -> `nn.Embedding` -> the sinusoidal position
  code -> a pre-norm residual block (`nn.LayerNorm`, `nn.MultiheadAttention(batch_first=True)`
  with the causal mask) -> a residual MLP (`nn.RMSNorm` with eps = float32's, `Linear`,
  tanh-approximated GELU, `Linear`) -> `Linear` to the vocabulary.
- `vit`: images `(B, 1, 6, 6)` -> 2 x 2 patches -> `Linear` -> a learned position table -> a
  residual block (`LayerNorm`, 4-head `MultiheadAttention`) -> `LayerNorm(eps=1e-6)` -> the mean
  over the steps -> `Linear`.
- `cross`: cross-attention. `(B, 6, 4)` -> queries `Linear` (6 steps of 8); the same values read
  as 3 steps of 8 -> keys `LayerNorm`, values `Linear` -> `nn.MultiheadAttention(8, 2)` called
  as `mha(q, k, v)` -> `Linear`.
- `padded`: token ids with padding (id 0) -> `nn.Embedding` -> the sinusoidal code -> a residual
  block whose attention takes `key_padding_mask=(ids == 0)` -> `Linear`.
- `long_padded`: as `padded` over 70 steps, causal too, so the attention's queries fill two
  blocks and its keys two tiles of the tiled kernels (forward and backward).
- `long_cross`: as `cross` with 132 query steps over 66 keys (the values read as 66 steps of 8):
  three blocks of queries, two tiles of keys.
- `padded_cross`: token ids with padding (id 0) over 70 steps -> `nn.Embedding` -> the sinusoidal
  code -> queries `Linear`, keys `LayerNorm`, values `Linear` -> `nn.MultiheadAttention(8, 2)`
  called as `mha(q, k, v, key_padding_mask=(ids == 0))` -> `Linear`: two blocks of queries, two
  tiles of keys, padded keys in both.

Each case records the parameters under the Rust network's names, the input, an upstream gradient
`dy`, the output, the input gradient (the vit; token ids have none) and every parameter gradient.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention_fixture.json")
F64 = torch.float64


def draw(*shape, scale=1.0):
    """Uniform float32 values in [-scale, scale), widened to float64 exactly."""
    return ((torch.rand(*shape, dtype=torch.float32) * 2 - 1) * scale).to(F64)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def sinusoidal(steps, d):
    pe = torch.zeros(steps, d, dtype=F64)
    for t in range(steps):
        for j in range(d):
            angle = t / 10000 ** ((j - j % 2) / d)
            pe[t, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return pe


def attention(x, params, prefix, d, heads, causal):
    mha = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=F64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(params[prefix + "in_proj_weight"])
        mha.in_proj_bias.copy_(params[prefix + "in_proj_bias"])
        mha.out_proj.weight.copy_(params[prefix + "out_proj.weight"])
        mha.out_proj.bias.copy_(params[prefix + "out_proj.bias"])
    # The module's own tensors are leaves of their own: route the gradient through ours.
    mask = None
    if causal:
        steps = x.shape[1]
        mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)
    y, _ = F.multi_head_attention_forward(
        x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1), d, heads,
        params[prefix + "in_proj_weight"], params[prefix + "in_proj_bias"],
        None, None, False, 0.0,
        params[prefix + "out_proj.weight"], params[prefix + "out_proj.bias"],
        training=False, need_weights=False, attn_mask=mask,
    )
    y = y.transpose(0, 1)
    # The functional form and the module agree (the layout check of the fixture itself).
    module_y, _ = mha(x.detach(), x.detach(), x.detach(), need_weights=False, attn_mask=mask)
    assert torch.allclose(module_y, y.detach(), atol=1e-12), "module and functional differ"
    return y


def mha_params(params, prefix, d, scale):
    params[prefix + "in_proj_weight"] = draw(3 * d, d, scale=scale)
    params[prefix + "in_proj_bias"] = draw(3 * d, scale=0.1)
    params[prefix + "out_proj.weight"] = draw(d, d, scale=scale)
    params[prefix + "out_proj.bias"] = draw(d, scale=0.1)


def norm_params(params, prefix, bias=True):
    params[prefix + "weight"] = 1 + draw(8, scale=0.2)
    if bias:
        params[prefix + "bias"] = draw(8, scale=0.1)


def case(name, params, x, forward, input_grad):
    for p in params.values():
        p.requires_grad_(True)
    if input_grad:
        x.requires_grad_(True)
    y = forward(x)
    dy = draw(*y.shape)
    (y * dy).sum().backward()
    out = {
        "input": flat(x),
        "input_shape": list(x.shape),
        "dy": flat(dy),
        "output": flat(y),
        "params": {k: {"shape": list(v.shape), "value": flat(v), "grad": flat(v.grad)} for k, v in params.items()},
    }
    if input_grad:
        out["dx"] = flat(x.grad)
    print(f"{name}: output {tuple(y.shape)}, {len(params)} parameter tensors")
    return out


def lm_case():
    torch.manual_seed(1)
    batch, steps, vocab, d = 3, 7, 13, 8
    params = {"embed.weight": draw(vocab, d)}
    norm_params(params, "block.attn.0.")
    mha_params(params, "block.attn.1.", d, 0.5)
    norm_params(params, "mlp.ff.0.", bias=False)
    params["mlp.ff.1.weight"] = draw(12, d, scale=0.4)
    params["mlp.ff.1.bias"] = draw(12, scale=0.1)
    params["mlp.ff.3.weight"] = draw(d, 12, scale=0.4)
    params["mlp.ff.3.bias"] = draw(d, scale=0.1)
    params["head.weight"] = draw(vocab, d, scale=0.4)
    params["head.bias"] = draw(vocab, scale=0.1)
    ids = torch.randint(0, vocab, (batch, steps))
    p = params

    def forward(ids):
        x = p["embed.weight"][ids] + sinusoidal(steps, d)
        h = F.layer_norm(x, (d,), p["block.attn.0.weight"], p["block.attn.0.bias"], eps=1e-5)
        x = x + attention(h, p, "block.attn.1.", d, 2, causal=True)
        h = F.rms_norm(x, (d,), p["mlp.ff.0.weight"], eps=float(torch.finfo(torch.float32).eps))
        h = F.linear(h, p["mlp.ff.1.weight"], p["mlp.ff.1.bias"])
        h = F.gelu(h, approximate="tanh")
        x = x + F.linear(h, p["mlp.ff.3.weight"], p["mlp.ff.3.bias"])
        return F.linear(x, p["head.weight"], p["head.bias"])

    return case("lm", params, ids.to(F64), lambda x: forward(x.long()), input_grad=False)


def vit_case():
    torch.manual_seed(2)
    batch, d, patch = 2, 8, 2
    params = {"embed.weight": draw(d, 4, scale=0.5), "embed.bias": draw(d, scale=0.1)}
    params["pos.weight"] = draw(9, d, scale=0.1)
    norm_params(params, "block.attn.0.")
    mha_params(params, "block.attn.1.", d, 0.5)
    norm_params(params, "norm.")
    params["head.weight"] = draw(3, d, scale=0.4)
    params["head.bias"] = draw(3, scale=0.1)
    images = draw(batch, 1, 6, 6)
    p = params

    def forward(x):
        # (B, C, H, W) -> (B, H/P * W/P, C*P*P): patches in reading order, (c, row, column) inside.
        x = x.reshape(batch, 1, 3, patch, 3, patch).permute(0, 2, 4, 1, 3, 5).reshape(batch, 9, 4)
        x = F.linear(x, p["embed.weight"], p["embed.bias"]) + p["pos.weight"]
        h = F.layer_norm(x, (d,), p["block.attn.0.weight"], p["block.attn.0.bias"], eps=1e-5)
        x = x + attention(h, p, "block.attn.1.", d, 4, causal=False)
        x = F.layer_norm(x, (d,), p["norm.weight"], p["norm.bias"], eps=1e-6)
        return F.linear(x.mean(dim=1), p["head.weight"], p["head.bias"])

    return case("vit", params, images, forward, input_grad=True)


def cross_attention(q, k, v, params, prefix, d, heads):
    """PyTorch's `nn.MultiheadAttention(d, heads, batch_first=True)` called as `mha(q, k, v)`:
    queries of one sequence, keys and values of another."""
    y, _ = F.multi_head_attention_forward(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), d, heads,
        params[prefix + "in_proj_weight"], params[prefix + "in_proj_bias"],
        None, None, False, 0.0,
        params[prefix + "out_proj.weight"], params[prefix + "out_proj.bias"],
        training=False, need_weights=False,
    )
    return y.transpose(0, 1)


def cross_case():
    torch.manual_seed(3)
    batch, steps, d = 2, 6, 8
    params = {"cross.q.0.weight": draw(d, 4, scale=0.5), "cross.q.0.bias": draw(d, scale=0.1)}
    norm_params(params, "cross.k.1.")
    params["cross.v.1.weight"] = draw(d, d, scale=0.4)
    params["cross.v.1.bias"] = draw(d, scale=0.1)
    mha_params(params, "cross.", d, 0.5)
    params["head.weight"] = draw(3, d, scale=0.4)
    params["head.bias"] = draw(3, scale=0.1)
    x = draw(batch, steps, 4)
    p = params

    def forward(x):
        # Queries: 6 steps; keys and values: the same values read as 3 steps of 8.
        q = F.linear(x, p["cross.q.0.weight"], p["cross.q.0.bias"])
        memory = x.reshape(batch, 3, d)
        k = F.layer_norm(memory, (d,), p["cross.k.1.weight"], p["cross.k.1.bias"], eps=1e-5)
        v = F.linear(memory, p["cross.v.1.weight"], p["cross.v.1.bias"])
        h = cross_attention(q, k, v, p, "cross.", d, 2)
        return F.linear(h, p["head.weight"], p["head.bias"])

    return case("cross", params, x, forward, input_grad=True)


def padded_case():
    torch.manual_seed(4)
    batch, steps, vocab, d = 3, 7, 13, 8
    params = {"embed.weight": draw(vocab, d)}
    norm_params(params, "block.attn.0.")
    mha_params(params, "block.attn.1.", d, 0.5)
    params["head.weight"] = draw(vocab, d, scale=0.4)
    params["head.bias"] = draw(vocab, scale=0.1)
    ids = torch.randint(1, vocab, (batch, steps))
    ids[0, 4:] = 0  # a padded tail
    ids[1, 1] = 0   # a pad inside
    ids[2, :] = ids[2, :]  # no padding
    p = params

    def forward(ids):
        x = p["embed.weight"][ids] + sinusoidal(steps, d)
        h = F.layer_norm(x, (d,), p["block.attn.0.weight"], p["block.attn.0.bias"], eps=1e-5)
        hq = h.transpose(0, 1)
        a, _ = F.multi_head_attention_forward(
            hq, hq, hq, d, 2,
            p["block.attn.1.in_proj_weight"], p["block.attn.1.in_proj_bias"],
            None, None, False, 0.0,
            p["block.attn.1.out_proj.weight"], p["block.attn.1.out_proj.bias"],
            training=False, need_weights=False, key_padding_mask=(ids == 0),
        )
        x = x + a.transpose(0, 1)
        return F.linear(x, p["head.weight"], p["head.bias"])

    return case("padded", params, ids.to(F64), lambda x: forward(x.long()), input_grad=False)


def long_padded_case():
    torch.manual_seed(5)
    batch, steps, vocab, d = 2, 70, 13, 8
    params = {"embed.weight": draw(vocab, d)}
    norm_params(params, "block.attn.0.")
    mha_params(params, "block.attn.1.", d, 0.5)
    params["head.weight"] = draw(vocab, d, scale=0.4)
    params["head.bias"] = draw(vocab, scale=0.1)
    ids = torch.randint(1, vocab, (batch, steps))
    ids[0, 60:] = 0  # a padded tail in the second tile
    ids[1, 3:67:4] = 0  # pads inside both tiles; the first step is never a pad, so every
    # causal query sees a key (PyTorch's softmax of nothing but -inf would be NaN)
    p = params

    def forward(ids):
        x = p["embed.weight"][ids] + sinusoidal(steps, d)
        h = F.layer_norm(x, (d,), p["block.attn.0.weight"], p["block.attn.0.bias"], eps=1e-5)
        hq = h.transpose(0, 1)
        causal = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1)
        a, _ = F.multi_head_attention_forward(
            hq, hq, hq, d, 2,
            p["block.attn.1.in_proj_weight"], p["block.attn.1.in_proj_bias"],
            None, None, False, 0.0,
            p["block.attn.1.out_proj.weight"], p["block.attn.1.out_proj.bias"],
            training=False, need_weights=False, key_padding_mask=(ids == 0), attn_mask=causal,
        )
        x = x + a.transpose(0, 1)
        return F.linear(x, p["head.weight"], p["head.bias"])

    return case("long_padded", params, ids.to(F64), lambda x: forward(x.long()), input_grad=False)


def long_cross_case():
    torch.manual_seed(6)
    batch, steps, keys, d = 2, 132, 66, 8
    params = {"cross.q.0.weight": draw(d, 4, scale=0.5), "cross.q.0.bias": draw(d, scale=0.1)}
    norm_params(params, "cross.k.1.")
    params["cross.v.1.weight"] = draw(d, d, scale=0.4)
    params["cross.v.1.bias"] = draw(d, scale=0.1)
    mha_params(params, "cross.", d, 0.5)
    params["head.weight"] = draw(3, d, scale=0.4)
    params["head.bias"] = draw(3, scale=0.1)
    x = draw(batch, steps, 4)
    p = params

    def forward(x):
        q = F.linear(x, p["cross.q.0.weight"], p["cross.q.0.bias"])
        memory = x.reshape(batch, keys, d)
        k = F.layer_norm(memory, (d,), p["cross.k.1.weight"], p["cross.k.1.bias"], eps=1e-5)
        v = F.linear(memory, p["cross.v.1.weight"], p["cross.v.1.bias"])
        h = cross_attention(q, k, v, p, "cross.", d, 2)
        return F.linear(h, p["head.weight"], p["head.bias"])

    return case("long_cross", params, x, forward, input_grad=True)


def padded_cross_case():
    torch.manual_seed(7)
    batch, steps, vocab, d = 2, 70, 13, 8
    params = {"embed.weight": draw(vocab, d)}
    params["cross.q.0.weight"] = draw(d, d, scale=0.5)
    params["cross.q.0.bias"] = draw(d, scale=0.1)
    norm_params(params, "cross.k.0.")
    params["cross.v.0.weight"] = draw(d, d, scale=0.4)
    params["cross.v.0.bias"] = draw(d, scale=0.1)
    mha_params(params, "cross.", d, 0.5)
    params["head.weight"] = draw(vocab, d, scale=0.4)
    params["head.bias"] = draw(vocab, scale=0.1)
    ids = torch.randint(1, vocab, (batch, steps))
    ids[0, 60:] = 0  # a padded tail in the second tile
    ids[1, 3:67:4] = 0  # pads inside both tiles
    p = params

    def forward(ids):
        x = p["embed.weight"][ids] + sinusoidal(steps, d)
        q = F.linear(x, p["cross.q.0.weight"], p["cross.q.0.bias"])
        k = F.layer_norm(x, (d,), p["cross.k.0.weight"], p["cross.k.0.bias"], eps=1e-5)
        v = F.linear(x, p["cross.v.0.weight"], p["cross.v.0.bias"])
        a, _ = F.multi_head_attention_forward(
            q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), d, 2,
            p["cross.in_proj_weight"], p["cross.in_proj_bias"],
            None, None, False, 0.0,
            p["cross.out_proj.weight"], p["cross.out_proj.bias"],
            training=False, need_weights=False, key_padding_mask=(ids == 0),
        )
        return F.linear(a.transpose(0, 1), p["head.weight"], p["head.bias"])

    return case("padded_cross", params, ids.to(F64), lambda x: forward(x.long()), input_grad=False)


def main():
    fixture = {
        "torch_version": torch.__version__,
        "lm": lm_case(),
        "vit": vit_case(),
        "cross": cross_case(),
        "padded": padded_case(),
        "long_padded": long_padded_case(),
        "long_cross": long_cross_case(),
        "padded_cross": padded_cross_case(),
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
