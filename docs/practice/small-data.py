# %% [markdown]
# # Small data and transfer learning
#
# The ResNet-50 tutorial this book grew from trains on a few hundred bird photos
# of four species, from scratch, and logs a test accuracy that jumps around from
# one epoch to the next: it falls sharply between two epochs, more than doubles
# in the next, and keeps wobbling by several points to the end. Nothing is broken. This
# page reproduces the effect on the package's own small data, explains where it
# comes from, measures what starting from a pretrained network changes, and ends
# with the route a real project takes: `--weights`, torchvision's ImageNet
# weights with a new head.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "On a few dozen validation images one image is several points of "
            "accuracy, so scores move by whole images from epoch to epoch.",
            "Batch norm estimates its statistics from small batches while the "
            "weights still move; the network from scratch knows only the few "
            "images it saw.",
            "A network pretrained on other data and fine-tuned with a new head "
            "starts from features that already work; how much that steadies the "
            "curve is measured below, not assumed.",
            "The real route: cnnbook train --weights IMAGENET1K_V1 (optionally "
            "--freeze-backbone) loads torchvision's weights and replaces the head.",
        ]
    )
)

# %%
import statistics

import matplotlib.pyplot as plt
import torch
from IPython.display import display

from cnnbook import models, plots, pretrained, show
from cnnbook.exercises import small_data as ex
from cnnbook.experiments import small_data

SEEDS = (0, 1, 2)

# %% [markdown]
# ## A ResNet from scratch on a few dozen images
#
# The small task: tell brick, grass and gravel apart from grey patches cut out of
# three photos (the `textures` data that ships with the package). The training
# set is a few dozen patches from the upper part of each photo; the validation
# set is a few dozen patches from a separate strip at the bottom, so no pixel is
# shared. The network is the paper's 20-layer CIFAR ResNet at half its width;
# the recipe copies the tutorial's spirit: Adam, a constant rate, batches of 8.
# Every setting:

# %%
setup = small_data.Setup()
# The prose of this page describes this setup; a changed setup must change it too.
described = (setup.model, setup.base_channels, setup.tiny_data, setup.pretrain_data)
assert described == ("cifar_resnet20", 8, "textures", "mnist"), "update the prose"
assert (setup.optimizer, setup.batch_size) == (
    "adam",
    8,
)  # a constant rate: fit's default
display(show.table(list(vars(setup).items()), ["setting", "value"]))

# %% [markdown]
# Each seed sets the initial weights, the order of the batches and the random
# flips; the images are the same for every seed. The same function also trains
# the second start used further down (pretrained on digits, then fine-tuned), so
# both are run here, three seeds each.

# %%
result = small_data.run(seeds=SEEDS, setup=setup)
n_train, n_val = result["n_train"], result["n_val"]
print(f"{n_train} training and {n_val} validation images, classes {result['classes']}")


def curves(ax, start, color):
    """Each seed's validation accuracy (thin) and their mean (thick)."""
    runs = [r for r in result["runs"] if r["start"] == start]
    epochs = range(1, len(runs[0]["val_acc"]) + 1)
    for i, r in enumerate(runs):
        acc = [100 * a for a in r["val_acc"]]
        label = "one seed" if i == 0 else None
        ax.plot(epochs, acc, color=color, lw=0.8, alpha=0.6, label=label)
    per_epoch = zip(*(r["val_acc"] for r in runs), strict=True)
    mean = [100 * statistics.fmean(a) for a in per_epoch]
    ax.plot(epochs, mean, color=color, lw=2.5, label=f"{start}: mean of {len(runs)}")
    ax.axvspan(
        len(mean) - setup.last_epochs + 0.5, len(mean) + 0.5, color="0.5", alpha=0.1
    )
    ax.set_xlabel("epoch")
    ax.legend(loc="lower right", fontsize=8)


fig, axes = plots.subplots(1, 2, height=3.2, sharey=True)
curves(axes[0], "from scratch", "tab:red")
curves(axes[1], "pretrained", "tab:blue")
axes[0].set_ylabel("validation accuracy (%)")
axes[0].set_title("from scratch", fontsize=10)
axes[1].set_title("pretrained on digits, fine-tuned", fontsize=10)
plt.show()

