# %% [markdown]
# # Residuals beyond ResNet: C3
#
# The ResNet-50 exercise this chapter grew from ends with an open question: *can
# the residual module be fused into C3?* C3 is the workhorse block of the YOLOv5
# detector. This page builds it, shows that the answer is "yes, and YOLOv5
# already does, as a switch", counts what the switch costs, and measures what it
# does in a small training run.
#
# C3 is a *cross-stage partial* (CSP) block with three convolutions:
#
# * `cv1` and `cv2`, two $1 \times 1$ convolutions, each turn the input into half
#   the output channels: two branches;
# * the first branch goes through `m`, a chain of $n$ bottlenecks
#   ($1 \times 1$ then $3 \times 3$ convolution); the second passes by untouched;
# * the two are concatenated and `cv3`, a third $1 \times 1$ convolution, mixes them.
#
# Each bottleneck of the chain takes a flag `shortcut`: with it, the bottleneck
# returns $x + F(x)$, exactly ResNet's residual form. YOLOv5 builds its backbone's
# C3 blocks with `shortcut=True` and its neck's with `shortcut=False`.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "C3 splits its input: one half runs through a chain of bottlenecks, the "
            "other passes by a 1x1; cv3 mixes the two.",
            "Each bottleneck can add its input back (shortcut=True): ResNet's "
            "residual form, already inside C3.",
            "Shortcuts cost no parameters and well under 1% of the arithmetic.",
            "YOLOv5 keeps it on in the backbone and off in the neck; ResNet's "
            "BasicBlock can replace the bottleneck.",
        ]
    )
)

# %%
import inspect

import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, display

from cnnbook import block_diagram, plots, results, show
from cnnbook.exercises import resnet_torchvision as ex
from cnnbook.experiments import c3_compare, recorded
from cnnbook.models import c3

SEEDS = (0, 1)  # the live check; the recorded run has its own seeds

# %% [markdown]
# ## The block, from the package
#
# The bottleneck: the residual is one line, and it is only taken when input and
# output shapes agree (inside C3 they always do).

# %%
print(inspect.getsource(c3.C3Bottleneck))

# %% [markdown]
# The C3 block around the chain:

# %%
print(inspect.getsource(c3.C3.forward))

# %% [markdown]
# The same block as a figure, drawn by `cnnbook.block_diagram` from the `torch.fx`
# graph of `C3(64, 64, n=2)` (as on [Residual blocks](blocks.py)): each box is one
# of YOLOv5's conv-BN-SiLU units, the chain of bottlenecks runs down the middle
# with each residual shortcut beside it, and the `cv2` branch joins it at the
# concatenation. The arrows carry the shapes for a $64 \times 16 \times 16$ input.

# %%
figure = block_diagram.figure(
    c3.C3(64, 64, n=2),
    (1, 64, 16, 16),
    "C3 block",
    "c3.C3(64, 64, n=2)",
    leaves=(c3.ConvBNAct,),  # one box per conv-BN-SiLU unit
)
HTML(figure)

# %% [markdown]
# A shape trace through `C3(64, 64, n=2)` on a $64 \times 16 \times 16$ tensor:

# %%
torch.manual_seed(0)
block = c3.C3(64, 64, n=2).eval()
x = torch.randn(1, 64, 16, 16)
with torch.no_grad():
    a = block.cv1(x)
    rows = [("input", tuple(x.shape)), ("cv1 (1x1): branch 1", tuple(a.shape))]
    for i, bottleneck in enumerate(block.m):
        a = bottleneck(a)
        rows.append((f"m[{i}] bottleneck, shortcut={bottleneck.add}", tuple(a.shape)))
    b = block.cv2(x)
    rows.append(("cv2 (1x1): branch 2", tuple(b.shape)))
    cat = torch.cat((a, b), dim=1)
    rows.append(("concatenate", tuple(cat.shape)))
    y = block.cv3(cat)
    rows.append(("cv3 (1x1)", tuple(y.shape)))
    assert torch.equal(y, block(x))
display(show.table(rows, ["step", "shape"]))

