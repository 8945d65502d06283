# %% [markdown]
# # Slimming VGG
#
# Most of VGG-16's parameters sit in one layer, the first fully connected
# one (see [The VGG family](family.py)). A tutorial that trained
# VGG-16 on three classes of potato-leaf photos replaced the 4096-4096 head by
# a 1024-256 one, with dropout, and reported that the parameters fell from
# 134,272,835 to 40,668,995 "with almost no change in accuracy". This page
# checks both halves of that sentence: the parameter count exactly, and the
# accuracy as far as a CPU building this page in under a minute can.
#
# Four variants of VGG-16's trunk are compared:
#
# * **full**: torchvision's head, 25,088 -> 4,096 -> 4,096 -> K;
# * **slim**: the tutorial's head, 25,088 -> 1,024 -> 256 -> K, dropout 0.5;
# * **gap**: global average pooling of the last 512 channels straight into
#   one linear layer, 512 -> K (the head of most networks after VGG);
# * **slim, width x0.5**: the slim head on a trunk with half the channels in
#   every convolution, which is where the computation is.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "The first FC layer (25,088 x 4,096) holds three quarters of VGG-16.",
            "A 1024-256 head cuts VGG-16 for 3 classes from 134M to 41M parameters.",
            "Global average pooling leaves one 512 x K layer as the whole head.",
            "Heads hold the parameters; to save computation, thin the convolutions.",
        ]
    )
)

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from cnnbook import runinfo, show
from cnnbook.experiments import slimming

torch.manual_seed(0)
print(runinfo.describe(seed=0))

# %% [markdown]
# ## What the page can afford, and what that changes
#
# Training full-size VGG-16 on $224 \times 224$ images takes a GPU. Here the
# same architectures are shrunk in two ways, and each changes what the
# experiment can show:
#
# * **Width.** Every convolution has `base_width` times VGG-16's channels
#   (printed below). The heads keep their full widths (4,096, 1,024,
#   256), so relative to the trunk they are much *larger* than in the real
#   network: if a big head hurts or helps, it should show here more, not less.
# * **Input size.** The texture patches are $32 \times 32$, so the trunk's
#   last map is $1 \times 1$. The full and slim heads still receive $7 \times 7$
#   copies of it, because the adaptive average pool before the head repeats a
#   $1 \times 1$ map 49 times, exactly as torchvision's VGG does with small
#   inputs. Their first layer therefore has 49 times more weights than
#   distinct inputs, which is wasteful but trains fine.
# * **Batch norm.** The trained trunks have batch norm after every
#   convolution (the tutorial's had none). Without it, a plain 16-layer
#   network barely moves in the few optimizer steps a page build allows, and
#   every head would score near chance, which would show nothing.
#
# The data are the texture patches that ship with scikit-image: three classes
# (brick, grass, gravel), like the tutorial's three leaf classes, with
# validation patches cut from a part of each photo the training patches do
# not touch. Each variant is trained from three different random
# initialisations (seeds) for the same number of steps with Adam.

# %%
config = slimming.Config()
variants = slimming.DEFAULT_VARIANTS
print(config)
print(
    f"trained trunks: {round(64 * config.base_width)} to {round(512 * config.base_width)} channels"
)
result = slimming.run(config, variants)
d = result["data"]
print(
    f"data: {config.data}, classes {d['classes']}, {d['train']:,} training and {d['val']:,} "
    f"validation patches of {d['in_channels']}x{d['image_size']}x{d['image_size']}"
)
print(runinfo.describe(seed=0))

# %% [markdown]
# ## Size and cost of the full-size networks
#
# First the half of the claim that needs no training: the counts for the
# real, full-width VGG-16 with three classes on $224 \times 224$ RGB images,
# from the models themselves.

# %%
rows = []
full = result["rows"][0]
for r in result["rows"]:
    rows.append(
        (r["variant"], f"{r['params_224']:,}", f"{r['params_224'] / full['params_224']:.1%}",
         f"{r['macs_224'] / 1e9:.2f}", f"{r['macs_224'] / full['macs_224']:.1%}")
    )  # fmt: skip
display(show.table(rows, ["variant", "parameters", "of full", "GMACs at 224", "of full"]))
slim = next(r for r in result["rows"] if r["head"] == "slim" and r["width"] == 1.0)
print(
    f"Slim head, 3 classes: {slim['params_224']:,} parameters "
    f"(the tutorial's figure: 40,668,995; equal: {slim['params_224'] == 40_668_995})."
)
print(runinfo.describe(seed=0))

# %% [markdown]
# The slim head removes most of the parameters but almost none of the
# computation: a fully connected layer does one multiply-add per weight per
# image, while each convolution weight is used at every position of its
# feature map. So a slimmer head makes the model file smaller and training
# lighter on memory, but not inference faster. Only a thinner trunk does
# that: a convolution's MACs scale with its input channels times its output
# channels, so halving both divides them by roughly the square of two.
#
# ## Accuracy at CI scale
#
# The networks actually trained here, their size at $32 \times 32$, their
# CPU latency for one image, and their validation accuracy after
# the same training budget, per seed and as mean and standard deviation:

# %%
rows = []
for r in result["rows"]:
    rows.append(
        (r["variant"], f"{r['params']:,}", f"{r['macs'] / 1e6:.2f}", f"{r['latency_ms']:.2f}",
         ", ".join(f"{a:.3f}" for a in r["val_acc"]), f"{r['acc_mean']:.3f}", f"{r['acc_std']:.3f}",
         f"{r['train_s']:.1f}")
    )  # fmt: skip
display(
    show.table(
        rows,
        ["variant (trained)", "parameters", "MMACs", "CPU ms", "val acc per seed", "mean", "std",
         "s per run"],
        caption=f"{config.steps} Adam steps of {config.batch_size} images, lr {config.lr}",
    )
)  # fmt: skip
print(runinfo.describe(seed=0))

# %%
fig, ax = plt.subplots(figsize=(6, 3), dpi=90)
for i, r in enumerate(result["rows"]):
    ax.scatter([i] * len(r["val_acc"]), r["val_acc"], color="grey", s=14, zorder=2)
    ax.errorbar(i, r["acc_mean"], yerr=r["acc_std"], fmt="o", color="#3949ab", capsize=4, zorder=3)
ax.axhline(1 / len(d["classes"]), color="#ef5350", lw=0.8, ls="--", label="chance")
ax.set_xticks(range(len(result["rows"])))
ax.set_xticklabels([r["variant"].replace(", ", "\n") for r in result["rows"]], fontsize=8)
ax.set_ylabel("validation accuracy")
ax.set_ylim(0, 1)
ax.legend(fontsize=8)
ax.set_title("Each dot one seed; mean +- one standard deviation")
fig.tight_layout()
plt.show()

means = {r["variant"]: r["acc_mean"] for r in result["rows"]}
stds = {r["variant"]: r["acc_std"] for r in result["rows"]}
gap_ = max(means.values()) - min(means.values())
spread = max(stds.values())
verdict = (
    "smaller than the largest seed-to-seed standard deviation"
    if gap_ < spread
    else "larger than the largest seed-to-seed standard deviation"
)
print(
    f"Largest difference between variant means: {gap_:.3f}; it is {verdict} ({spread:.3f}). "
    f"With {len(config.seeds)} seeds per variant that is "
    + ("no evidence of a difference." if gap_ < spread else "a hint of a difference, not proof.")
)
print(runinfo.describe(seed=0))

# %% [markdown]
# ## What this can and cannot show
#
# **It shows** that the parameter arithmetic is right (the slim head has
# exactly the tutorial's count, the GAP head fewer still), that the head
# barely matters for the computation of the full-size network, and how the
# accuracy of these small networks after a fixed budget compares with the
# spread between seeds (the sentence under the figure is computed from the
# table, not written in advance). In the thin networks trained here the two
# 4,096-wide layers of the full head are most of the network, which is why it
# is the largest and slowest of them.
#
# **It cannot show** "no loss of accuracy" in the tutorial's setting. The
# trained networks are 16 times thinner, see $32 \times 32$ grey patches,
# train for a fraction of an epoch, and have batch norm; a handful of seeds
# resolves only differences larger than the seed-to-seed spread. The
# tutorial's own evidence was weaker still: one run per head, on a test split
# that also picked the best epoch, with a different learning rate
# ($10^{-4}$ against $5 \times 10^{-4}$) for the two heads.
#
# The same code runs at full scale. With a GPU, for instance:

# %%
display(
    show.tabs(
        {
            "CPU (this page)": "python examples/slimming_experiment.py",
            "CPU, longer": "python examples/slimming_experiment.py --steps 300 --seeds 0 1 2 3 4",
            "GPU, 224x224, full width": (
                "python examples/slimming_experiment.py --data path/to/PotatoPlants \\\n"
                "    --device cuda --image-size 224 --base-width 1 --no-batch-norm \\\n"
                "    --optimizer adam --lr 1e-4 --steps 2000 --seeds 0 1 2 --out slim.json"
            ),
            "GPU, CIFAR-10": (
                "python examples/slimming_experiment.py --data cifar10 --download --device cuda \\\n"
                "    --image-size 32 --base-width 1 --steps 3000 --out slim-cifar.json"
            ),
        }
    )
)

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image Recognition](https://arxiv.org/abs/1409.1556)
# * [Lin, Chen & Yan (2014), Network In Network](https://arxiv.org/abs/1312.4400)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** Write the parameters of the slim and GAP heads for $K$ classes in closed
# form and check them against the model.

# %%
from cnnbook.exercises import vgg_practice as ex

display(show.solution(ex.head_params_text()))

# %% [markdown]
# **Exercise 2.** What does `width_mult=0.5` do to the convolutions' parameters and MACs?

# %%
display(show.solution(ex.width_ratio_text()))

# %% [markdown]
# **Exercise 3.** Replacing the full head by the GAP head, how much do the parameters and the
# MACs fall?

# %%
display(show.solution(ex.gap_saving_text()))