# %% [markdown]
# Thin lines are single seeds, thick lines their mean; the shaded epochs are the
# window the swings are measured over below. The left panel is this page's version
# of the tutorial's curve: the score climbs, then wobbles instead of settling.

# %% [markdown]
# ## Why it swings
#
# **A tiny validation set.** Accuracy on $n$ images moves in steps of $100/n$
# points. If the network gets each image right with probability $p$, the score on
# $n$ images has a standard deviation of $100\sqrt{p(1-p)/n}$ points, from which
# images it happens to get right alone, with no change in how good it is:

# %%
final = statistics.fmean(r["val_acc"][-1] for r in result["runs"])
sizes = {"this page": n_val, "the tutorial's test set": ex.bird_split().test}
rows = [(name, n, 100 / n, ex.binomial_sd(final, n)) for name, n in sizes.items()]
display(
    show.table(
        rows,
        ["validation set", "images", "one image (points)", "noise at p (points)"],
        f"p = {final:.2f}, the mean final accuracy of all runs on this page",
        formats={"one image (points)": ".1f", "noise at p (points)": ".1f"},
    )
)

# %% [markdown]
# **Batch norm with small batches.** During training each batch-norm layer
# normalises with the mean and variance of the current batch of 8 images and
# keeps a running average of them for evaluation. Both are estimates from few
# images, taken while the weights still change. To see what the running average
# costs at the end, each final network is scored a second time with statistics
# computed exactly, from all training images at once under the final weights
# (`small_data.exact_bn_acc`):

# %%
bn_rows = []
for start in small_data.STARTS:
    runs = [r for r in result["runs"] if r["start"] == start]
    bn_rows.append(
        (
            start,
            100 * statistics.fmean(r["val_acc"][-1] for r in runs),
            100 * statistics.fmean(r["val_acc_exact_bn"] for r in runs),
        )
    )
display(
    show.table(
        bn_rows,
        ["start", "running statistics (%)", "exact statistics (%)"],
        f"Final validation accuracy, mean of seeds {list(SEEDS)}",
        formats=[None, ".1f", ".1f"],
    )
)
gap = {start: exact - running for start, running, exact in bn_rows}
display(
    show.note(
        f"Exact statistics change the final score by {gap['from scratch']:+.1f} "
        f"points from scratch and by {gap['pretrained']:+.1f} after pretraining.",
        "info",
        "This build",
    )
)

# %% [markdown]
# **No pretraining.** A network from scratch starts from random filters and
# knows only the few dozen images it is shown; every step on a batch of 8 moves
# weights that nothing else pins down. The tutorial's ResNet-50 has tens of
# millions of parameters for a few hundred photos (exercise 4 counts them): far
# more freedom than data.

# %% [markdown]
# ## Starting from a pretrained network
#
# The same network is first trained on the shipped MNIST digits (a larger,
# different task: ten classes of handwritten digits), once. Its classifier head
# (the last linear layer, ten outputs) is then replaced by a fresh one with three
# outputs, and everything trains on the textures exactly as before: same images,
# same recipe, same seeds. Only the starting weights differ.
# `pretrained.load_backbone` copies every tensor but the head's:

# %%
display(show.source(pretrained.load_backbone))
print(f"pretraining: {100 * result['pretrain_val_acc']:.1f}% on held-out digits")

# %% [markdown]
# The comparison over the shaded window: *range* is highest minus lowest score of
# a run in the window, *step* the mean size of an epoch-to-epoch change (both
# averaged over seeds), *largest fall* the biggest one-epoch drop of any seed; the
# last two columns are the final accuracy's mean and its spread over seeds.

