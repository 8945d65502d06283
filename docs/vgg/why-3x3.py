# %% [markdown]
# # Why 3x3
#
# Every convolution in VGG is $3 \times 3$. Section 2.3 of the VGG paper
# (Simonyan and Zisserman, 2015) argues for that choice, and section 4.1 tests
# it. The argument has three parts, and this page checks each one with code:
#
# 1. **Same view.** Two stacked $3 \times 3$ convolutions (no pooling between
#    them) see a $5 \times 5$ window of their input; three see $7 \times 7$.
# 2. **Fewer weights, more non-linearities.** With $C$ channels in and out, two
#    $3 \times 3$ layers have $2 \cdot 9C^2 = 18C^2$ weights against $25C^2$ for
#    one $5 \times 5$; three have $27C^2$ against $49C^2$ for one $7 \times 7$.
#    And each layer brings its own ReLU.
# 3. **Better accuracy.** The paper replaced each pair of $3 \times 3$ layers
#    of its net B by one $5 \times 5$ layer and reports that the top-1 error
#    rose by 7%.
#
# Write-ups often mix the cases up (pairing two $3 \times 3$ with $7 \times 7$,
# or quoting the $7 \times 7$ saving for the $5 \times 5$ case). Below, the
# two-layer case is always set against $5 \times 5$ and the three-layer case
# against $7 \times 7$. All numbers on this page are computed while the page is
# built.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "Two stacked 3x3 convolutions see 5x5; three see 7x7.",
            "The stack needs fewer weights: 18C^2 against 25C^2, 27C^2 against 49C^2.",
            "Each extra layer adds a ReLU, so the stack is more non-linear.",
            "The paper found 3x3 stacks more accurate than single larger kernels.",
        ]
    )
)

# %%
import math

import matplotlib.pyplot as plt
import torch
from IPython.display import display

from cnnbook import models, runinfo, show
from cnnbook.analysis import erf as erflib
from cnnbook.analysis.complexity import count_macs
from cnnbook.analysis.receptive_field import measure_receptive_fields, receptive_fields
from cnnbook.experiments import kernel_size as ks

SEED = 0
torch.manual_seed(SEED)
print(runinfo.describe(seed=SEED))

# %% [markdown]
# ## 1. Parameters, MACs and non-linearities
#
# Take $n$ stacked $3 \times 3$ convolutions, stride 1, padding 1, $C$ channels
# in and out, on an $H \times W$ map; and one convolution with the same
# receptive field, $k = 2n + 1$. Ignoring biases:
#
# | | receptive field | weights | MACs | ReLUs |
# | --- | --- | --- | --- | --- |
# | $n \times (3 \times 3)$ | $2n+1$ | $9nC^2$ | $9nC^2HW$ | $n$ |
# | $1 \times (k \times k)$ | $k = 2n+1$ | $(2n+1)^2C^2$ | $(2n+1)^2C^2HW$ | $1$ |
#
# The ratio of weights (and of MACs) is $9n/(2n+1)^2$, which falls as $n$ grows:

# %%
rows = []
for n in range(1, 6):
    f = ks.general_formula(n)
    rows.append((n, f"{f['receptive_field']}x{f['receptive_field']}",
                 f"{f['small_coeff']} C^2", f"{f['large_coeff']} C^2", f"{f['ratio']:.3f}"))  # fmt: skip
display(show.table(rows, ["n", "receptive field", "n x (3x3)", "1 x (k x k)", "ratio"]))
two, three = ks.general_formula(2), ks.general_formula(3)
print(f"two 3x3 use {1 - two['ratio']:.0%} fewer weights than one 5x5; "
      f"one 7x7 needs {1 / three['ratio'] - 1:.0%} more than three 3x3")  # fmt: skip
print(runinfo.describe(seed=SEED))

# %% [markdown]
# The second printed figure is the paper's "81% more" for $7 \times 7$: it
# belongs to the three-layer case. The two-layer case saves 28%.
#
# At VGG's widths, on a $56 \times 56$ map (the size VGG-16's third block
# works at), the closed forms give:

# %%
rows = [
    (r["small"] + " vs " + r["large"], r["channels"], r["small_params"], r["large_params"],
     r["small_macs"], r["large_macs"], f"{r['small_relus']} vs {r['large_relus']}")
    for r in ks.arithmetic(channels=(64, 128, 256, 512), size=56, depths=(2, 3))
]  # fmt: skip
display(show.table(rows, ["comparison", "C", "weights (3x3 stack)", "weights (single)",
                          "MACs (3x3 stack)", "MACs (single)", "ReLUs"]))  # fmt: skip
