# %% [markdown]
# # The degradation problem
#
# Stacking more layers should never hurt, at least on the training set: a deeper
# network could copy a shallower one and make its extra layers identities. Yet the
# ResNet paper (He et al., 2015) found that it does hurt. On CIFAR-10 a 56-layer
# *plain* network (convolutions, batch norm and ReLUs, nothing else) ends with a
# **higher training error** than a 20-layer one. Because the training error is
# worse, this is not overfitting; it is an optimisation problem, which the paper
# calls *degradation*. Batch norm is in place, so it is not simply vanishing
# gradients either.
#
# The paper's fix is to change what the layers are asked to learn. Let $H(x)$ be
# the mapping a few stacked layers should represent. Instead of fitting $H$, they
# fit the residual $F(x) = H(x) - x$ and a shortcut adds $x$ back, so the block
# outputs $F(x) + x$. Making a block an identity now only needs $F = 0$.
#
# This page trains plain and residual networks of 20 and 56 layers with
# **identical weights** (the paper's option A shortcuts have no parameters) and
# the same seeds, twice: a *recorded run* at the paper's recipe scaled down to
# what a 2-core CPU trains in under an hour, stored with the command that made it,
# and a *live check* that runs the same code for seconds while this page builds.
# Then it looks at the networks before training, at how the gradient reaches each
# layer and at what `zero_init_residual` does, and ends with the paper's
# full-scale results and the commands that reproduce them.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "A deeper plain network can end with a higher training error than a "
            "shallower one: degradation, an optimisation problem, not overfitting.",
            "A residual block fits F(x) = H(x) - x and adds x back, so being an "
            "identity only takes F = 0.",
            "With option A shortcuts a plain net and its residual twin have the "
            "same weights; only the additions differ.",
            "A recorded run (the paper's recipe on 16x16 digits, 3 seeds) and a "
            "live check at every build train the same code; their numbers are "
            "printed from the runs, whatever they show.",
        ]
    )
)

# %%
import math

import matplotlib.pyplot as plt
import torch
from IPython.display import display

from cnnbook import data, plots, results, show
from cnnbook.analysis import signal
from cnnbook.analysis.complexity import count_params
from cnnbook.exercises import resnet as ex
from cnnbook.experiments import degradation, recorded
from cnnbook.models import create

SEEDS = (0, 1)

# %% [markdown]
# ## Twins: the same layers, with and without shortcuts
#
# The CIFAR networks of the paper have $6n + 2$ weighted layers: one $3 \times 3$
# convolution, three stages of $n$ BasicBlocks (two convolutions each) on 16, 32
# and 64 channels, and one linear layer. `cifar_plainN` is `cifar_resnetN` with
# the additions switched off:

# %%
rows = []
for depth in (20, 56):
    plain, res = create(f"cifar_plain{depth}"), create(f"cifar_resnet{depth}")
    same = list(plain.state_dict()) == list(res.state_dict())
    rows.append((depth, count_params(plain), count_params(res), same))
display(
    show.table(
        rows,
        ["depth", "plain parameters", "residual parameters", "same tensors"],
        "10 classes, width 16 (the paper's networks)",
    )
)

# %% [markdown]
# ## The recorded run: the paper's Figure 6, scaled down
#
# The paper's recipe is kept as it is: width 16, SGD at 0.1 with momentum 0.9
# and weight decay $10^{-4}$, batch 128, the rate divided by 10 at half and at
# three quarters of training (32k and 48k of 64k iterations in the paper). What
# is scaled down is the data and the length: the 4,000 training digits that ship
# with the package, at $16 \times 16$ pixels, for 32 epochs (1,024 iterations),
# with no augmentation, three seeds per network. That is what a 2-core CPU trains
# in under an hour; the settings were fixed before the run, not chosen after it.
# The figure is the paper's Figure 6 view: training error against iterations,
# plain networks on the left and residual ones on the right; thin lines are
# single seeds, thick lines their mean (the training error is counted during
# each epoch, in training mode, as the paper's curves are), dashed lines the mean
# validation error.
# `cnnbook results check`, part of the project's tests, proves the stored file
# was made by today's code and replays its first epoch.

# %%
stored = results.by_device("degradation")
if not stored:
    display(
        show.note(
            "No recorded run is stored with this build.", "warning", "Recorded run"
        )
    )
for device, run in sorted(stored.items()):
    display(show.note(recorded.provenance(run), "note", f"Recorded run ({device})"))
    display(show.table(list(run["setup"].items()), ["setting", "value"]))

# %%
COLORS = {20: "tab:blue", 56: "tab:red"}


