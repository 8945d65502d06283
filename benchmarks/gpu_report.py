"""One command for one GPU: training throughput and MFU of VGG-16 and ResNet-50, then the degradation run.

    python benchmarks/gpu_report.py                                  # one CUDA GPU, under 8 minutes
    python benchmarks/gpu_report.py --dry-run --out /tmp/gpu-dry.json   # the same code on a CPU, seconds

Part 1: VGG-16 and ResNet-50 train (forward, loss, backward, SGD step) at
224x224 on a synthetic batch kept on the GPU, in three modes: fp32 eager,
bf16 autocast with channels_last, and the same under ``torch.compile``.
Each mode's warm-up steps (cuDNN's algorithm search, compilation) are timed
apart from the measured steps. A batch that does not fit is halved until it
does. Each row gives images/s and model FLOPs utilisation (MFU) against the
GPU's dense peak at the precision the step runs at
(``cnnbook.analysis.gpu_peaks``; an unlisted GPU gets no MFU).

Part 2: if at least ``--degradation-minutes`` of the ``--budget-minutes``
are left, the degradation experiment's recorded run on the GPU
(``cnnbook results record degradation --device cuda``), stopped when the
budget runs out.

The result goes to ``docs/results/gpu_report-gpu.json`` (atomically): the
command, the hardware, a fingerprint of the code and one row per model and
mode. ``--dry-run`` runs every line of part 1 on the CPU at 32x32 with one
step per mode and a 1/16-width VGG-16 (whose full width needs seconds a
step there), skips compilation (minutes of C++ per model on a CPU), checks
whether part 2 could run, and writes only where ``--out`` says, never into
``docs/results/``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from cnnbook import models, runinfo
from cnnbook.analysis import gpu_peaks, throughput
from cnnbook.engine import resolve_device
from cnnbook.errors import CnnbookError
from cnnbook.io import write_json
from cnnbook.results import RESULTS_DIR, ROOT
from cnnbook.results.record import recordable
from cnnbook.results.registry import KINDS

DEFAULT_OUT = RESULTS_DIR / "gpu_report-gpu.json"
DEGRADATION = ["cnnbook", "results", "record", "degradation", "--device", "cuda"]


@dataclass(frozen=True)
class Case:
    """One network as measured: its registry name, batch size, image side, classes and options."""

    model: str
    batch_size: int
    image_size: int
    num_classes: int = 1000
    options: dict = field(default_factory=dict)

    def create(self) -> torch.nn.Module:
        torch.manual_seed(0)
        return models.create(self.model, num_classes=self.num_classes, **self.options)


def cases(dry_run: bool) -> list[Case]:
    """Batch sizes a 40 GB GPU holds in fp32; a smaller GPU halves them on its own."""
    if dry_run:
        return [Case("vgg16", 2, 32, options={"width_mult": 1 / 16}), Case("resnet50", 2, 32)]
    return [Case("vgg16", 64, 224), Case("resnet50", 128, 224)]


def code_fingerprint() -> str:
    """The fingerprint ``cnnbook results check`` compares (the registry lists the code)."""
    return KINDS["gpu_report"].fingerprint()


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else runinfo.cpu_name()


def measure_case(case: Case, mode: throughput.Mode, flops: int, args, device: torch.device) -> dict:
    """One row: ``case`` trained in ``mode``, or why it was skipped."""
    row: dict = {"model": case.model, "options": case.options, "mode": mode.name,
                 "image_size": case.image_size}  # fmt: skip
    if mode.compile and device.type == "cpu":
        row["skipped"] = "torch.compile builds C++ kernels for minutes per model on a CPU"
        return row

    def run(batch_size: int) -> throughput.Measurement:
        return throughput.measure(case.create(), mode, batch_size, case.image_size, device,
                                  args.steps, args.warmup, case.num_classes)  # fmt: skip

    batch, m = throughput.shrink_on_oom(run, case.batch_size)
    if mode.compile:
        torch.compiler.reset()  # drop the compiled graphs and what they hold on the GPU
    peak = gpu_peaks.peak_flops(device_name(device), m.precision)
    row.update(batch_size=batch, precision=m.precision, images_per_s=m.images_per_s,
               step_ms=m.step_ms, warmup_s=m.warmup_s, model_flops_per_image=flops,
               model_tflops=m.images_per_s * flops / 1e12,
               peak_tflops=None if peak is None else peak / 1e12,
               mfu=throughput.mfu(m.images_per_s, flops, peak))  # fmt: skip
    return row


def throughput_rows(args, device: torch.device) -> list[dict]:
    rows = []
    for case in cases(args.dry_run):
        flops = throughput.training_flops_per_image(case.create(), case.image_size)
        for mode in throughput.MODES:
            row = measure_case(case, mode, flops, args, device)
            rows.append(row)
            if "skipped" in row:
                print(f"{case.model:9s} {mode.name:31s} skipped: {row['skipped']}", flush=True)
                continue
            mfu = f"MFU {row['mfu']:.1%}" if row["mfu"] is not None else "MFU n/a (peak unknown)"
            print(f"{case.model:9s} {mode.name:31s} batch {row['batch_size']:4d} "
                  f"{row['images_per_s']:9,.1f} img/s {row['model_tflops']:7.2f} TFLOP/s "
                  f"{mfu} ({row['precision']})", flush=True)  # fmt: skip
        measured = [r for r in rows if r["model"] == case.model and "images_per_s" in r]
        for r in measured:
            r["speedup_vs_fp32"] = r["images_per_s"] / measured[0]["images_per_s"]
    return rows


def degradation(args, left_s: float) -> dict:
    """Run the degradation recorded run on the GPU if the budget allows; say what happened."""
    out: dict = {"command": " ".join(DEGRADATION)}
    if "degradation" not in recordable():
        out["status"] = "skipped: `cnnbook results record` cannot make the degradation run"
    elif left_s < 60 * args.degradation_minutes:
        out["status"] = (f"skipped: {left_s / 60:.1f} of {args.budget_minutes} minutes left, "
                         f"under the {args.degradation_minutes} it needs")  # fmt: skip
    elif args.dry_run:
        out["status"] = "dry run: would run it now"
    else:
        start = time.monotonic()
        argv = [sys.executable, "-m", "cnnbook", *DEGRADATION[1:]]
        try:
            proc = subprocess.run(argv, cwd=ROOT, timeout=left_s)
            out["status"] = "ok" if proc.returncode == 0 else f"failed with exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            out["status"] = "stopped at the end of the budget: run the command alone"
        out["wall_s"] = time.monotonic() - start
    print(f"degradation run: {out['status']}", flush=True)
    return out


def out_path(args) -> Path:
    """Where to write; a dry run must not land among the recorded results."""
    if not args.dry_run:
        return Path(args.out or DEFAULT_OUT)
    if args.out is None:
        raise CnnbookError("a dry run writes only where --out says: add --out PATH")
    path = Path(args.out).resolve()
    if path.is_relative_to(RESULTS_DIR):
        raise CnnbookError(
            f"a dry run does not write into {RESULTS_DIR.relative_to(ROOT)}/: give --out a path elsewhere"
        )
    return path


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dry-run", action="store_true", help="run on the CPU, tiny and fast")
    p.add_argument("--out", help=f"result file (default {DEFAULT_OUT.relative_to(ROOT)})")
    p.add_argument("--steps", type=int, help="timed steps per mode (default 20; dry run 1)")
    p.add_argument("--warmup", type=int, help="untimed steps per mode (default 5; dry run 1)")
    p.add_argument("--budget-minutes", type=float, default=8.0)
    p.add_argument("--degradation-minutes", type=float, default=3.0,
                   help="start the degradation run only if this much budget is left")  # fmt: skip
    args = p.parse_args(argv)
    args.steps = args.steps or (1 if args.dry_run else 20)
    args.warmup = args.warmup or (1 if args.dry_run else 5)
    return args


def main(argv: list[str] | None = None) -> int:
    start = time.monotonic()
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    try:
        out = out_path(args)
        device = torch.device("cpu") if args.dry_run else resolve_device("cuda")
    except CnnbookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    name = device_name(device)
    peak = gpu_peaks.lookup(name)
    print(f"{name}: peak {'from ' + peak.name if peak else 'unknown, so no MFU'}", flush=True)
    result = {
        "command": " ".join(["python", "benchmarks/gpu_report.py", *argv]),
        "runinfo": runinfo.info(),
        "code": code_fingerprint(),
        "dry_run": args.dry_run,
        "device": name,
        "peak": peak and {"name": peak.name, "source": peak.source},
        "flops": throughput.FLOPS_CONVENTION,
        "steps": args.steps,
        "warmup_steps": args.warmup,
        "rows": throughput_rows(args, device),
    }
    # Written before part 2 too, so a failure there keeps part 1.
    write_json(result, out)
    left_s = 60 * args.budget_minutes - (time.monotonic() - start)
    result["degradation"] = degradation(args, left_s)
    result["wall_s"] = time.monotonic() - start
    write_json(result, out)
    print(f"wrote {out} ({result['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
