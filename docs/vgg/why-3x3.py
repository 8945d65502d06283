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
            "Fewer weights need not mean fewer MACs: a weight costs one MAC per "
            "position it is used at, and early layers see the most positions.",
            "The paper found 3x3 stacks more accurate than single larger kernels; "
            "a recorded run here compares them seed by seed, matched in size or MACs.",
        ]
    )
)

# %%
import math

import torch
from IPython.display import display

from cnnbook import models, plots, results, show
from cnnbook.analysis import erf as erflib
from cnnbook.analysis.complexity import count_macs
from cnnbook.analysis.receptive_field import measure_receptive_fields, receptive_fields
from cnnbook.experiments import kernel_size as ks
from cnnbook.experiments import kernel_size_reading as reading
from cnnbook.experiments import recorded

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
    field = f"{f['receptive_field']}x{f['receptive_field']}"
    rows.append(
        (n, field, f"{f['small_coeff']} C^2", f"{f['large_coeff']} C^2", f["ratio"])
    )
display(
    show.table(
        rows,
        ["n", "receptive field", "n x (3x3)", "1 x (k x k)", "ratio"],
        formats={"ratio": ".3f"},
    )
)
two, three = ks.general_formula(2), ks.general_formula(3)
print(
    f"two 3x3 use {1 - two['ratio']:.0%} fewer weights than one 5x5; "
    f"one 7x7 needs {1 / three['ratio'] - 1:.0%} more than three 3x3"
)

# %% [markdown]
# The second printed figure is the paper's "81% more" for $7 \times 7$: it
# belongs to the three-layer case. The two-layer case saves 28%.
#
# At VGG's widths, on a $56 \times 56$ map (the size VGG-16's third block
# works at), the closed forms give:

# %%
rows = [
    (f"{r['small']} vs {r['large']}", r["channels"], r["small_params"],
     r["large_params"], r["small_macs"], r["large_macs"],
     f"{r['small_relus']} vs {r['large_relus']}")
    for r in ks.arithmetic(channels=(64, 128, 256, 512), size=56, depths=(2, 3))
]  # fmt: skip
display(
    show.table(
        rows,
        ["comparison", "C", "weights (3x3 stack)", "weights (single)",
         "MACs (3x3 stack)", "MACs (single)", "ReLUs"],
    )
)  # fmt: skip

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