def figure6(run):
    """Training error against iterations, plain and residual side by side."""
    groups, steps = recorded.by_model(run), recorded.iterations(run)
    fig, axes = plots.subplots(1, 2, height=3.6, sharey=True)
    for ax, kind in zip(axes, ("plain", "resnet"), strict=True):
        for depth, color in COLORS.items():
            rows = groups[f"cifar_{kind}{depth}"]
            for r in rows:
                seed = [100 * e for e in r["train_error"]]
                ax.plot(steps, seed, color=color, lw=0.6, alpha=0.5)
            mean = [100 * e for e in recorded.mean_curve(rows, "train_error")]
            ax.plot(steps, mean, color=color, lw=2.2, label=f"{depth} layers (mean)")
            val = [100 * e for e in recorded.mean_curve(rows, "val_error")]
            ax.plot(steps, val, color=color, lw=1.2, ls="--")
        for fraction in run["setup"]["decay_at"]:
            ax.axvline(fraction * steps[-1], color="grey", lw=0.8, ls=":")
        ax.set_ylim(
            0, 30
        )  # the paper's Figure 6 shows 0-20%; the first epochs start above
        ax.set_title("plain networks" if kind == "plain" else "residual networks")
        ax.set_xlabel("iteration (dotted: rate divided by 10)")
    axes[1].plot([], [], color="grey", lw=0.6, label="single seeds")
    axes[1].plot([], [], color="grey", lw=1.2, ls="--", label="validation (mean)")
    axes[1].legend(loc="center right")  # the residual panel is empty there
    axes[0].set_ylabel("error (%)")
    plt.show()


for run in stored.values():
    figure6(run)

# %%
for device, run in sorted(stored.items()):
    seeds = sorted({r["seed"] for r in run["rows"]})
    display(
        show.table(
            recorded.final_error_rows(run),
            recorded.FINAL_ERROR_HEADERS,
            f"Final errors of the recorded run ({device}) after "
            f"{recorded.iterations(run)[-1]:,} iterations; mean over seeds {seeds}",
            formats=[None, None, ".2f", ".2f", ".2f", ".2f", ".2f"],
        )
    )
    reading = " ".join(recorded.read_degradation(run))
    display(show.note(reading, "info", "Reading of the recorded run"))

# %% [markdown]
# ## The live check: the same code while this page builds
#
# The recorded run takes most of an hour on a CPU; the live check runs the same
# training code (`cnnbook.experiments.degradation`) again at every build, small
# enough for seconds: the digits at $8 \times 8$ pixels, a quarter of the
# paper's width, a subset of 640 digits, 80 SGD steps at a constant rate and
# two seeds. It shows the start of training only, where the recorded run
# shows where training ends; a change that broke the training code would show
# here at once. The curves show the mean training loss of each epoch.

# %%
setup = degradation.Setup(epochs=4)
display(
    show.table(
        [(k, v) for k, v in vars(setup).items()]
        + [("steps per epoch", setup.steps_per_epoch)],
        ["setting", "value"],
    )
)
result = degradation.run(seeds=SEEDS, setup=setup)

# %%
colors = {20: "tab:blue", 56: "tab:red"}
fig, axes = plots.subplots(1, 2, height=3.4, sharey=True)
for ax, kind in zip(axes, ("plain", "resnet"), strict=True):
    for depth in (20, 56):
        name = f"cifar_{kind}{depth}"
        runs = [r for r in result["runs"] if r["model"] == name]
        epochs = range(1, len(runs[0]["train_loss"]) + 1)
        for i, r in enumerate(runs):
            ax.plot(
                epochs,
                r["train_loss"],
                color=colors[depth],
                alpha=0.8,
                lw=1.2,
                label=f"{kind}-{depth}" if i == 0 else None,
            )
    ax.set_title("plain networks" if kind == "plain" else "residual networks")
    ax.set_xlabel(f"epoch ({setup.steps_per_epoch} steps each)")
    ax.legend()
axes[0].set_ylabel("training loss")
plt.show()

# %%
summary = degradation.aggregate(result)
rows = [
    (
        r["model"],
        r["final_train_loss"],
        f"{r['min']:.3f} .. {r['max']:.3f}",
        f"{100 * (1 - r['final_train_acc']):.1f}%",
        f"{100 * (1 - r['val_acc']):.1f}%",
    )
    for r in summary
]
display(
    show.table(
        rows,
        [
            "model",
            "last-epoch training loss (mean)",
            "range over seeds",
            "training error",
            "validation error",
        ],
        f"After {setup.epochs * setup.steps_per_epoch} steps, "
        f"mean of seeds {list(SEEDS)}",
    )
)

# %% [markdown]
# ### What this run shows
#
# The reading below is written by the code from the numbers above, so it stays
# true whatever a rebuild measures.


# %%
display(
    show.note(
        " ".join(degradation.read_run(result)), "info", "Reading of this build's run"
    )
)

