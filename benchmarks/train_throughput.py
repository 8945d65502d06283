"""Images/s of ``engine.fit`` against the minimal loop tutorials write, measured alternately.

    python benchmarks/train_throughput.py                 # CPU: vgg_mini on MNIST
    python benchmarks/train_throughput.py --gpu           # + VGG-16 at 224 on a CUDA GPU

Part 1 (any device): the same model, data, batch size and optimizer,
trained for one epoch at a time by ``fit()`` and by a bare seed-style loop,
alternating so that machine noise hits both equally. The ratio fit/bare is
the engine's overhead (goal: at least 0.95).

Part 2 (CUDA only): VGG-16 at 224x224 on synthetic data kept on the GPU,
fp32 eager versus bf16 autocast + channels_last, and with ``torch.compile``;
images/s, speed-up, and model FLOP utilisation (MFU) against the GPU's
dense bf16 peak. Results go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from cnnbook import data, engine, models, runinfo
from cnnbook.data import collate_batch
from cnnbook.io import write_json
from cnnbook.results.registry import KINDS

#: Dense bf16 tensor-core peaks (FLOP/s) from NVIDIA's data sheets.
PEAK_BF16 = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12, "L4": 121e12}


def bare_epoch(model, dataset, batch_size, lr, device) -> float:
    """The seed's loop: DataLoader, forward, loss, backward, step, ``.item()`` every batch."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=collate_batch)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    n, correct, total_loss = 0, 0.0, 0.0
    start = time.perf_counter()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        pred = model(x)
        loss = loss_fn(pred, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        correct += (pred.argmax(1) == y).float().sum().item()
        total_loss += loss.item()
        n += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def overhead(args, device) -> dict:
    bundle = data.load(args.data, subset=args.subset)
    fit_rates, bare_rates = [], []
    engine.seed_everything(0)
    model_a = models.create(args.model, num_classes=len(bundle.classes))
    model_b = models.create(args.model, num_classes=len(bundle.classes))
    model_b.load_state_dict(model_a.state_dict())
    # one warm-up epoch each, not counted
    engine.fit(model_a, bundle.train, None, epochs=1, batch_size=args.batch_size, lr=args.lr,
               device=device, log=False, amp=False, channels_last=False)  # fmt: skip
    bare_epoch(model_b.to(device), bundle.train, args.batch_size, args.lr, device)
    fit_cpu, bare_cpu = [], []  # images per CPU-second of this process: robust to other load
    n = len(bundle.train)
    for r in range(args.rounds):
        c0 = time.process_time()
        h = engine.fit(model_a, bundle.train, None, epochs=1, batch_size=args.batch_size,
                       lr=args.lr, seed=r, device=device, log=False, amp=False,
                       channels_last=False)  # fmt: skip
        fit_cpu.append(n / (time.process_time() - c0))
        fit_rates.append(h.epochs[0]["images_per_s"])
        c0 = time.process_time()
        bare_rates.append(bare_epoch(model_b, bundle.train, args.batch_size, args.lr, device))
        bare_cpu.append(n / (time.process_time() - c0))
        print(f"round {r + 1}: fit {fit_rates[-1]:,.0f} img/s ({fit_cpu[-1]:,.0f} per CPU-s), "
              f"bare loop {bare_rates[-1]:,.0f} img/s ({bare_cpu[-1]:,.0f} per CPU-s)", flush=True)  # fmt: skip
    # On a shared machine other processes slow some rounds down a lot; the
    # best round of each is the least disturbed, so its ratio is the headline.
    ratio = max(fit_rates) / max(bare_rates)
    ratio_median = statistics.median(fit_rates) / statistics.median(bare_rates)
    ratio_cpu = statistics.median(fit_cpu) / statistics.median(bare_cpu)
    print(f"fit / bare loop: {ratio:.3f} (best rounds), {ratio_median:.3f} (medians), "
          f"{ratio_cpu:.3f} (per CPU-second, medians)")  # fmt: skip
    return {
        "model": args.model, "data": args.data, "train_images": len(bundle.train),
        "batch_size": args.batch_size, "device": str(device), "rounds": args.rounds,
        "fit_images_per_s": fit_rates, "bare_images_per_s": bare_rates,
        "fit_images_per_cpu_s": fit_cpu, "bare_images_per_cpu_s": bare_cpu,
        "ratio_fit_over_bare": ratio, "ratio_of_medians": ratio_median,
        "ratio_per_cpu_second": ratio_cpu, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
    }  # fmt: skip


def peak_flops() -> tuple[float | None, str]:
    name = torch.cuda.get_device_name()
    for key in sorted(PEAK_BF16, key=len, reverse=True):
        if all(part in name for part in key.split()):
            return PEAK_BF16[key], name
    return None, name


def gpu_vgg16(args) -> dict:
    from cnnbook.analysis.complexity import count_macs

    device = torch.device("cuda")
    n = args.gpu_images
    g = torch.Generator(device="cuda").manual_seed(0)
    images = torch.randn(n, 3, 224, 224, device=device, generator=g)
    labels = torch.randint(0, 1000, (n,), device=device, generator=g)
    ds = data.TensorImageDataset(images, labels)
    macs = count_macs(models.create("vgg16"), (1, 3, 224, 224))
    peak, name = peak_flops()
    results = []
    configs = [("fp32 eager", dict(amp=False, channels_last=False, compile=False)),
               ("bf16 + channels_last", dict(amp=True, channels_last=True, compile=False)),
               ("bf16 + channels_last + compile", dict(amp=True, channels_last=True, compile=True))]  # fmt: skip
    for label, kw in configs:
        engine.seed_everything(0)
        model = models.create("vgg16")
        h = engine.fit(model, ds, None, epochs=args.gpu_epochs, batch_size=args.gpu_batch,
                       lr=0.01, device=device, log=False, **kw)  # fmt: skip
        rate = max(r["images_per_s"] for r in h.epochs[1:])  # epoch 1 includes warm-up/compile
        flops = rate * 3 * 2 * macs  # forward + backward ~ 3 forwards; 2 FLOPs per MAC
        row = {"config": label, "images_per_s": rate, "model_tflops": flops / 1e12,
               "mfu_vs_bf16_peak": flops / peak if peak else None,
               "epoch_images_per_s": [r["images_per_s"] for r in h.epochs]}  # fmt: skip
        results.append(row)
        print(f"{label:32s} {rate:8,.0f} img/s  {flops / 1e12:6.1f} TFLOP/s"
              + (f"  MFU {100 * flops / peak:.1f}%" if peak else ""), flush=True)  # fmt: skip
        del model
        torch.cuda.empty_cache()
    base = results[0]["images_per_s"]
    for row in results:
        row["speedup_vs_fp32"] = row["images_per_s"] / base
    return {"gpu": name, "peak_bf16_flops": peak, "vgg16_macs_per_image": macs,
            "batch_size": args.gpu_batch, "synthetic_images": n, "configs": results}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="vgg_mini")
    p.add_argument("--data", default="mnist")
    p.add_argument("--subset", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--device", default="cpu")
    p.add_argument("--gpu", action="store_true", help="also run the VGG-16 GPU section")
    p.add_argument("--gpu-batch", type=int, default=64)
    p.add_argument("--gpu-images", type=int, default=1024)
    p.add_argument("--gpu-epochs", type=int, default=3)
    p.add_argument("--out", default="artifacts/train_throughput.json")
    args = p.parse_args()

    device = engine.resolve_device(args.device)
    result = {
        "command": " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]),
        "runinfo": runinfo.info(),
        "code": KINDS["train_throughput"].fingerprint(),  # `cnnbook results check` compares it
    }
    result["overhead"] = overhead(args, device)
    if args.gpu:
        if not torch.cuda.is_available():
            print("--gpu: no CUDA GPU here; skipping the VGG-16 section", file=sys.stderr)
        else:
            result["vgg16_gpu"] = gpu_vgg16(args)
    write_json(result, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
