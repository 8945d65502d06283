# %% [markdown]
# # Scaling up
#
# The training code of this book runs on a laptop CPU, on one GPU, on all the
# GPUs of a machine and on several machines, without a line changed. The
# last two go through PyTorch's own launcher, `torchrun`, and its
# `DistributedDataParallel` (DDP). This page gives the commands, explains
# what the launcher and the engine do for you, and proves on the CPU that
# builds it that two processes train exactly the same model as one.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "The same training code runs on a CPU, one GPU, all GPUs of a machine "
            "and several machines; torchrun launches the last two.",
            "Under DDP each process trains on its shard; gradients are averaged, so "
            "one step sees the global batch.",
            "Two processes train exactly the same model as one (proven on this CPU).",
            "A larger global batch wants a larger learning rate (linear scaling) "
            "and a warm-up; the engine applies neither unasked.",
        ]
    )
)

# %%
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from cnnbook import engine, results, show

# %% [markdown]
# ## The commands
#
# Only the launcher and the device change from one tab to the next:

# %%
display(
    show.tabs(
        {
            "One CPU": "cnnbook train --model vgg_mini --data textures --device cpu",
            "One GPU": (
                "cnnbook train --model vgg16_cifar --data cifar10 --download \\\n"
                "    --device cuda --batch-size 256 --lr 0.05"
            ),
            "8 GPUs": (
                "torchrun --standalone --nproc_per_node=8 -m cnnbook train \\\n"
                "    --model vgg16_cifar --data cifar10 --device cuda \\\n"
                "    --batch-size 2048 --lr 0.4 --warmup-steps 500"
            ),
            "2 machines x 8 GPUs": (
                "# run on every machine; host0 is reachable by all of them\n"
                "torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \\\n"
                "    --rdzv_endpoint=host0:29500 --rdzv_id=vgg-run-1 \\\n"
                "    -m cnnbook train --model resnet50 \\\n"
                "    --data /data/imagenet-folder --device cuda \\\n"
                "    --batch-size 4096 --lr 1.6 --warmup-steps 1565 --weight-decay 1e-4"
            ),
        }
    )
)

# %% [markdown]
# `examples/train.py` works the same way: `torchrun --nproc_per_node=2
# examples/train.py`.
#
# ## What torchrun does
#
# `torchrun` starts `--nproc_per_node` copies of the program on each machine
# and tells each copy who it is through environment variables: `RANK` (its
# number among all processes), `LOCAL_RANK` (its number on this machine, which
# picks its GPU), `WORLD_SIZE` (how many there are) and the address of a
# rendezvous point where they meet. With `--nnodes` greater than one, the
# processes of all machines meet at `--rdzv_endpoint`. If a process dies,
# torchrun stops the others (and restarts the group if `--max-restarts` allows).
#
# ## What the engine does (and you do not)
#
# When `engine.fit` sees those variables it:
#
# 1. joins the process group, `nccl` on GPUs and `gloo` on CPUs, with a
#    timeout (300 s, or `--dist-timeout`), so that a dead peer ends the run
#    with an error instead of a hang;
# 2. wraps the model in `DistributedDataParallel`, which averages the
#    gradients of all processes during the backward pass, so every process
#    applies the same update and the copies never drift apart;
# 3. gives each process its own shard of every epoch with a
#    `DistributedSampler`, reshuffled each epoch with `set_epoch`;
# 4. splits the batch: `--batch-size` is the **global** batch, and each of the
#    $N$ processes takes $B/N$ (an error if $B$ is not a multiple of $N$);
# 5. sums the loss and accuracy counts of all processes, so the log shows the
#    numbers of the whole epoch;
# 6. lets only rank 0 print, plot and write checkpoints (atomically, as in a
#    single process). Checkpoints hold the plain model's weights, so a run
#    saved by 8 processes resumes on 1, or the other way round;
# 7. checks that all processes were started with the same settings, and
#    fails on every rank, with one sentence, if not.
#
# ## Proof: two processes equal one
#
# With the same global batch, data-parallel SGD is the same computation as
# single-process SGD: each of two processes computes the mean gradient over
# half the batch, and averaging those two means gives the mean over the whole
# batch. Below, a small network without dropout trains for two epochs once in
# this process and once as two `gloo` processes under `torchrun`, each with
# half the batch.

