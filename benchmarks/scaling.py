"""Images/s of the same training run on 1 and 2 processes (torchrun, DDP).

    python benchmarks/scaling.py                      # CPU: plain, torchrun x1, torchrun x2
    python benchmarks/scaling.py --device cuda --nproc 1 2 4 8

Each configuration trains ``vgg_mini`` on the shipped MNIST subset with the
same global batch for a few epochs; the rate of the best epoch after the
first (which pays for start-up) is kept. Scaling efficiency is
``rate(N) / (N x rate(1))``. On one machine's CPU cores the processes
share the same cores and memory bandwidth, so expect little gain there:
the CPU run shows that the code path works, GPUs show the speed-up. The
"torchrun x1" row measures what the DDP wrapper itself costs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cnnbook import runinfo
from cnnbook.io import write_json
from cnnbook.results.registry import KINDS


def worker(args) -> None:
    """One training process (plain or started by torchrun); rank 0 writes the result."""
    from cnnbook import data, distributed, engine, models

    bundle = data.load("mnist", subset=args.subset)
    engine.seed_everything(0)
    model = models.create("vgg_mini")
    h = engine.fit(model, bundle.train, None, epochs=args.epochs, batch_size=args.batch_size,
                   lr=0.01, device=args.device, log=False)  # fmt: skip
    if distributed.is_main_process():
        rates = [r["images_per_s"] for r in h.epochs]
        Path(args.result).write_text(
            json.dumps({"epoch_images_per_s": rates, "best": max(rates[1:] or rates)})
        )


def launch(args, nproc: int | None) -> dict:
    """Run a worker: ``nproc=None`` as a plain process, else under torchrun."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "r.json"
        base = [sys.executable]
        if nproc is not None:
            base += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
        cmd = [*base, __file__, "--worker", "--result", str(result), "--device", args.device,
               "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
               "--subset", str(args.subset)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode:
            raise SystemExit(f"run failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}")
        return json.loads(result.read_text())


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128, help="global batch")
    p.add_argument("--subset", type=int, default=2000)
    p.add_argument("--out", default="artifacts/scaling.json")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return 0

    rows = [{"launch": "plain python, 1 process", "nproc": 1, **launch(args, None)}]
    for n in args.nproc:
        rows.append({"launch": f"torchrun, {n} process(es)", "nproc": n, **launch(args, n)})
    single = rows[0]["best"]
    for row in rows:
        row["speedup"] = row["best"] / single
        row["efficiency"] = row["speedup"] / row["nproc"]
        print(f"{row['launch']:28s} {row['best']:9,.0f} img/s  x{row['speedup']:.2f}  "
              f"efficiency {100 * row['efficiency']:.0f}%")  # fmt: skip
    result = {
        "command": " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
        "runinfo": runinfo.info(),
        "code": KINDS["scaling"].fingerprint(),  # `cnnbook results check` compares it
        "model": "vgg_mini", "data": "mnist", "train_images": args.subset,
        "global_batch": args.batch_size, "epochs": args.epochs, "device": args.device,
        "rows": rows,
    }  # fmt: skip
    write_json(result, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