# %%
summary = small_data.summary(result)
display(
    show.table(
        [
            (
                r["start"],
                100 * r["range"],
                100 * r["step"],
                100 * r["drop"],
                100 * r["final"],
                f"{100 * r['final_min']:.1f} .. {100 * r['final_max']:.1f}",
            )
            for r in summary
        ],
        [
            "start",
            "range (points)",
            "step (points)",
            "largest fall (points)",
            "final (%)",
            "final over seeds (%)",
        ],
        f"Last {setup.last_epochs} epochs of {setup.epochs}, seeds {list(SEEDS)}",
        formats=[None, ".1f", ".1f", ".1f", ".1f", None],
    )
)
reading = " ".join(small_data.read_run(result))
display(show.note(reading, "info", "Reading of this build's run"))

# %% [markdown]
# Three seeds of a small network are a small sample: read the differences
# against the size of one validation image and the noise in the table above
# before calling them an effect. Digits and textures also have little in common
# beyond edges and strokes; pretraining pays most when the first task resembles
# the second, which is why ImageNet, with a thousand classes of photos, is the
# usual starting point for photos of birds.

# %% [markdown]
# ## The real route: ImageNet weights with `--weights`
#
# `cnnbook train` and `examples/train.py` take torchvision's weights by name and
# swap the head for the number of classes of the data. With `--freeze-backbone`
# only the head trains: the rest keeps its weights and its batch-norm statistics.
# For the tutorial's bird photos, in a folder with one sub-folder per species:
#
# ```bash
# cnnbook train --model resnet18 --weights IMAGENET1K_V1 --freeze-backbone \
#     --data path/to/bird_photos --image-size 224 --optimizer adam --lr 1e-3 --epochs 5
# cnnbook train --model resnet50 --weights DEFAULT --data path/to/bird_photos \
#     --image-size 224 --optimizer adam --lr 1e-4 --epochs 20 --device cuda
# ```
#
# The first run downloads the weights once into torch's hub cache
# (`~/.cache/torch/hub/checkpoints`, or `$TORCH_HOME/hub/checkpoints`); offline and
# without that file, the command stops with one sentence that names the file and
# where to put it. A misspelt name gets the list of valid ones. Grey images
# (MNIST, the textures) are repeated into three channels and every image is
# normalised with ImageNet's statistics, as the weights expect. The freezing:

# %%
display(show.source(pretrained.freeze_backbone))
r18 = ex.head_share("resnet18", classes=len(result["classes"]))
with torch.device("meta"):  # shapes only: no memory, no initialisation
    head = pretrained.head_name(models.create("resnet18"))
print(
    f"resnet18 for {r18.classes} classes: {r18.total:,} parameters, "
    f"{r18.head:,} of them in its head, {head!r}"
)

# %% [markdown]
# ## References
#
# * [He, Zhang, Ren & Sun (2015), Deep Residual Learning for Image
#   Recognition](https://arxiv.org/abs/1512.03385)
# * [Ioffe & Szegedy (2015), Batch Normalization](https://arxiv.org/abs/1502.03167)
# * [Yosinski, Clune, Bengio & Lipson (2014), How transferable are features in
#   deep neural networks?](https://arxiv.org/abs/1411.1792)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** The tutorial splits its photos 80/20 with `int(0.8 * total)`
# for training. How many points of test accuracy is one photo? How many photos
# change their answer in its worst one-epoch fall, and how much does the score
# move late in training, counted in photos?

# %%
display(show.solution(ex.bird_split_text()))

# %% [markdown]
# **Exercise 2.** A network gets each image right with probability 0.75. What is
# the standard deviation of its accuracy measured on 48 images, and on the
# tutorial's 113? How many images would bring it down to one point?

# %%
display(show.solution(ex.noise_text()))

# %% [markdown]
# **Exercise 3.** Batch norm updates its running statistics with momentum 0.1:
# after each batch, 10% new estimate, 90% old average. What share of the running
# statistics comes from the last epoch on this page (its training images in
# batches of 8), and in the tutorial (its training photos in batches of 8)?

# %%
display(show.solution(ex.bn_memory_text(n_train, setup.batch_size)))

# %% [markdown]
# **Exercise 4.** How many parameters train with `--freeze-backbone` for
# ResNet-18 and ResNet-50 on the tutorial's four species, against all of them?

# %%
display(show.solution(ex.freeze_text()))