# %%
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from cnnbook import engine, models
    from cnnbook.data import TensorImageDataset

    def net():
        torch.manual_seed(0)
        return models.create("tiny_cnn", num_classes=4, batch_norm=True)

    g = torch.Generator().manual_seed(1)
    data = TensorImageDataset(torch.randn(128, 3, 8, 8, generator=g),
                              torch.randint(0, 4, (128,), generator=g))
    model = net()
    history = engine.fit(model, data, data, epochs=2, batch_size=32, lr=0.1, seed=0,
                         sync_bn=True, log="RANK" in os.environ)
    if __name__ == "__main__" and os.environ.get("RANK") == "0":
        weights = {k: v.tolist() for k, v in model.state_dict().items()}
        json.dump(weights, open(sys.argv[1], "w"))
    """
)
tmp = Path(tempfile.mkdtemp())
(tmp / "ddp_demo.py").write_text(SCRIPT)
env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
cmd = [*launcher, "--nproc_per_node=2", str(tmp / "ddp_demo.py"), str(tmp / "two.json")]
run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
print(run.stdout.strip() or run.stderr[-2000:])

# %%
namespace = {"__name__": "single_process"}
exec(SCRIPT, namespace)  # the same script, in this single process
one = namespace["model"].state_dict()
saved = json.loads((tmp / "two.json").read_text())
two = {k: torch.tensor(v) for k, v in saved.items()}
rows = [
    (k, tuple(one[k].shape), f"{(one[k].float() - two[k].float()).abs().max():.1e}")
    for k in one
]
display(
    show.table(
        rows,
        ["tensor", "shape", "largest difference, 1 vs 2 processes"],
        "tiny_cnn, 2 epochs, seed 0",
    )
)

# %% [markdown]
# The differences are rounding: summing the same numbers in another order.
# The test suite asserts this equality (and the same without batch norm) on
# every change, and also that killing one process with `SIGKILL` ends the
# whole run within the timeout and that the last checkpoint then resumes in a
# single process.
#
# ## SyncBatchNorm, and when it matters
#
# The network above has a batch-norm layer, and the run used `sync_bn=True`
# (`--sync-bn`). Batch norm normalises with the mean and variance of the
# batch it sees. Under DDP each process sees only its $B/N$ images, so by
# default each normalises with its own, noisier statistics; the result no
# longer equals single-process training. `SyncBatchNorm` computes the
# statistics over the global batch with two extra all-reduces per layer,
# which restores the equality above. It matters when the per-process batch
# is small (below about 16 to 32 images: detection and segmentation, or big
# images); with 64 or more images per GPU the local statistics are good
# enough and the extra communication is not worth it. (PyTorch's
# `nn.SyncBatchNorm` runs only on GPUs; on CPUs the engine uses its own
# version built on the same all-reduce.)
#
# ## Learning rate: the linear scaling rule and warm-up
#
# More processes with the same per-process batch means a larger global
# batch $B$, hence fewer steps per epoch. Goyal et al. (2017, *Accurate,
# Large Minibatch SGD: Training ImageNet in 1 Hour*) trained ResNet-50 with
# batches up to 8,192 without losing accuracy by two rules:
#
# * **Linear scaling**: multiply the learning rate by $k$ when the batch grows
#   $k$-fold; they used $\eta = 0.1 \cdot B / 256$.
# * **Gradual warm-up**: start from a small rate and ramp it linearly up to
#   $\eta$ over the first 5 epochs, because the large rate is unstable while
#   the weights are still random.
#
# The engine never rescales the learning rate behind your back: the rate you
# pass is the rate used. Warm-up is `--warmup-steps`. For example, for
# ImageNet's 1,281,167 training images at a global batch of 4,096:

# %%
steps_per_epoch = -(-1_281_167 // 4096)  # ceil: the last, smaller batch is a step too
warmup = 5 * steps_per_epoch
print(f"{steps_per_epoch} steps per epoch; 5 warm-up epochs = {warmup:,} steps; "
      f"linear scaling: lr = 0.1 x 4096 / 256 = {0.1 * 4096 / 256:g}")  # fmt: skip
milestones = [30 * steps_per_epoch, 60 * steps_per_epoch]
factor = engine.lr_factor(
    "multistep", 90 * steps_per_epoch, milestones, warmup_steps=warmup
)
steps = range(0, 90 * steps_per_epoch, 10)
fig, ax = plt.subplots(figsize=(6.5, 2.6))
ax.plot([s / steps_per_epoch for s in steps], [1.6 * factor(s) for s in steps])
ax.set_xlabel("epoch")
ax.set_ylabel("learning rate")
ax.set_title(f"lr 1.6, {warmup:,} warm-up steps, /10 at epochs 30 and 60", fontsize=9)
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Reading throughput and scaling efficiency
#
# Each epoch's log line reports images per second over **all** processes.
# With $r_N$ the rate on $N$ processes, the speed-up is $r_N / r_1$ and the
# scaling efficiency $r_N / (N\, r_1)$; 90% or more is good on GPUs in one
# machine. Efficiency drops when the gradient all-reduce takes longer than the
# backward pass that hides it (small models, slow interconnects), or when the
# per-process batch becomes too small to keep a GPU busy. On the CPU cores
# of one machine, processes share the same cores and memory bandwidth, so
# expect little gain there: the CPU run proves the code path, GPUs give the
# speed-up. `benchmarks/scaling.py` measures this; its last committed result:

# %%
recorded = results.find("scaling*.json")
for path in recorded:
    r = results.load(path)
    display(
        show.table(
            [
                (
                    row["launch"],
                    round(row["best"]),
                    f"{row['speedup']:.2f}",
                    f"{row['efficiency']:.0%}",
                )
                for row in r["rows"]
            ],  # fmt: skip
            ["launch", "images/s", "speed-up", "efficiency"],
            caption=f"{path.name}: {r['command']}",
        )
    )
    info = r["runinfo"]
    measured = (
        f"Measured {info['date']} on CPU {info['cpu']}, GPU {info['gpu']}, "
        f"torch {info['torch']}; model {r['model']}, global batch {r['global_batch']}."
    )
    display(show.note(measured, "note", f"Recorded run ({path.name})"))
if not recorded:
    print("No committed scaling results yet: run benchmarks/scaling.py (above).")

# %% [markdown]
# ## One GPU: images per second and model FLOPs utilisation
#
# Images per second is what a run feels like, but it does not say how much
# of the GPU a run leaves unused. **Model FLOPs utilisation** (MFU) does: the
# arithmetic the model needs per image, times the images per second, divided
# by the GPU's peak. By the usual convention a training step costs three
# forward passes (the backward pass computes two products per layer: the
# gradient of the input and that of the weights), and one multiply-accumulate
# is two FLOPs. The package counts the forward MACs, as on the model pages:

# %%
from cnnbook import models
from cnnbook.analysis import gpu_peaks, throughput

flops = {
    name: throughput.training_flops_per_image(models.create(name), 224)
    for name in ("vgg16", "resnet50")
}
print(throughput.FLOPS_CONVENTION)
for name, f in flops.items():
    print(f"{name}: {f / 1e9:.1f} GFLOP per training image at 224x224")

# %% [markdown]
# VGG-16 needs almost four times the arithmetic of ResNet-50 per image. The
# peak depends on the precision: tensor cores multiply bf16 (and, since the
# A100, tf32) matrices many times faster than plain fp32. Data sheets of
# recent GPUs quote tensor rates with 2:4 structured sparsity, which training
# does not use, so the table holds the dense rates, half of those:


# %%
def tera(flops: float | None) -> float | None:
    return None if flops is None else flops / 1e12


precisions = gpu_peaks.PRECISIONS
peaks = [(p.name, *(tera(p.flops(k)) for k in precisions)) for p in gpu_peaks.PEAKS]
display(
    show.table(
        peaks,
        ["GPU", *(f"{k} TFLOP/s" for k in precisions)],
        caption="Dense peaks: tensor cores, fp32 without (a dash: no tensor cores)",
    )
)
sources: dict[str, list[str]] = {}
for p in gpu_peaks.PEAKS:
    sources.setdefault(p.source, []).append(p.name)
links = [f"[{', '.join(names)}]({url})" for url, names in sources.items()]
display(Markdown("Sources: " + "; ".join(links) + "."))

# %% [markdown]
# `benchmarks/gpu_report.py` measures VGG-16 and ResNet-50 training at
# 224x224 on one GPU, on a synthetic batch kept on the GPU (so that loading
# images is not what is timed), in three modes: fp32 as written; bf16 autocast
# with the channels_last memory layout (`--amp`, and the engine's default on a
# GPU); and the same under `torch.compile` (`--compile`). Warm-up steps
# (cuDNN's search for the fastest algorithm, compilation) are timed apart.
# In the fp32 mode cuDNN runs the convolutions on tf32 tensor cores (PyTorch's
# default), so that mode is compared with the tf32 peak. The script then runs
# the [degradation experiment](../resnet/degradation.py) at its recorded scale
# on the GPU if its 8-minute budget allows. The dry run takes every step of
# the same code on a CPU in seconds, at a tiny size, so the script is known to
# work before a GPU is at hand:

# %%
display(
    show.tabs(
        {
            "One CUDA GPU (under 8 minutes)": "python benchmarks/gpu_report.py",
            "CPU dry run (seconds)": (
                "python benchmarks/gpu_report.py --dry-run --out gpu-dry-run.json"
            ),
        }
    )
)

# %% [markdown]
# Its last committed result:

# %%
COLUMNS = {
    "model": "model", "mode": "mode", "batch_size": "batch", "images_per_s": "images/s",
    "speedup_vs_fp32": "speed-up", "model_tflops": "model TFLOP/s",
    "precision": "peak of", "mfu": "MFU",
}  # fmt: skip
gpu_reports = results.find("gpu_report-gpu.json")
for path in gpu_reports:
    r = results.load(path)
    rows = [[row[k] for k in COLUMNS] for row in r["rows"] if "images_per_s" in row]
    display(
        show.table(
            rows,
            list(COLUMNS.values()),
            caption=f"{path.name}: {r['command']}",
            formats={"speed-up": ".2f", "model TFLOP/s": ".1f", "MFU": ".1%"},
        )
    )
    info, peak = r["runinfo"], r["peak"] or {"name": "not in the table: no MFU"}
    measured = (
        f"Measured {info['date']} on {r['device']} (peak: {peak['name']}), "
        f"torch {info['torch']}. Degradation run: {r['degradation']['status']}."
    )
    display(show.note(measured, "note", f"Recorded run ({path.name})"))
if not gpu_reports:
    display(
        show.note(
            "No GPU result is recorded yet. On a machine with one CUDA GPU, the "
            "command above writes docs/results/gpu_report-gpu.json in under 8 "
            "minutes, and this section then shows it.",
            "info",
            "No GPU result yet",
        )
    )

# %% [markdown]
# ## References
#
# * [Goyal et al. (2017), Accurate, Large Minibatch SGD: Training ImageNet in 1
#   Hour](https://arxiv.org/abs/1706.02677): the linear scaling rule and gradual
#   warm-up.
# * [PyTorch, Getting Started with Distributed Data
#   Parallel](https://pytorch.org/tutorials/intermediate/ddp_tutorial.html) and
#   [torchrun](https://pytorch.org/docs/stable/elastic/run.html)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Goyal et al. train on 32 machines with 8 GPUs each and 32 images
# per GPU. What is the global batch, and how many steps make an ImageNet epoch?

# %%
from cnnbook.exercises import resnet_scaling as ex

display(show.solution(ex.global_batch_text()))

# %% [markdown]
# **Exercise 2.** With the linear scaling rule $\eta = 0.1 \cdot B / 256$, what
# learning rate goes with a batch of 1,024? Of 8,192? Why linear?

# %%
display(show.solution(ex.linear_scaling_text()))

# %% [markdown]
# **Exercise 3.** How many warm-up steps are 5 epochs at batch 8,192, and what
# learning rate does the engine use at the first step, halfway and at the end of
# the warm-up?

# %%
display(show.solution(ex.warmup_text()))