# %% [markdown]
# ## What the shortcut costs
#
# Nothing in parameters: the addition has no weights. In arithmetic it is one
# addition per element of each bottleneck's output, which MAC counters (counting
# multiply-accumulates of weighted layers) do not even see. The small classifier
# `c3_net` (a stem, then three stages of a stride-2 convolution and a C3 block)
# with one and with four bottlenecks per C3, for one input as the comparison below
# feeds it (a grey digit of $16 \times 16$ pixels, 10 classes):

# %%
setup = c3_compare.Setup()
# The prose of this page describes this setup; a changed setup must change it too.
assert (setup.data, setup.image_size) == ("mnist", 16), "update the page's description"
cost_rows = c3_compare.costs(num_classes=10, in_channels=1, image_size=setup.image_size)
display(
    show.table(
        [(r["variant"], r["params"], r["macs"]) for r in cost_rows],
        ["variant", "parameters", "MACs"],
        f"c3_net, 10 classes, one 1x{setup.image_size}x{setup.image_size} image",
    )
)

# %% [markdown]
# ## A small measured comparison
#
# Each variant is trained from the same initial weights (per seed) on the MNIST
# digits that ship with the package (a subset of the training digits, shrunk to
# $16 \times 16$ pixels, 10 classes; the settings are listed below), with SGD and
# identical settings; validation digits are held out from training. Two seeds,
# to show how much one run of a small network on small data can vary.

# %%
display(show.table(list(vars(setup).items()), ["setting", "value"]))
result = c3_compare.run(seeds=SEEDS, setup=setup)

fig, ax = plots.subplots(height=3.4)
styles = {True: "-", False: "--"}
colors = {"x1": "tab:blue", "x4": "tab:red"}
for label, options in c3_compare.SETTINGS:
    runs = [r for r in result["runs"] if r["variant"] == label]
    for i, r in enumerate(runs):
        ax.plot(
            range(1, len(r["train_loss"]) + 1),
            r["train_loss"],
            styles[options["shortcut"]],
            color=colors[label.split()[1].rstrip(",")],
            alpha=0.8,
            label=label if i == 0 else None,
        )
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend(fontsize=8)
plt.show()

summary = c3_compare.aggregate(result)
display(
    show.table(
        [
            (
                r["variant"],
                r["final_train_loss"],
                f"{100 * r['val_acc']:.1f}%",
                f"{100 * r['val_acc_min']:.1f} .. {100 * r['val_acc_max']:.1f}%",
            )
            for r in summary
        ],
        [
            "variant",
            "last-epoch training loss (mean)",
            "validation accuracy (mean)",
            "range over seeds",
        ],
        f"Mean of seeds {list(SEEDS)}",
    )
)

# %% [markdown]
# The reading of this build's numbers, written by the code:

# %%
reading = " ".join(c3_compare.read_run(result))
display(show.note(reading, "info", "Reading of this build's run"))

# %% [markdown]
# ## The recorded run
#
# The comparison above trains for seconds on 512 digits and stops while the loss
# is still falling. The recorded run trains the same four variants with the same
# code on all 4,000 shipped training digits for 20 epochs, with the rate divided
# by 10 at half and three quarters of training, and scores the 1,000 validation
# digits after every epoch. It was made once by the command in its caption and is
# stored in `docs/results/`; `cnnbook results check`, part of the project's tests,
# proves the file was made by today's code and replays its first epoch. The live
# check above shows that the code still trains; this run shows where training
# ends.

# %% tags=["hide-input"]
# The prose above describes these setups; a changed setup must change it too.
recorded_setup = c3_compare.RECORDED
assert (setup.subset, recorded_setup.subset, recorded_setup.epochs) == (512, None, 20)
stored = results.by_device("c3")
if not stored:
    display(show.note("No recorded run is stored with this build.", "warning"))
