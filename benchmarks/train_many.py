"""Training many small models: the batched trainer against a per-model loop and a hand-written
stacked-``baddbmm`` trainer, and the peak memory of training 1,024 MLPs at once.

Every model is a one-hidden-layer MLP (width 32) on its own random 256-record subset of
scikit-learn's digits, trained for ``--steps`` steps of batch 32.

- per-model loop: the same trainer called once per model (the same training: the results
  are checked equal), which is what a Python loop over models costs;
- hand-written: a minimal SGD on stacked weights, batches of distinct records drawn as the
  trainer draws them, one ``torch.baddbmm`` per layer, a manual backward pass with the
  updates fused into the weights, the same fast CPU kernels (``index_select``, softmax
  through ``logsumexp``), one shared generator and no per-model streams, no divergence
  tracking, no variable step counts: the ceiling for this computation;
- peak memory: the maximum resident set of a child process that trains 1,024 MLPs.

With ``--scale 1024,4096,16384`` it measures instead, for each number of models M, the
``sgd`` trainer (counter-based draws on the device) against the hand-written trainer in the
same run, and the trainer's peak GPU memory, one line per M (what ``benchmarks/gpu.sh``
records)::

    scale: models=M steps=S device=D trainer=X models/s hand-written=Y models/s ratio=R peak_gpu_memory=G GiB

    python benchmarks/train_many.py [--models 1024] [--steps 40] [--device cpu] [--threads N]
    python benchmarks/train_many.py --scale 1024,4096,16384 --steps 200 --device cuda
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from common import machine
from rich.console import Console
from rich.table import Table

from games.privacy import data
from games.privacy.training import make_trainer, network

BATCH = 32
RECORDS = 256


def task(models: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ds = data.load("digits")
    rng = np.random.default_rng(seed)
    masks = np.zeros((models, ds.size), bool)
    for i in range(models):
        masks[i, rng.choice(ds.size, RECORDS, replace=False)] = True
    return ds.X, ds.y, masks


def trainer(name: str, steps: int):
    # size = steps·batch with one epoch: exactly `steps` optimiser steps per model.
    return make_trainer(
        name,
        network=network("mlp", width=32, depth=1),
        epochs=1,
        batch_size=BATCH,
        lr=0.1,
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        sampling="fixed",
    )


def batched(name: str, X, y, masks, steps: int, device: str) -> tuple[float, object]:
    tr = trainer(name, steps)
    start = time.perf_counter()
    out = tr.train(X, y, masks, list(range(len(masks))), device, size=steps * BATCH)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def loop(name: str, X, y, masks, steps: int, device: str, count: int) -> tuple[float, list]:
    tr = trainer(name, steps)
    start = time.perf_counter()
    outs = [tr.train(X, y, masks[i : i + 1], [i], device, size=steps * BATCH) for i in range(count)]
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, outs


def handwritten(X, y, masks, steps: int, device: str) -> float:
    """Minimal stacked SGD: the same shapes and arithmetic, none of the bookkeeping."""
    M = len(masks)
    gen = torch.Generator().manual_seed(0)
    # Batch keys from a generator on the device, as fast as torch draws them there.
    draw = torch.Generator(device=device).manual_seed(0)
    d, h, k = X.shape[1], 32, int(y.max()) + 1
    W1 = ((torch.rand(M, d, h, generator=gen) * 2 - 1) / d**0.5).to(device)
    b1 = ((torch.rand(M, 1, h, generator=gen) * 2 - 1) / d**0.5).to(device)
    W2 = ((torch.rand(M, h, k, generator=gen) * 2 - 1) / h**0.5).to(device)
    b2 = ((torch.rand(M, 1, k, generator=gen) * 2 - 1) / h**0.5).to(device)
    Xt = torch.as_tensor(np.array(X)).to(device)
    yt = torch.as_tensor(np.array(y)).to(device)
    index = torch.as_tensor(np.argsort(~masks, axis=1, kind="stable")[:, :RECORDS]).to(device)
    lr = 0.1 / BATCH
    start = time.perf_counter()
    for _ in range(steps):
        # BATCH distinct records per model, as the trainer samples them (the smallest keys).
        keys = torch.rand(M, RECORDS, generator=draw, device=device)
        pick = torch.topk(keys, BATCH, dim=1, largest=False, sorted=False).indices
        rows = index.gather(1, pick).reshape(-1)
        xb, yb = Xt.index_select(0, rows).view(M, BATCH, d), yt.index_select(0, rows).view(M, BATCH)
        z1 = torch.baddbmm(b1, xb, W1)
        a1 = torch.relu(z1)
        z2 = torch.baddbmm(b2, a1, W2)
        d2 = (z2 - torch.logsumexp(z2, -1, keepdim=True)).exp()  # softmax, the fast way on CPU
        d2.scatter_add_(-1, yb.unsqueeze(-1), -torch.ones(M, BATCH, 1, device=device))
        d1 = torch.bmm(d2, W2.transpose(1, 2)) * (z1 > 0)
        W2.baddbmm_(a1.transpose(1, 2), d2, alpha=-lr)
        b2.sub_(d2.sum(1, keepdim=True), alpha=lr)
        W1.baddbmm_(xb.transpose(1, 2), d1, alpha=-lr)
        b1.sub_(d1.sum(1, keepdim=True), alpha=lr)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start


def child_memory(models: int, steps: int, threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    X, y, masks = task(models)
    batched("sgd", X, y, masks, steps, "cpu")
    batched("dp-sgd", X, y, masks, steps, "cpu")


def peak_memory(models: int, steps: int, threads: int | None) -> float:
    """Peak resident set (GiB) of a child process that trains ``models`` MLPs (SGD, then DP-SGD)."""
    args = [sys.executable, __file__, "--child", "--models", str(models), "--steps", str(steps)]
    if threads:
        args += ["--threads", str(threads)]
    subprocess.run(args, check=True)
    # ru_maxrss of terminated children, in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20


def scale(sizes: list[int], steps: int, device: str, repeats: int) -> None:
    """The trainer against the hand-written one at each number of models, with peak memory."""
    cuda = device.startswith("cuda")
    console = Console()
    for models in sizes:
        X, y, masks = task(models)
        t_hand = min(handwritten(X, y, masks, steps, device) for _ in range(repeats))
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        t_ours, _ = best(lambda: batched("sgd", X, y, masks, steps, device), repeats)  # noqa: B023
        peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}" if cuda else "n/a"
        console.print(
            f"scale: models={models} steps={steps} device={device} "
            f"trainer={models / t_ours:,.1f} models/s hand-written={models / t_hand:,.1f} models/s "
            f"ratio={t_hand / t_ours:.2f} peak_gpu_memory={peak} GiB",
            soft_wrap=True,
        )


def best(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        seconds, result = fn()
        times.append(seconds)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument(
        "--loop-models", type=int, default=64, help="models the per-model loop trains"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--memory-models", type=int, default=1024, help="models the peak-memory child trains"
    )
    parser.add_argument(
        "--scale", default=None, help="comma-separated numbers of models: trainer vs hand-written"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_memory(args.models, args.steps, args.threads)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.scale:
        scale([int(m) for m in args.scale.split(",")], args.steps, args.device, args.repeats)
        return
    X, y, masks = task(args.models)
    count = min(args.loop_models, args.models)
    rows = []
    gaps: list[tuple[str, float]] = []
    for name in ("sgd", "dp-sgd"):
        t_batch, out = best(
            lambda n=name: batched(n, X, y, masks, args.steps, args.device), args.repeats
        )
        t_loop, outs = best(lambda n=name: loop(n, X, y, masks, args.steps, args.device, count), 1)
        # The loop does the same training: checked after the table is printed.
        apart = max(
            float((a[i].cpu() - b[0].cpu()).abs().max())
            for i, one in enumerate(outs[:4])
            for a, b in zip(out.params, one.params, strict=True)
        )
        gaps.append((name, apart))
        rows.append((name, "per-model loop", args.models / t_batch, count / t_loop))
    t_hand = min(handwritten(X, y, masks, args.steps, args.device) for _ in range(args.repeats))
    t_ours, _ = best(lambda: batched("sgd", X, y, masks, args.steps, args.device), args.repeats)
    rows.append(("sgd", "hand-written baddbmm", args.models / t_ours, args.models / t_hand))
    memory = (
        peak_memory(args.memory_models, args.steps, args.threads)
        if args.device == "cpu"
        else float("nan")
    )

    table = Table(
        title=f"Training {args.models} MLPs (digits, {args.steps} steps of batch {BATCH})"
    )
    for column in ("trainer", "against", "batched models/s", "baseline models/s", "ratio"):
        table.add_column(column, justify="right" if column != "trainer" else "left")
    for name, against, ours, theirs in rows:
        table.add_row(name, against, f"{ours:,.1f}", f"{theirs:,.1f}", f"{ours / theirs:.2f}×")
    console = Console()
    console.print(
        table,
        f"peak memory training {args.memory_models:,} MLPs (SGD then DP-SGD), "
        f"child ru_maxrss: {memory:.2f} GiB",
        f"{machine(torch)}, device {args.device}; per-model loop over {count} models",
        sep="\n",
    )
    for name, apart in gaps:
        console.print(f"{name}: batched against per-model parameters, max |difference| {apart:.1e}")
        if apart > 1e-3:
            raise SystemExit(f"{name}: the batched and per-model trainings differ by {apart:.1e}")


if __name__ == "__main__":
    main()
