"""benchmarks/gpu.sh runs end to end with the CPU standing in, and prints what RESULTS.md
records: models/s of the trainer and of the hand-written baseline, their ratio, peak memory."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(
    r"^scale: models=(\d+) steps=(\d+) device=(\S+) trainer=([\d,.]+) models/s "
    r"hand-written=([\d,.]+) models/s ratio=([\d.]+) peak_gpu_memory=(\S+) GiB$"
)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_gpu_script_runs_on_cpu_and_prints_one_line_per_size(tmp_path):
    done = subprocess.run(
        ["bash", "benchmarks/gpu.sh", "--device", "cpu", "--models", "4,8", "--steps", "2",
         "--no-tests", str(tmp_path)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [m for m in map(LINE.match, done.stdout.splitlines()) if m]
    assert [(int(m[1]), int(m[2]), m[3]) for m in lines] == [(4, 2, "cpu"), (8, 2, "cpu")]
    for m in lines:
        trainer, hand = (float(m[i].replace(",", "")) for i in (4, 5))
        assert trainer > 0 and hand > 0
        # Both rates are printed to 0.1 and the ratio to 0.01: allow for the three roundings.
        slack = 0.005 + trainer / hand * (0.05 / trainer + 0.05 / hand) * 1.01
        assert float(m[6]) == pytest.approx(trainer / hand, abs=slack)
        assert m[7] == "n/a"  # no GPU memory to report on the CPU
    assert (tmp_path / "train_scale.txt").read_text().count("scale: ") == 2
    assert "batched against per-model parameters" in (tmp_path / "train_many_4.txt").read_text()


def test_gpu_script_refuses_an_unknown_option(tmp_path):
    done = subprocess.run(
        ["bash", "benchmarks/gpu.sh", "--fast", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "unknown option --fast" in done.stderr