for device, run in sorted(stored.items()):
    display(show.note(recorded.provenance(run), "note", f"Recorded run ({device})"))
    steps = recorded.iterations(run)
    groups = recorded.by_model(run, "variant")
    fig, axes = plots.subplots(1, 2, height=3.4, sharey=True)
    for ax, depth in zip(axes, ("x1", "x4"), strict=True):
        for shortcut, color in ((True, "tab:blue"), (False, "tab:red")):
            label = f"C3 {depth}, {'shortcut' if shortcut else 'no shortcut'}"
            for r in groups[label]:
                ax.plot(steps, [100 * e for e in r["train_error"]], color=color, lw=0.6)
            mean = recorded.mean_curve(groups[label], "train_error")
            ax.plot(steps, [100 * e for e in mean], color=color, lw=2.2, label=label)
        for fraction in run["setup"]["decay_at"]:
            ax.axvline(fraction * steps[-1], color="grey", lw=0.8, ls=":")
        ax.set_yscale("symlog", linthresh=0.1)  # linear below 0.1%: zero is a value
        ax.set_title(f"{depth[1:]} bottleneck(s) per C3")
        ax.set_xlabel("iteration (dotted: rate divided by 10)")
        ax.legend()
    axes[0].set_ylabel("training error (%, log above 0.1)")
    plt.show()
    seeds = sorted({r["seed"] for r in run["rows"]})
    display(
        show.table(
            recorded.final_error_rows(run, "variant"),
            ("variant", *recorded.FINAL_ERROR_HEADERS[1:]),
            f"Final errors of the recorded run after {steps[-1]:,} iterations; "
            f"mean over seeds {seeds} (thin lines above: single seeds)",
            formats=[None, None, ".2f", ".2f", ".2f", ".2f", ".2f"],
        )
    )
    reading = " ".join(recorded.read_c3(run))
    display(show.note(reading, "info", "Reading of the recorded run"))

# %% [markdown]
# ## The answer
#
# Yes: the residual module fits into C3, and YOLOv5 already puts it there. The
# bottlenecks of C3's chain are residual blocks when `shortcut=True`, at no cost
# in parameters. Two things limit how much it matters. First, C3 is itself a
# partial shortcut: half of its input reaches `cv3` through `cv2` alone, whatever
# happens in the chain, so even without residuals the gradient has a short path
# around the bottlenecks. Second, the chains are short (a handful of bottlenecks
# in most YOLOv5 sizes), and the degradation problem is a problem of depth: the
# residual additions should matter more as the chain grows, which is what the
# x1 / x4 comparisons above probe; their readings say what they found. In its
# neck, where each C3 processes features concatenated from two scales, YOLOv5
# builds C3 without them.
#
# One can go further and put ResNet's own block in the chain:
# `c3.C3(..., block="resnet")` uses the package's `BasicBlock` (two $3 \times 3$
# convolutions with batch norm and ReLU, plus the identity shortcut):

# %%
torch.manual_seed(0)
yolo_chain = c3.C3(64, 64, n=1)
resnet_chain = c3.C3(64, 64, n=1, block="resnet")
chains = {"YOLOv5 bottleneck": yolo_chain, "ResNet BasicBlock": resnet_chain}
rows = [
    (name, sum(p.numel() for p in m.parameters()), type(m.m[0]).__name__)
    for name, m in chains.items()
]
display(show.table(rows, ["chain of C3(64, 64, n=1)", "parameters", "block"]))

# %% [markdown]
# ## References
#
# * [Ultralytics YOLOv5](https://github.com/ultralytics/yolov5): `C3` and
#   `Bottleneck` in `models/common.py`, the model files that set `shortcut`.
# * [He, Zhang, Ren & Sun (2015), Deep Residual Learning for Image
#   Recognition](https://arxiv.org/abs/1512.03385)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** How many parameters has `C3(64, 64, n=3)` with its shortcuts,
# and without? How many more with `block="resnet"`?

# %%
display(show.solution(ex.c3_cost_text()))

# %% [markdown]
# **Exercise 2.** For a $64 \times 32 \times 32$ input, how many additions do the
# shortcuts of `C3(64, 64, n=3)` perform, against the multiply-accumulates of its
# convolutions?

# %%
display(show.solution(ex.c3_addition_text()))

# %% [markdown]
# **Exercise 3.** How many residual additions does `c3_net` (stages of 1, 2 and 1
# bottlenecks) perform with `shortcut=True` and with `shortcut=False`? Where does
# YOLOv5 use each setting?

# %%
display(show.solution(ex.c3_net_text()))