# %% [markdown]
# Keep the scale in mind when reading it: 80 steps on tiny images show how
# easily each network *starts* to learn from the same initial weights, not where
# it ends; a curve that is still falling may cross another one later, which is
# why the recorded run above exists. The next two sections look at the networks
# before any step is taken, for clues to why the deep plain network is slow.
#
# ## Before training: how the gradient reaches each layer
#
# One forward and one backward pass on a batch of digits (now at the paper's
# width of 16 and at $16 \times 16$ pixels) give the norm of the loss gradient for
# every weight tensor, from the first convolution to the classifier. In the plain
# network every path from the loss to layer 1 goes through all 55 layers above
# it; in the residual network the shortcuts give it paths that skip them.

# %%
probe = data.load("mnist", seed=0, image_size=16)
x, y = probe.train.get_batch(torch.arange(64))
norms = {}
for kind in ("plain", "resnet"):
    torch.manual_seed(0)
    model = create(f"cifar_{kind}56", in_channels=1)
    norms[kind] = signal.gradient_norms(model, x, y)

fig, ax = plots.subplots(height=3.2)
for kind, color in (("plain", "tab:red"), ("resnet", "tab:green")):
    ax.semilogy(
        range(1, 57), [v for _, v in norms[kind]], color=color, label=f"{kind}-56"
    )
ax.set_xlabel("layer (1 = first convolution, 56 = classifier)")
ax.set_ylabel("gradient norm")
ax.legend()
plt.show()

rows = []
for kind in ("plain", "resnet"):
    v = [n for _, n in norms[kind]]
    rows.append((f"{kind}-56", v[0], v[27], v[54], v[0] / v[54]))
display(
    show.table(
        rows,
        ["network", "layer 1", "layer 28", "layer 55", "layer 1 / layer 55"],
        "Gradient norms at initialisation (64 digits, seed 0)",
    )
)

# %% [markdown]
# The paper argues that batch norm keeps the gradients of its plain networks
# "healthy", so degradation is not the vanishing-gradient problem. What the
# measurement above compares is how *evenly* the gradient is spread over the
# depth of the two twins at the same starting point; one learning rate serves
# all layers, so a layer whose gradient is a thousand times larger than another's
# moves a thousand times faster. The reading, written by the code:

# %%
ratio = {k: norms[k][0][1] / norms[k][54][1] for k in norms}


def spread(r):
    if r > 1:
        return f"{r:,.1f} times larger at the first layer than at the last convolution"
    return f"{1 / r:,.1f} times smaller at the first layer than at the last convolution"


evener = abs(math.log(ratio["resnet"])) < abs(math.log(ratio["plain"]))
display(
    show.note(
        f"In plain-56 the gradient norm is {spread(ratio['plain'])}; "
        f"in ResNet-56 it is {spread(ratio['resnet'])}. The shortcuts make the "
        f"spread {'smaller' if evener else 'larger'}. "
        "A deep plain network with batch norm tends to amplify gradients on their way "
        "down (Yang et al., 2019, analyse this); a residual network adds each block's "
        "contribution to an identity path instead of multiplying them.",
        "info",
        "Reading of this build's measurement",
    )
)

# %% [markdown]
# ## `zero_init_residual`: every block starts as an identity
#
# torchvision's ResNets (and this package's) take an option `zero_init_residual`,
# off by default. With `zero_init_residual=True` the
# last batch norm of every residual branch starts with scale 0, so $F(x) = 0$ and
# each block is exactly $\operatorname{relu}(x) = x$ on its (non-negative) input.
# Goyal et al. (2017) report that this helps large-batch training. One block, with
# and without it:

# %%
from cnnbook.models.resnet import BasicBlock, init_weights

xb = torch.relu(torch.randn(8, 16, 16, 16, generator=torch.Generator().manual_seed(0)))
rows = []
for zero in (False, True):
    torch.manual_seed(0)
    block = BasicBlock(16, 16)
    init_weights(block, zero_init_residual=zero)
    with torch.no_grad():
        out = block(xb)
    rows.append(
        (zero, float((out - xb).norm() / xb.norm()), bool(torch.equal(out, xb)))
    )
display(
    show.table(
        rows,
        ["zero_init_residual", "|block(x) - x| / |x|", "block(x) == x exactly"],
        "One BasicBlock(16, 16), training mode, seed 0",
    )
)

# %% [markdown]
# Across a whole ResNet-56 the effect is on the size of the signal. Each ordinary
# block adds its branch's output to the stream, so the standard deviation of the
# activations grows block after block; with zeroed branches it stays where the
# stem put it (the jumps are the two stage transitions, where option A pads
# channels with zeros):