# %% [markdown]
# ## 2. Receptive fields, computed and measured
#
# The receptive field of a unit is the input window it can see. Walking the
# layers in order, with kernel $k$, stride $s$ and padding $p$, three numbers
# are carried along: the field's size $r$, the jump $j$ (input pixels between
# neighbouring units, the product of the strides so far), and the centre of
# the first unit $c$:
#
# $$
# r \leftarrow r + (k-1)\,j, \qquad
# c \leftarrow c + \left(\tfrac{k-1}{2} - p\right) j, \qquad
# j \leftarrow j\,s.
# $$
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
    stack = torch.nn.Sequential(
        *[torch.nn.Conv2d(16, 16, k, padding=k // 2) for k in kernels]
    )
    a, m = receptive_fields(stack)[-1], measure_receptive_fields(stack, 21)[-1]
    assert (m.height, m.width) == (a.size, a.size)
    rows.append(
        (" + ".join(f"{k}x{k}" for k in kernels), a.size, f"{m.height} x {m.width}")
    )
display(
    show.table(
        rows, ["stack", "receptive field (computed)", "non-zero gradient (measured)"]
    )
)

# %% [markdown]
# And VGG-16 (the registry's `vgg16`, which is torchvision's layout), on a
# $224 \times 224$ input:

# %%
vgg16 = models.create("vgg16")
analytic = receptive_fields(vgg16)
display(
    show.table(
        [
            (a.name, a.kind, a.kernel, a.stride, a.jump, a.start, a.size)
            for a in analytic
        ],
        ["layer", "type", "k", "s", "jump", "start", "size"],
        caption="VGG-16, computed: receptive field after each convolution and pooling",
        formats={"start": ".1f"},
    )
)

# %% [markdown]
# The measurement, layer by layer: the side of the region whose gradient is
# non-zero and the input rows it spans, for the unit at the centre of each
# layer's output, against the span the walk gives for that same unit.

# %%
measured = measure_receptive_fields(vgg16, 224)
rows = []
for a, m in zip(analytic, measured, strict=True):
    first, last = a.span(m.unit[0])
    assert (m.height, m.width) == (a.size, a.size) and m.top == first and not m.clipped
    span = f"{m.top}..{m.top + m.height - 1}"
    rows.append((a.name, m.unit[0], a.size, m.height, f"{first:g}..{last:g}", span))
headers = ["layer", "centre unit", "size (computed)", "size (measured)"]
display(
    show.table(
        rows,
        [*headers, "rows (computed)", "rows (measured)"],
        caption=f"VGG-16, measured on a 224x224 input: all {len(rows)} layers agree",
    )
)

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
# The maps are drawn in section 4, for the first stage of the networks of its
# recorded run (two $3 \times 3$ against one $5 \times 5$), averaged over its
# seeds and 64 validation patches, at initialisation and after training.
# `cnnbook.analysis.erf.effective_receptive_field(model, images, layer=...)`
# computes them for every seed.

# %% [markdown]
# ## 4. A controlled experiment
#
# `cnnbook.experiments.kernel_size` trains VGG-style networks that differ only
# in the kernels of each stage (`cnnbook.models.kernel_nets`):
#
# * **2 x 3x3**: two $3 \times 3$ convolutions per stage, each with a ReLU;
# * **1 x 5x5**: one $5 \times 5$ convolution per stage (same receptive field,
#   one ReLU), same widths;
# * **1 x 5x5, matched params**: the same, every stage narrowed by one common
#   factor until its parameter count is closest to the 3x3 network's;
# * **1 x 5x5, matched MACs**: the same, every stage widened by one common
#   factor until its multiply-accumulates per image are closest to the 3x3
#   network's.
#
# Each has four stages of widths (8, 16, 32, 32) (VGG's pattern: double,
# then keep), a 2x2 max-pool after each stage, and a global-average-pool
# plus linear head. The data are $16 \times 16$ grey patches cut from
# scikit-image's brick, grass and gravel photographs: the top of each photo
# gives the training patches and the bottom, which no training patch
# touches, the validation patches. Telling these textures apart needs
# spatial structure, not just brightness.
#
# ### What each design costs
#
# Two matched variants are needed because parameters and MACs disagree here.
# The table counts, for one $16 \times 16$ patch, the weights, the
# multiply-accumulates, and the values the convolutions write (what a layer
# moves through memory besides its arithmetic), and gives the CPU time of
# one training step per image, measured on this build's machine in one run,
# one thread, the variants taking turns (the process's CPU time, so other
# programs on the machine do not inflate it):

# %%
cfg = ks.RECORDED
bundle = ks.load_data(cfg)
classes, channels, side = len(bundle.classes), bundle.in_channels, bundle.image_size
cost = {c["variant"]: c for c in ks.costs(cfg, channels, classes, side)}
seconds = ks.cpu_seconds_per_image(cfg, channels, classes, side)
headers, rows = reading.cost_table(cost, seconds)
caption = (
    f"{side}x{side} patch, {channels} channel, {classes} classes; "
    f"time: training step, batch 128, {cfg.threads} thread"
)
display(show.table(rows, headers, caption))

# %% [markdown]
# Where the counts part ways shows stage by stage, for the two networks of
# equal widths:

# %%
stack, single = cost[ks.REFERENCE], cost["1 x 5x5"]
stages = zip(stack["stages"], single["stages"], strict=True)
display(
    show.table(
        [
            (i + 1, f"{s3['side']}x{s3['side']}", s3["params"], s5["params"],
             s3["macs"], s5["macs"])
            for i, (s3, s5) in enumerate(stages)
        ],
        ["stage", "maps", "params 2 x 3x3", "params 1 x 5x5", "MACs 2 x 3x3",
         "MACs 1 x 5x5"],
        "Per stage, convolutions only (the head is the same for both)",
    )
)  # fmt: skip
why = [reading.costs_explained(cost, channels), reading.time_explained(cost, seconds)]
display(show.note(" ".join(why), "info", "Parameters, MACs and time"))

# %% [markdown]
# ### The recorded run
#
# Whether the designs differ in accuracy takes more than a build's seconds. The
# recorded run trains all four networks with eight seeds each (0 to 7) on all
# 8,883 training patches for 24 epochs (1,680 steps), with the quick preset's
# recipe: Adam at $3 \times 10^{-3}$, a cosine schedule, batch 128, random
# horizontal and vertical flips. The scale was fixed before the run from what
# two CPU cores train in about 20 minutes. A seed fixes the order of the
# batches and their flips, so the four networks of one seed see the same data
# in the same order: the comparison is made seed by seed. The run is made by:
#
# ```bash
# cnnbook results record kernel_size --seeds 0 1 2 3 4 5 6 7 --jobs 2
# ```
#
# The project's tests check the stored file: it must have been made by today's
# code, and replaying its first epoch must give its first recorded point.

# %%
stored = results.by_device("kernel_size")
if not stored:
    display(
        show.note(
            "No recorded run is stored with this build.", "warning", "Recorded run"
        )
    )
for device, run in sorted(stored.items()):
    # runinfo describes the launching process; the rows say what each network used
    threads = max(r["threads"] for r in run["rows"])
    each = f" Each network trained on {threads} thread{'s' if threads > 1 else ''}."
    display(
        show.note(recorded.provenance(run) + each, "note", f"Recorded run ({device})")
    )

for run in stored.values():
    reading.plot_curves(run)
    reading.plot_by_seed(run)

# %%
for device, run in sorted(stored.items()):
    labels = {name: label for label, name in ks.NETWORKS.items()}
    summary = recorded.summary(run, ("final_val_error", "final_train_error"))
    display(
        show.table(
            [
                (labels[r["model"]], r["seeds"], 100 * r["final_val_error"]["mean"],
                 100 * r["final_val_error"]["sd"],
                 f"{100 * r['final_val_error']['min']:.1f} .. "
                 f"{100 * r['final_val_error']['max']:.1f}",
                 100 * r["final_train_error"]["mean"])
                for r in summary
            ],
            ["variant", "seeds", "val error (%)", "sd", "range", "train error (%)"],
            f"Final errors after {run['setup']['epochs']} epochs ({device}), "
            f"mean over seeds {sorted({r['seed'] for r in run['rows']})}",
            formats=dict.fromkeys(["val error (%)", "sd", "train error (%)"], ".2f"),
        )
    )  # fmt: skip
    pairs = ks.paired(run["rows"])
    display(
        show.table(
            [
                (p["variant"], 100 * p["mean"], 100 * p["sd"],
                 f"{p['ahead']} / {p['behind']} / {p['ties']}", p["p"])
                for p in pairs
            ],
            ["variant", "val error minus 2 x 3x3 (points)", "sd",
             "seeds: 3x3 better / worse / tied", "paired t-test p"],
            f"Against {ks.REFERENCE}, seed by seed "
            f"(seeds {pairs[0]['seeds']}, {device})",
            formats={"val error minus 2 x 3x3 (points)": "+.2f", "sd": ".2f",
                     "paired t-test p": ".2g"},
        )
    )  # fmt: skip
    text = reading.read_run(run, len(bundle.val))
    display(show.note(text, "info", f"Reading of the recorded run ({device})"))

# %% [markdown]
# The effective receptive fields of the first stage (the output of its last
# convolution, before the ReLU), mean of the recorded run's seeds, at
# initialisation and after its 24 epochs:

# %%
for device, run in sorted(stored.items()):
    pairs = [(v, w) for v in (ks.REFERENCE, "1 x 5x5") for w in ("init", "trained")]
    maps = {pair: torch.tensor(run["erf"][pair[0]][pair[1]]) for pair in pairs}
    plots.heatmaps(
        [erflib.crop(m, 9).numpy() for m in maps.values()],
        [f"{v}, {'initialised' if w == 'init' else 'trained'}" for v, w in maps],
        "share of |d centre / d input|",
        ncols=2,
        title="First stage, central 9x9 pixels, one colour scale",
    )
    display(
        show.table(
            [
                (v, w, int((m > 0).sum()), erflib.mass_within(m, 3), erflib.radius(m))
                for (v, w), m in maps.items()
            ],
            ["first stage", "weights", "pixels reached", "share in centre 3x3",
             "rms radius (px)"],
            f"Mean over seeds {sorted({r['seed'] for r in run['rows']})} ({device})",
            formats={"share in centre 3x3": ".2f", "rms radius (px)": ".2f"},
        )
    )  # fmt: skip
print(
    f"a flat 5x5 map would put {9 / 25:.2f} of its mass in the centre 3x3 and have "
    f"radius {math.sqrt(24 / 6):.2f}"
)

# %% [markdown]
# Both first stages reach exactly 25 pixels, the $5 \times 5$ field. How the
# weight is spread within it is what the maps and the table compare.
#
# ### The live check
#
# The recorded run takes minutes of computing (its wall time is in the box
# above); while this page builds, the same code trains seed 0 of each network
# for the recorded run's first epoch (the same patches, the same schedule,
# stopped after its first pass):

# %%
steps = ks.steps_per_epoch(bundle, cfg)
live = {
    r["variant"]: r for r in ks.record(seeds=(0,), cfg=cfg, max_steps=steps)["rows"]
}
first = {}
if "cpu" in stored:
    first = {r["variant"]: r for r in stored["cpu"]["rows"] if r["seed"] == 0}
display(
    show.table(
        [
            (v, r["train_loss"][0], first[v]["train_loss"][0] if v in first else None,
             100 * r["val_error"][0],
             100 * first[v]["val_error"][0] if v in first else None)
            for v, r in live.items()
        ],
        ["variant", "training loss, live", "training loss, recorded",
         "val error (%), live", "val error (%), recorded"],
        f"Seed 0, first epoch ({steps} steps); recorded: the first point of the stored "
        "curves",
        formats={"training loss, live": ".6f", "training loss, recorded": ".6f"},
    )
)  # fmt: skip
if first:
    gap = max(
        abs(r["train_loss"][0] / first[v]["train_loss"][0] - 1) for v, r in live.items()
    )
    same = (
        "the same" if gap <= 1e-4 else f"not the same (largest relative gap {gap:.1e})"
    )
    relation = (
        f"The live first epoch and the recorded one are {same} to four digits: the "
        "live check repeats the start of the recorded run, so it shows that the code "
        "that made the stored numbers still runs as it did; the comparison of the "
        "designs rests on the recorded run's 24 epochs and eight seeds."
    )
    display(show.note(relation, "note", "Live check and recorded run"))

# %% [markdown]
# ## 5. At scale, on a GPU
#
# The same script trains the four designs with VGG net B's widths (64, 128,
# 256, 512, 512, five stages, with batch norm) on CIFAR-10, which is the
# closest this book comes to the paper's comparison. It downloads CIFAR-10
# (about 170 MB) when asked:

# %%
display(show.tabs({
    "CPU (one seed)": "python examples/kernel_size_experiment.py",
    "GPU (CIFAR-10)": "python examples/kernel_size_experiment.py --data cifar10 "
                      "--download --device cuda --out kernel_size_cifar10.json "
                      "--plot kernel_size_cifar10.png",
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
for label in ks.NETWORKS:
    macs = count_macs(ks.build(cifar, label, 3, 10), (1, 3, 32, 32))
    train = ks.training_estimate(cifar, 50_000, macs, assumed_macs_per_s)
    evals = macs * 10_000 * cifar.epochs / assumed_macs_per_s
    per_variant = (train + evals) * len(cifar.seeds)
    total += per_variant
    rows.append((label, macs, (train + evals) / cifar.epochs, per_variant / 60))
runs = f"{len(cifar.seeds)} seeds x {cifar.epochs} epochs"
display(
    show.table(
        rows,
        [
            "variant",
            "MACs / image",
            "s / epoch (estimate)",
            f"min for {runs} (estimate)",
        ],
        formats=[None, None, ".1f", ".1f"],
    )
)
estimate = (
    f"About {total / 60:.0f} minutes of pure compute in all; expect up to 2-3 times "
    "that in practice (per-step overhead, the data pipeline)."
)
display(show.note(estimate, "info", "Estimated total"))

# %% [markdown]
# ## What the experiment shows, and what it cannot
#
# What it **shows**: on the same data, with the same recipe and the same seeds,
# how networks that differ only in kernel choice compare at this scale, with
# the parameters or the MACs held equal, and what each design costs. The
# arithmetic of sections 1 and 2 is exact and holds at any scale.
#
# What it **cannot show**: anything about ImageNet. The networks here have four
# or eight convolutions and tens of thousands of weights, the task is three grey
# textures at $16 \times 16$ pixels, and one seed more or less on 768
# validation patches moves an error by a fraction of a point; eight seeds can
# show a difference of about that size, not a smaller one. A gap at this scale
# can vanish or reverse with more data, longer training or other widths. The
# VGG paper's result is the paper's: replacing each pair of $3 \times 3$ layers
# in net B by one $5 \times 5$ layer raised the top-1 error by 7% on ImageNet
# (section 4.1). This page neither reproduces nor refutes that figure; the
# CIFAR-10 run above is a closer test. The CPU times, finally, are for one
# thread on the machine that built the page; on a GPU, layers this small are
# set by the cost of launching each one more than by either count.

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale
#   Image Recognition](https://arxiv.org/abs/1409.1556)
# * [Luo et al. (2016), Understanding the Effective Receptive Field in Deep
#   Convolutional Neural Networks](https://arxiv.org/abs/1701.04128)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** What is the receptive field of $n$ stacked $3 \times 3$
# convolutions with stride 1, for $n = 1, \dots, 5$?

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