print(runinfo.describe(seed=SEED))

# %% [markdown]
# These are formulas, so the test suite checks them against real
# `nn.Conv2d` layers whose parameters and multiply-accumulates torchinfo
# counts. One caveat: $18C^2$ against $25C^2$ assumes $C$ channels in *and* out.
# The first convolution of a VGG block doubles the width, $C/2 \to C$; then the
# pair costs $9 \cdot \tfrac{C}{2} C + 9C^2 = 13.5C^2$ and one $5 \times 5$
# costs $25 \cdot \tfrac{C}{2} C = 12.5C^2$, so in such a block the single
# large kernel is the smaller one:

# %%
c = 128
pair = 9 * (c // 2) * c + 9 * c * c
single = 25 * (c // 2) * c
display(show.table([(f"{c // 2} -> {c} -> {c}", pair, f"{pair / c**2} C^2"),
                    (f"{c // 2} -> {c}", single, f"{single / c**2} C^2")],
                   ["layers (channels)", "weights", "per C^2"]))  # fmt: skip
print(runinfo.describe(seed=SEED))

# %% [markdown]
# ## 2. Receptive fields, computed and measured
#
# The receptive field of a unit is the input window it can see. Walking the
# layers in order, with kernel $k$, stride $s$ and padding $p$, three numbers
# are carried along: the field's size $r$, the jump $j$ (input pixels between
# neighbouring units, the product of the strides so far), and the centre of
# the first unit $c$:
#
# $$r \leftarrow r + (k-1)\,j, \qquad c \leftarrow c + \left(\tfrac{k-1}{2} - p\right) j, \qquad j \leftarrow j\,s.$$
#
# `cnnbook.analysis.receptive_field.receptive_fields` does this for any chain
# of convolutions and pools. To check the arithmetic,
# `measure_receptive_fields` backpropagates from the unit at the centre of each
# layer's output and finds the input pixels that receive a non-zero gradient.
# Done naively, that undercounts: a max-pool passes gradient only to the
# largest input of its window and a ReLU none where its input was negative.
# So the measurement runs the model's own `forward` with every convolution
# swapped for a one-channel copy with positive constant weights and every
# max-pool for an average pool of the same geometry, on an input of ones in
# float64; every gradient on a path is then positive, and non-zero exactly on
# the receptive field. First the four stacks of the argument, 16 channels
# wide, on a $21 \times 21$ input:

# %%
rows = []
for kernels in [(5,), (3, 3), (7,), (3, 3, 3)]:
    stack = torch.nn.Sequential(*[torch.nn.Conv2d(16, 16, k, padding=k // 2) for k in kernels])
    a, m = receptive_fields(stack)[-1], measure_receptive_fields(stack, 21)[-1]
    assert (m.height, m.width) == (a.size, a.size)
    rows.append((" + ".join(f"{k}x{k}" for k in kernels), a.size, f"{m.height} x {m.width}"))
display(show.table(rows, ["stack", "receptive field (computed)", "non-zero gradient (measured)"]))
print(runinfo.describe(seed=SEED))

# %% [markdown]
# And VGG-16 (the registry's `vgg16`, which is torchvision's layout), on a
# $224 \times 224$ input:

# %%
vgg16 = models.create("vgg16")
analytic = receptive_fields(vgg16)
measured = measure_receptive_fields(vgg16, 224)
rows = []
for a, m in zip(analytic, measured, strict=True):
    first, last = a.span(m.unit[0])
    rows.append((a.name, a.kind, a.kernel, a.stride, a.jump, a.start, a.size, m.height,
                 f"{first:g}..{last:g}", f"{m.top}..{m.top + m.height - 1}"))  # fmt: skip
    assert (m.height, m.width) == (a.size, a.size) and m.top == first and not m.clipped
display(show.table(rows, ["layer", "type", "k", "s", "jump", "start", "size (computed)",
                          "size (measured)", "rows (computed)", "rows (measured)"],
                   caption="VGG-16: receptive field after each convolution and pooling layer"))  # fmt: skip
print(
    f"after the last pool: {analytic[-1].size} x {analytic[-1].size} pixels; "
    f"all {len(rows)} layers agree with the measurement"
)
print(runinfo.describe(seed=SEED))

# %% [markdown]
# The field grows by $(k-1)\,j$ per layer, so a $3 \times 3$ convolution adds 2
# pixels in the first block and 32 in the last, where the jump is 16. A unit
# after the last pool sees a $212 \times 212$ window, almost the whole
# $224 \times 224$ image, although no layer has a kernel wider than 3. The
# "rows" columns show the position too: the computed span of the centre unit
# is exactly where the gradient landed.

# %% [markdown]
# ## 3. The effective receptive field
#
# Seeing a pixel is not the same as using it. Luo et al. (2016) measure the
# **effective receptive field**: the magnitude of the gradient of the centre
# unit with respect to every input pixel, averaged over inputs. (The VGG paper
# says "effective receptive field" for what is called the receptive field
# above; Luo et al.'s term is a different, weighted quantity.) A $5 \times 5$
# kernel reaches each of its 25 pixels through one weight; two $3 \times 3$
# kernels reach the centre pixel through 9 paths and a corner through one. So
# the same $5 \times 5$ field is used unevenly by the stack.
#
# The maps below are for the first stage of the networks in the experiment
# of the next section (two $3 \times 3$ against one $5 \times 5$), averaged over
# the same 3 seeds and 64 validation patches, at initialisation and after
# training. The experiment run below computes them with
# `cnnbook.analysis.erf.effective_receptive_field(model, images, layer=...)`
# for every seed, and they are drawn after its results.

# %% [markdown]
# ## 4. A controlled experiment
#
# `examples/kernel_size_experiment.py` trains three VGG-style networks that
# differ only in the kernels of each stage (`cnnbook.models.kernel_nets`):
#
# * **2 x 3x3**: two $3 \times 3$ convolutions per stage, each with a ReLU;
# * **1 x 5x5**: one $5 \times 5$ convolution per stage (same receptive field,
#   one ReLU);
# * **1 x 5x5, matched params**: the same, with every stage narrowed by one
#   common factor until its parameter count is closest to the 3x3 network's.
#
# Each has four stages of widths (8, 16, 32, 32) (VGG's pattern: double,
# then keep), a 2x2 max-pool after each stage, and a global-average-pool
# plus linear head. The data are $16 \times 16$ grey patches cut from
# scikit-image's brick, grass and gravel photographs: the top of each photo
# gives the training patches and the bottom, which no training patch
# touches, the validation patches. Telling these textures apart needs
# spatial structure, not just brightness. Every network is trained with
# the same recipe and seeds 0, 1, 2. It runs on the CPU that builds this page:

# %%
cfg = ks.preset("textures")
bundle = ks.load_data(cfg)
display(show.table(
    [("data", f"{bundle.name}: {len(bundle.train):,} training, {len(bundle.val):,} validation patches, "
              f"{bundle.image_size}x{bundle.image_size}, {bundle.in_channels} channel"),
     ("widths", str(cfg.widths)), ("seeds", str(cfg.seeds)), ("epochs", cfg.epochs),
     ("optimizer", f"{cfg.optimizer}, lr {cfg.lr:g}, {cfg.scheduler} schedule, batch {cfg.batch_size}"),
     ("batch norm", cfg.batch_norm), ("CPU threads", cfg.threads)],
    ["setting", "value"]))  # fmt: skip
result = ks.run(cfg, bundle=bundle)
print(runinfo.describe(seed=SEED))

# %%
summary = {s["variant"]: s for s in result["summary"]}
rows = [
    (s["variant"], str(tuple(s["widths"])), s["params"], s["macs"],
     f"{100 * s['acc_mean']:.1f}", f"{100 * s['acc_std']:.1f}",
     f"{100 * s['acc_min']:.1f} - {100 * s['acc_max']:.1f}", f"{s['loss_mean']:.3f}",
     f"{s['seconds_per_epoch']:.2f}")
    for s in result["summary"]
]  # fmt: skip
display(show.table(rows, ["variant", "widths", "params", "MACs / image", "val acc % (mean)",
                          "std", "min - max", "val loss", "CPU s / epoch"],
                   caption=f"Mean over seeds {list(cfg.seeds)}; time is training only, "
                           f"{result['threads']} thread(s)"))  # fmt: skip
print(runinfo.describe(seed=SEED))

# %%
fig, ax = plt.subplots(figsize=(6.4, 3.2))
for i, s in enumerate(result["summary"]):
    accs = [100 * r["val_acc"] for r in result["runs"] if r["variant"] == s["variant"]]
    ax.scatter([i] * len(accs), accs, color="C0", zorder=3, label="one seed" if i == 0 else None)
    ax.errorbar(i + 0.12, 100 * s["acc_mean"], yerr=100 * s["acc_std"], fmt="o", color="C1",
                capsize=4, label="mean +- std" if i == 0 else None)  # fmt: skip
ax.set_xticks(range(len(summary)), [f"{v}\n{summary[v]['params']:,} params" for v in summary])
ax.set_ylabel("validation accuracy (%)")
ax.set_xlim(-0.5, len(summary) - 0.5)
ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
plt.show()
print(runinfo.describe(seed=SEED))

# %% [markdown]
# And the effective receptive fields of the first stage (the output of its
# last convolution, before the ReLU), from the same runs:

# %%
fig, axes = plt.subplots(2, 2, figsize=(5.2, 5.0))
erf_rows = []
# One colour scale for all four maps (each sums to 1), so brightness compares across them.
vmax = max(
    max(map(max, result["erf"][v][w])) for v in ("2 x 3x3", "1 x 5x5") for w in ("init", "trained")
)
for i, label in enumerate(["2 x 3x3", "1 x 5x5"]):
    for j, when in enumerate(["init", "trained"]):
        m = torch.tensor(result["erf"][label][when])
        axes[i, j].imshow(erflib.crop(m, 9).numpy(), cmap="magma", vmin=0, vmax=vmax)
        axes[i, j].set_title(
            f"{label}, {'initialised' if when == 'init' else 'trained'}", fontsize=9
        )
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        erf_rows.append((label, when, int((m > 0).sum()), f"{erflib.mass_within(m, 3):.2f}",
                         f"{erflib.radius(m):.2f}"))  # fmt: skip
fig.suptitle("|d centre unit / d input|, central 9x9 pixels, one colour scale", fontsize=9)
fig.tight_layout()
plt.show()
display(show.table(erf_rows, ["first stage", "weights", "pixels reached", "share in centre 3x3",
                              "rms radius (px)"]))  # fmt: skip
print(
    f"a flat 5x5 map would put {9 / 25:.2f} of its mass in the centre 3x3 and have radius "
    f"{math.sqrt(24 / 6):.2f}"
)
print(runinfo.describe(seed=SEED))

# %% [markdown]
# Both first stages reach exactly 25 pixels, the $5 \times 5$ field. How the
# weight is spread within it is what the maps and the table compare.

# %% [markdown]
# ## 5. At scale, on a GPU
#
# The same script trains the three designs with VGG net B's widths (64, 128,
# 256, 512, 512, five stages, with batch norm) on CIFAR-10, which is the
# closest this book comes to the paper's comparison. It downloads CIFAR-10
# (about 170 MB) when asked:

# %%
display(show.tabs({
    "CPU (this page)": "python examples/kernel_size_experiment.py",
    "GPU (CIFAR-10)": "python examples/kernel_size_experiment.py --data cifar10 --download "
                      "--device cuda --out kernel_size_cifar10.json --plot kernel_size_cifar10.png",
}))  # fmt: skip

# %% [markdown]
# How long that takes has **not** been measured: no GPU built this page. The
# estimate below is arithmetic: a training step costs about three forward
# passes, so an epoch costs $3 \times \text{MACs per image} \times 50{,}000$
# multiply-accumulates, plus one forward pass over the 10,000 test images. The
# throughput is an assumption, 10 tera-MACs per second, roughly what a
# data-centre GPU sustains in mixed precision on layers this small (its peak
# is far higher, but $32 \times 32$ images at batch 128 do not reach it).

# %%
cifar = ks.preset("cifar10")
assumed_macs_per_s = 10e12
rows, total = [], 0.0
for label, name in ks.NETWORKS.items():
    net = models.create(name, num_classes=10, in_channels=3, widths=cifar.widths, batch_norm=True)
    macs = count_macs(net, (1, 3, 32, 32))
    train = ks.training_estimate(cifar, 50_000, macs, assumed_macs_per_s)
    evals = macs * 10_000 * cifar.epochs / assumed_macs_per_s
    per_variant = (train + evals) * len(cifar.seeds)
    total += per_variant
    rows.append((label, macs, f"{(train + evals) / cifar.epochs:.1f}", f"{per_variant / 60:.1f}"))
display(show.table(rows, ["variant", "MACs / image", "s / epoch (estimate)",
                          f"min for {len(cifar.seeds)} seeds x {cifar.epochs} epochs (estimate)"]))  # fmt: skip
print(
    f"estimated total: about {total / 60:.0f} minutes of pure compute; expect up to 2-3 times "
    "that in practice (per-step overhead, the data pipeline)"
)
print(runinfo.describe(seed=SEED))

# %% [markdown]
# ## What the small experiment shows, and what it cannot

# %%
a, b, m = summary["2 x 3x3"], summary["1 x 5x5"], summary["1 x 5x5, matched params"]
spread = 100 * max(a["acc_std"], b["acc_std"], m["acc_std"])


def gap(other):
    d = 100 * (a["acc_mean"] - other["acc_mean"])
    if d == 0:
        return "level with it", 0.0
    return f"{'ahead' if d > 0 else 'behind'} by {abs(d):.1f} points", abs(d)


vs_b, d_b = gap(b)
vs_m, d_m = gap(m)
within = sum(d <= 2 * spread for d in (d_b, d_m))
verdict = {
    2: "both gaps are within twice that, so three seeds cannot separate the designs with confidence",
    1: "one gap is within twice that and one is beyond it",
    0: "both gaps are beyond twice that",
}[within]
text = (
    f"Measured on this build ({len(cfg.seeds)} seeds each): two 3x3 per stage reached "
    f"{100 * a['acc_mean']:.1f}% mean validation accuracy (std {100 * a['acc_std']:.1f}), one 5x5 "
    f"{100 * b['acc_mean']:.1f}% (std {100 * b['acc_std']:.1f}), and one 5x5 with matched "
    f"parameters {100 * m['acc_mean']:.1f}% (std {100 * m['acc_std']:.1f}). The 3x3 stack is "
    f"{vs_b} against the 5x5 network and {vs_m} against the matched one. The largest "
    f"seed-to-seed standard deviation is {spread:.1f} points; {verdict} (a rough yardstick, "
    "not a significance test)."
)
display(show.note(text, "info", "Result"))
print(runinfo.describe(seed=SEED))

# %% [markdown]
# What it **shows**: on the same data, with the same recipe and seeds, how
# networks that differ only in kernel choice compare at this scale, next to
# the parameters, MACs and CPU time each design costs. The arithmetic of
# sections 1 and 2 is exact and holds at any scale.
#
# What it **cannot show**: anything about ImageNet. The networks here have
# four or eight convolutions and tens of thousands of weights, the task is
# three grey textures at $16 \times 16$ pixels, training lasts a few epochs,
# and three seeds give a rough spread, not a confidence interval. A gap of a
# point or two at this scale can vanish or reverse with more data, longer
# training or other widths. The VGG paper's result is the paper's: replacing
# each pair of $3 \times 3$ layers in net B by one $5 \times 5$ layer raised
# the top-1 error by 7% on ImageNet (section 4.1). This page neither
# reproduces nor refutes that figure; the CIFAR-10 run above is a closer
# test. The CPU times, finally, are for one thread on the machine that
# built the page; with layers this small they follow per-layer overheads as
# much as MACs.

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image Recognition](https://arxiv.org/abs/1409.1556)
# * [Luo et al. (2016), Understanding the Effective Receptive Field in Deep Convolutional Neural Networks](https://arxiv.org/abs/1701.04128)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** What is the receptive field of $n$ stacked $3 \times 3$ convolutions with
# stride 1, for $n = 1, \dots, 5$?

# %%
from cnnbook.exercises import vgg_arch as ex

display(show.solution(ex.stacked_fields_text()))

# %% [markdown]
# **Exercise 2.** With $C$ channels in and out, compare the weights of two stacked
# $3 \times 3$ convolutions and one $5 \times 5$ convolution.

# %%
display(show.solution(ex.two_vs_five_text()))

# %% [markdown]
# **Exercise 3.** Same question for three stacked $3 \times 3$ convolutions against one
# $7 \times 7$ convolution. What else does the stack bring?

# %%
display(show.solution(ex.three_vs_seven_text()))
