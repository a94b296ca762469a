#!/usr/bin/env python3
"""Worst-case stack use of one call of a function in the Cortex-M ELF, from its disassembly.

    python3 embedded/mnist-mlp/stack_usage.py [--skip NAME]... [ELF] [FUNCTION]

defaults: the `embedded` build of `nn-embedded-mnist-mlp`, and `classify`. Needs `llvm-objdump`
and `llvm-nm` (any LLVM: they read ARM ELF on any host). `--skip NAME` leaves out the calls to
functions whose name contains NAME, for code the call cannot reach at run time: a batch-1
product never runs the matmul's packed kernel (`broadcast_packed`, for 96 rows and more), whose
16 KiB panel dominates the static worst case.

Each function's frame is what its prologue reserves (`push`/`push.w`/`stmdb sp!` of core
registers, `vpush` of VFP registers, `sub sp, #N`); the stack use of a call is its frame plus
the largest use among the functions it calls (`bl`, and `b.w` to another function, a tail call,
counted as a call: an upper bound). An indirect call (`blx rN`) or recursion makes the figure a
lower bound, and the script says so. Stable Rust has no `-Z emit-stack-sizes`; this reads the
same numbers from the code the linker kept.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ELF = ROOT / "target/thumbv7em-none-eabihf/embedded/mnist-mlp"


def functions(elf):
    """(start, end, name) of every function symbol, from llvm-nm."""
    out = subprocess.run(
        ["llvm-nm", "--defined-only", "-S", "-n", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    result = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "Tt" and not parts[3].startswith("$"):
            start, size = int(parts[0], 16) & ~1, int(parts[1], 16)
            result.append((start, start + size, parts[3]))
    return result


def analyse(elf):
    funcs = functions(elf)
    def owner(address):
        for start, end, name in funcs:
            if start <= address < end:
                return name
        return None

    dis = subprocess.run(
        ["llvm-objdump", "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    frames, calls, indirect = {}, {}, set()
    current = None
    insn = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
    for line in dis.splitlines():
        m = insn.match(line)
        if not m:
            continue
        address, op, args = int(m.group(1), 16), m.group(2), m.group(3)
        current = owner(address)
        if current is None:
            continue
        frames.setdefault(current, 0)
        calls.setdefault(current, set())
        regs = re.search(r"\{([^}]*)\}", args)
        if op in ("push", "push.w") or (op.startswith("stmdb") and args.startswith("sp!")):
            frames[current] += 4 * count(regs.group(1))
        elif op.startswith("vpush"):
            size = 8 if "d" in regs.group(1) else 4
            frames[current] += size * count(regs.group(1))
        elif re.match(r"subw?(\.w)?$", op) and re.match(r"sp,\s*(sp,\s*)?#", args):
            frames[current] += int(args.split("#")[1].split()[0], 0)
        elif op in ("bl", "b.w", "b") and args.startswith("0x"):
            target = owner(int(args.split()[0], 16))
            if target and target != current:
                calls[current].add(target)
        elif op.startswith("blx"):
            indirect.add(current)
    return frames, calls, indirect


def count(registers):
    """How many registers a `{r4, r5-r7, lr}` or `{d8, d9}` list names."""
    total = 0
    for part in registers.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-")
            total += int(high[1:]) - int(low[1:]) + 1
        elif part:
            total += 1
    return total


def worst(function, frames, calls, path, notes):
    if function in path:
        notes.add(f"recursion through {function}")
        return 0, [function]
    best, best_path = 0, []
    for callee in calls.get(function, ()):
        use, chain = worst(callee, frames, calls, path | {function}, notes)
        if use > best:
            best, best_path = use, chain
    return frames.get(function, 0) + best, [function] + best_path


def main():
    args, skip = sys.argv[1:], []
    while len(args) >= 2 and args[0] == "--skip":
        skip.append(args[1])
        args = args[2:]
    elf = Path(args[0]) if args else DEFAULT_ELF
    root = args[1] if len(args) > 1 else "classify"
    frames, calls, indirect = analyse(elf)
    for caller in calls:
        calls[caller] = {c for c in calls[caller] if not any(s in c for s in skip)}
    if root not in frames:
        sys.exit(f"error: no function `{root}` in {elf}")
    notes = set()
    use, chain = worst(root, frames, calls, frozenset(), notes)
    reached = set()
    stack = [root]
    while stack:
        f = stack.pop()
        if f not in reached:
            reached.add(f)
            stack.extend(calls.get(f, ()))
    if reached & indirect:
        notes.add("indirect calls in " + ", ".join(sorted(reached & indirect)) + " (not followed)")
    if skip:
        print("skipped: calls to " + ", ".join(skip))
    print(f"stack_bytes: {use}")
    print("deepest chain: " + " -> ".join(f"{f} ({frames.get(f, 0)} B)" for f in chain))
    for note in sorted(notes):
        print(f"lower bound: {note}")


if __name__ == "__main__":
    main()
