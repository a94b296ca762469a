#!/usr/bin/env python3
"""Weight files both ways between nn and PyTorch, for every layer family that has a twin here.

For each model (an MLP 784-128-10, two branches concatenated and a residual block, nested
networks, conv2d + batch norm 2-D and 1-D with running statistics and `num_batches_tracked`, an
LSTM):

1. PyTorch -> nn: the PyTorch model, trained a few steps so batch norm's running statistics
   move, is saved with `safetensors.torch.save_file(model.state_dict(), ...)`; our side
   (`benches/compare/interop.rs`) loads it into the twin declared with `network!` and runs it on
   the same input. The outputs must agree within 1e-5.
2. nn -> PyTorch: our side trains a seeded network of its own a few steps and saves it with
   `nn::weights::save`; the file loads into the PyTorch twin with
   `load_state_dict(..., strict=True)` and gives our output within 1e-5.

PyTorch stays out of CI: run this by hand (it needs `torch` and `safetensors`):

    python3 benches/compare/interop.py

It prints one line per model and direction with the largest absolute difference, and exits
non-zero if any is above the tolerance.
"""

import json
import subprocess
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5
B = 4


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = nn.Sequential(nn.Linear(6, 4), nn.ReLU())
        self.right = nn.Sequential(OrderedDict(fc=nn.Linear(6, 2), act=nn.Tanh()))
        self.block = nn.Module()
        self.block.body = nn.Sequential(nn.Linear(6, 6), nn.ReLU())
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        x = torch.cat([self.left(x), self.right(x)], dim=-1)
        x = x + self.block.body(x)
        return self.head(x)


def mlp(i, h, o, act):
    return nn.Sequential(OrderedDict(fc1=nn.Linear(i, h), act=act, fc2=nn.Linear(h, o)))


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = mlp(6, 4, 2, nn.Tanh())
        self.decoder = mlp(2, 4, 6, nn.Sigmoid())

    def forward(self, x):
        return self.decoder(torch.tanh(self.encoder(x)))


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(3)
        self.bn2 = nn.BatchNorm1d(48)
        self.head = nn.Linear(48, 5)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        return self.head(self.bn2(x.flatten(1)))


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, batch_first=True)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1, :])


MODELS = {
    "mlp": (lambda: mlp(784, 128, 10, nn.ReLU()), (B, 784)),
    "branchy": (Branchy, (B, 6)),
    "autoencoder": (Autoencoder, (B, 6)),
    "cnn": (Cnn, (B, 1, 8, 8)),
    "lstm": (Recurrent, (B, 5, 3)),
}


def build_interop():
    cmd = ["cargo", "bench", "-p", "nn", "--no-run", "--bench", "interop", "--message-format=json-render-diagnostics"]
    out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "interop":
            if msg.get("executable"):
                return msg["executable"]
    sys.exit("interop.py: cargo did not report an interop executable")


def main():
    torch.manual_seed(0)
    exe = build_interop()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        dir = Path(tmp)
        twins = {}
        for name, (make, shape) in MODELS.items():
            model = make()
            x = torch.randn(*shape)
            # A few training steps, so batch norm's statistics and counter move.
            opt = torch.optim.Adam(model.parameters(), lr=0.01)
            model.train()
            for _ in range(3):
                opt.zero_grad()
                model(x).square().mean().backward()
                opt.step()
            model.eval()
            save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                      str(dir / f"torch_{name}.safetensors"))
            save_file({"x": x.contiguous()}, str(dir / f"{name}_x.safetensors"))
            with torch.no_grad():
                twins[name] = (model, x, model(x))

        run = subprocess.run([exe, str(dir)], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"interop.py: our side failed:\n{run.stdout}{run.stderr}")

        print(f"# nn <-> PyTorch {torch.__version__} weight files, tolerance {TOLERANCE:g} (max |difference|)")
        for name, (model, x, y_torch) in twins.items():
            y_ours = load_file(str(dir / f"from_torch_{name}_y.safetensors"))["y"]
            diff = (y_ours - y_torch).abs().max().item()
            ok = diff <= TOLERANCE
            failures += not ok
            keys = len(model.state_dict())
            print(f"{name:12} PyTorch -> nn: {diff:.2e} {'ok' if ok else 'FAIL'} ({keys} state_dict entries)")

            twin = MODELS[name][0]()
            state = load_file(str(dir / f"rust_{name}.safetensors"))
            # Our files hold no `num_batches_tracked`; PyTorch's strict load wants it, and only
            # uses it when momentum is None, so the counter PyTorch keeps is filled in here.
            for key, value in twin.state_dict().items():
                if key.endswith("num_batches_tracked"):
                    state[key] = value
            twin.load_state_dict(state, strict=True)
            twin.eval()
            with torch.no_grad():
                y_twin = twin(x)
            y_rust = load_file(str(dir / f"rust_{name}_y.safetensors"))["y"]
            diff = (y_twin - y_rust).abs().max().item()
            ok = diff <= TOLERANCE
            failures += not ok
            print(f"{name:12} nn -> PyTorch: {diff:.2e} {'ok' if ok else 'FAIL'} (strict load_state_dict)")
    if failures:
        sys.exit(f"interop.py: {failures} comparison(s) above {TOLERANCE:g}")


if __name__ == "__main__":
    main()