# %%
fig, ax = plots.subplots(height=3.2)
for zero, color in ((False, "tab:orange"), (True, "tab:purple")):
    torch.manual_seed(0)
    model = create("cifar_resnet56", in_channels=1, zero_init_residual=zero)
    blocks = [b for stage in (model.layer1, model.layer2, model.layer3) for b in stage]
    with torch.no_grad():
        stds = signal.block_output_std(model, x, blocks)
    ax.plot(
        range(1, len(stds) + 1),
        stds,
        marker=".",
        color=color,
        label=f"zero_init_residual={zero}",
    )
ax.set_xlabel("block of ResNet-56 (seed 0)")
ax.set_ylabel("std of block output")
ax.legend()
plt.show()

# %% [markdown]
# ## At full scale: the paper's Table 6
#
# The paper trains on the 50,000 CIFAR-10 training images with SGD (learning rate
# 0.1, momentum 0.9, weight decay $10^{-4}$, batch 128), divides the learning rate
# by 10 at 32k and 48k iterations and stops at 64k; the only augmentation is
# 4-pixel padding, a random $32 \times 32$ crop and a horizontal flip. Its test
# errors for the residual networks (Table 6, the paper's numbers):
#
# | network | ResNet-20 | ResNet-32 | ResNet-44 | ResNet-56 | ResNet-110 |
# | --- | --- | --- | --- | --- | --- |
# | parameters (paper) | 0.27M | 0.46M | 0.66M | 0.85M | 1.7M |
# | test error (paper) | 8.75% | 7.51% | 7.17% | 6.97% | 6.43% |
#
# The package's networks have exactly 269,722, 464,154, 658,586, 853,018 and
# 1,727,962 parameters (checked in the tests). `examples/cifar_resnet.py` runs
# that recipe; with `--plain` it trains the plain twin. Its default run takes
# well under a minute on a CPU with the shipped digits; the paper's run needs a
# GPU (64k iterations of batch 128 is about 164 epochs) and downloads CIFAR-10
# (about 170 MB) the first time:

# %%
display(
    show.tabs(
        {
            "CPU (shipped digits, seconds)": (
                "python examples/cifar_resnet.py\n"
                "python examples/cifar_resnet.py --plain --depth 56"
            ),
            "GPU (CIFAR-10, the paper's recipe)": (
                "python examples/cifar_resnet.py --data cifar10 \\\n"
                "    --device cuda --depth 20\n"
                "python examples/cifar_resnet.py --data cifar10 \\\n"
                "    --device cuda --depth 56\n"
                "python examples/cifar_resnet.py --data cifar10 \\\n"
                "    --device cuda --depth 56 --plain"
            ),
        }
    )
)

# %% [markdown]
# The recorded run above is one command; on a GPU it takes minutes, and the file it
# writes (`docs/results/degradation-cuda.json`) is shown on this page beside the
# CPU one once it is stored:

# %%
# The CPU tab says what the stored CPU run took, from its file.
took = stored.get("cpu", {}).get("wall_seconds")
display(
    show.tabs(
        {
            f"CPU (the stored run: {took / 60:.0f} minutes)" if took else "CPU": (
                "cnnbook results record degradation --device cpu --jobs 2"
            ),
            "GPU": "cnnbook results record degradation --device cuda",
            "Check the stored runs": "cnnbook results check",
        }
    )
)

# %% [markdown]
# The blocks themselves are built step by step in [Residual blocks](blocks.py), and
# [Residuals beyond ResNet: C3](c3.py) follows the residual idea into YOLOv5.

# %% [markdown]
# ## References
#
# * [He, Zhang, Ren & Sun (2015), Deep Residual Learning for Image
#   Recognition](https://arxiv.org/abs/1512.03385): the degradation problem, residual
#   learning, the CIFAR networks and their schedule (section 4.2).
# * [He, Zhang, Ren & Sun (2016), Identity Mappings in Deep Residual
#   Networks](https://arxiv.org/abs/1603.05027): why a clean shortcut path matters.
# * [Goyal et al. (2017), Accurate, Large Minibatch SGD: Training ImageNet in 1
#   Hour](https://arxiv.org/abs/1706.02677): zero-initialising the last batch norm of
#   each residual branch.
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** How many parameters do Plain-56 and ResNet-56 have? Why is the
# answer the same for both?

# %%
display(show.solution(ex.twins_text(56)))

# %% [markdown]
# **Exercise 2.** The CIFAR networks have $6n + 2$ weighted layers. How many for
# $n = 9$, and where does each one sit? Check the count against the model.

# %%
display(show.solution(ex.weighted_layers_text(9)))

# %% [markdown]
# **Exercise 3.** The paper trains at 0.1 and divides the rate by 10 at 32k and 48k
# iterations (`engine.optim.paper_lr_factor`). What is the learning rate at steps
# 31,999, 32,000 and 48,000? What does ResNet-110's warm-up change?

# %%
display(show.solution(ex.paper_lr_text()))
