# %% [markdown]
# # Training a VGG
#
# Most VGG tutorials end with the same forty lines: an `ImageFolder`, a
# `Resize(224)` and ImageNet normalisation, `random_split` 80/20, a
# `train()` and a `test()` function, Adam at $10^{-4}$, one log line per
# epoch, a `copy.deepcopy` of the best model, and `torch.save` of a state dict.
# Those lines work, but a few details decide whether the numbers they print
# can be trusted: which images the statistics come from, whether validation
# sees augmented images, which model ends up saved as "best", and whether a
# crashed run can continue.
#
# This page builds the whole pipeline on data that ships with scikit-image,
# trains a small VGG on the CPU that builds the page, and then looks at what
# changes on a GPU and at $32 \times 32$ input.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "Normalisation statistics come from the training images only.",
            "Augment the training images, never the validation or test ones.",
            "On small data a network over-fits: keep the checkpoint with the best "
            "validation accuracy (rarely the last), and the last one to resume.",
            "On a GPU the same command runs with a bigger batch and learning rate.",
        ]
    )
)

# %%
import dataclasses
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import skimage.data
import torch
from IPython.display import display
from PIL import Image

from cnnbook import data, engine, models, plots, show
from cnnbook.analysis import complexity, overfitting

SEED = 0

# %% [markdown]
# ## The data: three textures, split by region
#
# scikit-image ships $512 \times 512$ grey photos of brick, grass and gravel.
# `data.load("textures")` cuts $32 \times 32$ patches from them: the top three
# quarters of each photo give the training patches, the bottom quarter the
# validation patches. Overlapping training windows are fine (they are extra
# views of the training region), but a validation patch cut from the same
# region would share pixels with training patches, and the validation score
# would then reward memory instead of generalisation.

# %%
photos = [getattr(skimage.data, name)() for name in data.TEXTURES]
fig = plots.images(
    photos, [f"{n}: train above the line" for n in data.TEXTURES], gray=True
)
for ax in fig.axes:
    ax.axhline(384, color=plots.PALETTE[3], lw=2)  # validation patches come from below
plt.show()

# %%
bundle = data.load("textures", seed=SEED)
counts_train = data.class_counts(bundle.train, 3)
counts_val = data.class_counts(bundle.val, 3)
display(
    show.table(
        [
            (c, a, b)
            for c, a, b in zip(bundle.classes, counts_train, counts_val, strict=True)
        ],
        ["class", "training patches", "validation patches"],
    )
)
side = bundle.image_size
print(
    f"input {bundle.in_channels}x{side}x{side}; mean {bundle.mean[0]:.4f}, "
    f"std {bundle.std[0]:.4f} (from the {bundle.norm_source})"
)

# %% [markdown]
# The normalisation statistics come from the **training split only**. Using
# the whole dataset (or, worse, the validation split) would let the
# validation images shape the model's input before they are used to judge
# it. With ImageNet-pretrained weights the rule is different: the network
# was trained on inputs normalised with ImageNet's mean and standard
# deviation, so those constants are used (`pretrained=True`), and
# `bundle.norm_source` says which one applies.
#
# ### The same pipeline on your own folder
#
# The tutorials this book grew from trained on folders of photos (potato leaves in three
# classes, birds in four). `data.load` takes such a folder, `root/class_name/image`, and
# splits it with the random seed. Here we write a few texture patches to a temporary
# folder to show the two transforms it builds:

# %%
tmp = Path(tempfile.mkdtemp())
for label, name in enumerate(bundle.classes):
    (tmp / "folder" / name).mkdir(parents=True)
    for i in range(10):
        patch = bundle.val.images[bundle.val.labels == label][i, 0]
        pixels = (
            patch * bundle.std[0] + bundle.mean[0]
        ) * 255  # undo the normalisation
        Image.fromarray(pixels.clamp(0, 255).byte().numpy()).save(
            tmp / "folder" / name / f"{i}.png"
        )
folder = data.load(str(tmp / "folder"), image_size=32, seed=SEED)
display(
    show.table(
        [
            ("training", len(folder.train), str(folder.train.transform)),
            ("evaluation", len(folder.val), str(folder.val.transform)),
        ],
        ["split", "images", "transform"],
        f"data.load on a folder of classes {folder.classes}",
    )
)

# %% [markdown]
# Random flips (and crops) belong to the training transform only. They show
# the network a slightly different image each epoch, which helps it
# generalise. At evaluation they would do harm: the same image would score
# differently from one run to the next, so the validation accuracy would be
# noisy, and a prediction for a user's photo would depend on a coin toss.
# (The CIFAR tutorial this book draws on flips its test images; the
# [pitfalls](pitfalls.py) page measures what that does.)
#
# ## The loop, line by line
#
# Here is the core of one training epoch and one evaluation, as short as it
# can be. It is not a toy: it is what `engine.fit` runs, minus the
# bookkeeping.


# %%
def train_one_epoch(model, loader, optimizer, loss_fn):
    model.train()  # dropout on, batch norm uses (and updates) batch statistics
    for x, y in loader:
        logits = model(x)  # forward
        loss = loss_fn(logits, y)  # mean cross-entropy over the batch
        optimizer.zero_grad()  # gradients accumulate by default: clear last step's
        loss.backward()  # backward: fill p.grad for every parameter
        optimizer.step()  # update: p -= lr * (a function of) p.grad


@torch.no_grad()  # no autograd graph: faster, and far less memory
def accuracy(model, loader):
    model.eval()  # dropout off, batch norm uses its running statistics
    correct = total = 0
    for x, y in loader:
        correct += (model(x).argmax(1) == y).sum().item()
        total += len(y)
    return correct / total


# %% [markdown]
# Why `model.eval()` matters is easiest to see by leaving it out. `vgg_mini`
# has dropout in its head; in training mode each forward pass drops a
# different random 30% of the head's units, so the same untrained model,
# scored twice on the same validation patches, gets two different accuracies:

# %%
loader = torch.utils.data.DataLoader(bundle.val, 64, collate_fn=data.collate_batch)
engine.seed_everything(SEED)
probe = models.create("vgg_mini", num_classes=3, image_size=32)
probe.train()
with torch.no_grad():
    noisy = [
        sum((probe(x).argmax(1) == y).sum().item() for x, y in loader) / len(bundle.val)
        for _ in range(2)
    ]
steady = [accuracy(probe, loader) for _ in range(2)]
show.table(
    [("train mode (forgot eval())", *noisy), ("eval mode", *steady)],
    ["scored in", "accuracy, pass 1", "accuracy, pass 2"],
    f"The same untrained vgg_mini (seed {SEED}) on the validation patches",
    formats=[None, ".1%", ".1%"],
)

# %% [markdown]
# `engine.fit` wraps that loop with what a real run needs: a seeded data
# order, metrics summed on the device (no `.item()` per step, which would
# stall a GPU), a stop with a clear message if the loss becomes NaN, a
# learning-rate schedule counted in steps, and checkpoints. Every setting of a
# run is a field of one dataclass, `engine.TrainConfig`, with its default;
# `fit` takes a `TrainConfig` or any of its fields as keywords:

# %%
display(show.signature(engine.fit, "engine.fit"))
display(
    show.table(
        [(f.name, repr(f.default)) for f in dataclasses.fields(engine.TrainConfig)],
        ["setting", "default"],
        "engine.TrainConfig",
    )
)

# %% [markdown]
# ## Training on a small set, long enough to over-fit
#
# Thousands of overlapping patches of three textures make an easy task. The
# tutorials this page grew from trained on a few hundred photos, and small data
# is where training goes wrong, so this run keeps only a few dozen training
# patches per class (`subset`, drawn with the seed), switches augmentation off
# (`augment=False`) and trains for many epochs: long enough for the network to
# learn its training patches by heart. The validation patches stay as they are.
#
# `vgg_mini` is a three-block VGG (16, 32 and 64 channels) with a small head.
# Adam at $10^{-3}$, batch 32, on the CPU:

# %%
SUBSET, EPOCHS = 120, 30
small = data.load("textures", seed=SEED, subset=SUBSET, augment=False)
out_dir = tmp / "run"
engine.seed_everything(SEED)  # the initial weights depend on the seed, too
model = models.create("vgg_mini", num_classes=3, image_size=32)
run_meta = {
    "model": "vgg_mini",
    "model_kwargs": {"num_classes": 3, "image_size": 32},
    "data": small.describe(),
}
history = engine.fit(
    model,
    small.train,
    small.val,
    epochs=EPOCHS,
    batch_size=32,
    optimizer="adam",
    lr=1e-3,
    seed=SEED,
    device="cpu",
    out_dir=out_dir,
    meta=run_meta,
    log=False,
)
display(
    show.table(
        [
            ("parameters", complexity.count_params(model)),
            ("training patches", len(small.train)),
            ("per class", ", ".join(map(str, data.class_counts(small.train, 3)))),
            ("validation patches", len(small.val)),
            ("epochs", EPOCHS),
            ("steps per epoch", -(-len(small.train) // 32)),
        ],
        ["", "value"],
        f"vgg_mini on a small texture set, seed {SEED}",
    )
)

# %%
plots.plot_history(history, title=f"vgg_mini on {SUBSET} texture patches, seed {SEED}")
plt.show()

# %% [markdown]
# ### What the curves show
#
# Written by the code from the numbers above (`cnnbook.analysis.overfitting`),
# so it stays true whatever a rebuild measures:

# %%
reading = overfitting.read(history.epochs)
display(show.note(" ".join(overfitting.sentences(reading)), "info", f"Seed {SEED}"))

# %% [markdown]
# ### Why validation can score above training
#
# In the first epochs the validation accuracy is often above the training
# accuracy, which looks impossible: the network has never seen the validation
# patches. It is a matter of *how* the two are measured. The training accuracy
# of an epoch is the running score of the batches as they were trained: an
# average over a network that changes after every batch, early batches scored by
# the worse network of the start of the epoch, in training mode (the dropout
# layers of `vgg_mini`'s head switch units off at random). The validation
# accuracy is measured once, at the end of the epoch, by the final network in
# evaluation mode. Scoring the training patches the way validation is scored
# shows the two measurements side by side; at the last epoch:

# %%
final = history.epochs[-1]
train_eval = engine.evaluate(model, small.train)["acc"]
display(
    show.table(
        [
            ("training, as fit reports it (running, train mode)", final["train_acc"]),
            ("training, scored like validation (end, eval mode)", train_eval),
            ("validation (end, eval mode)", final["val_acc"]),
        ],
        ["accuracy at the last epoch", "value"],
        f"Seed {SEED}; in {reading.val_above_train} of {reading.epochs} epochs the "
        "validation accuracy was above the training accuracy fit reports",
        formats=[None, ".1%"],
    )
)

# %% [markdown]
# ## Save the best, not the last
#
# Validation accuracy need not rise every epoch, so the last epoch is not
# always the best one. The tutorial's notebook tracked the best model with
# `copy.deepcopy` but then saved the *last* model under the "best" name.
# The engine writes two files after every epoch, each atomically (to a
# temporary file, then renamed, so a crash never leaves half a checkpoint):
# `last.pt`, to resume from, and `best.pt`, rewritten only when validation
# accuracy improves.

# %%
best_state = torch.load(out_dir / "best.pt", weights_only=True)
last_state = torch.load(out_dir / "last.pt", weights_only=True)
best_model, _ = engine.load_model(out_dir / "best.pt")
last_acc = last_state["history"]["epochs"][-1]["val_acc"]
rows = [
    ("best.pt", best_state["epoch"], best_state["best_val_acc"], best_model),
    ("last.pt", last_state["epoch"], last_acc, model),
]
show.table(
    [
        (f, epoch, acc, engine.evaluate(m, small.val)["acc"])
        for f, epoch, acc, m in rows
    ],
    ["file", "epoch", "val accuracy when saved", "val accuracy re-evaluated"],
    f"The run above, seed {SEED}",
    formats=[None, None, ".1%", ".1%"],
)

# %%
if best_state["epoch"] != last_state["epoch"]:
    which = (
        f"In this run the best epoch was {best_state['epoch']}, not the last one: "
        "saving the last model as 'best' would have kept a worse model."
    )
else:
    which = (
        "In this run the last epoch was also the best, so the two files hold the same "
        "weights; with longer training they can differ, and then best.pt is the one "
        "to keep."
    )
holds = f"A checkpoint holds: {', '.join(sorted(last_state))}."
display(show.note(f"{which} {holds}", "info", f"Best and last (seed {SEED})"))

# %% [markdown]
# A checkpoint is a dictionary of plain tensors, numbers and strings, so
# `torch.load(path, weights_only=True)` reads it without executing any
# pickled code. Besides the weights it holds the optimizer's state (Adam's
# moment estimates), the scheduler, the epoch and step, the history, the
# run's settings and its `meta` (model name and options, data description).
# No random-number state is needed: each epoch reseeds from the run's seed
# and the epoch number, so a resumed epoch draws the same numbers. That is what
# `--resume` needs to continue an interrupted run so that it ends with the
# same history as an uninterrupted one; the test suite checks exactly that,
# by killing a training process with `SIGKILL` halfway through an epoch.
#
# ## Where the errors are
#
# A confusion matrix of the best checkpoint on the validation patches:

# %%
y_true, y_pred = engine.predictions(best_model, small.val)
plots.plot_confusion(y_true, y_pred, small.classes)
plt.show()

# %% [markdown]
# ## Predicting one image
#
# A reader's own photo goes through the **evaluation** transform (grey,
# resize to 32, normalise with the training statistics; no flips), then the
# model, then a softmax. Here is a $48 \times 48$ crop from the bottom rows of
# the gravel photo, which no training patch came from:

# %%
crop = Image.fromarray(skimage.data.gravel()[-60:-12, 300:348])
name, prob = engine.predict(best_model, crop, small.eval_transform, small.classes)
plots.images([crop], [f"{name} ({prob:.1%})"], width=2.4, height=2.6, gray=True)
plt.show()

# %% [markdown]
# The same from the command line, with the checkpoint's own class names and
# transform: `cnnbook predict --checkpoint runs/.../best.pt photo.jpg`.
#
# ## On a GPU
#
# The command is the same; the device and the batch size change, and the
# engine turns on what makes a GPU fast:

# %%
show.tabs(
    {
        "CPU": "cnnbook train --model vgg_mini --data textures --subset 120 \\\n"
        "    --no-augment --optimizer adam --lr 1e-3 --batch-size 32 --epochs 30",
        "GPU": "cnnbook train --model vgg16_cifar --data cifar10 --download \\\n"
        "    --device cuda --batch-size 256 --lr 0.05 --weight-decay 5e-4 \\\n"
        "    --scheduler cosine --epochs 30 --compile",
        "Python": "engine.fit(model, bundle.train, bundle.val, device='cuda',\n"
        "           batch_size=256, amp=None, channels_last=None,\n"
        "           compile=True)  # None: on for CUDA",
    }
)

# %% [markdown]
# * **bf16 autocast** (`--amp`, on by default on CUDA): matrix multiplies and
#   convolutions run in bfloat16 on the tensor cores, with float32 master
#   weights. bfloat16 has float32's exponent range, so no loss scaling is needed.
# * **channels_last**: stores activations as $N \times H \times W \times C$, the
#   layout cuDNN's fastest convolution kernels use.
# * **`torch.compile`** (`--compile`): fuses the element-wise layers (ReLU,
#   batch norm) into the neighbouring kernels; the first epoch pays the
#   compilation.
# * **Batch size**: a GPU needs large batches to stay busy. When you raise the
#   batch, raise the learning rate with it (see [Scaling up](../scale/scaling-up.py)).
# * **Data loading**: images decoded from files need worker processes and
#   pinned memory so the GPU never waits; the engine sets both on CUDA.
#
# ## VGG at $32 \times 32$
#
# VGG was designed for $224 \times 224$ ImageNet crops: five max-pools take
# 224 to 7, and the first fully connected layer reads $512 \times 7 \times 7 =
# 25{,}088$ values. Feed it a $32 \times 32$ CIFAR-10 image and the five pools
# leave $32 / 2^5 = 1$ pixel:

# %%
tv = models.create("vgg16", num_classes=10)
x = torch.zeros(1, 3, 32, 32)
rows = []
with torch.no_grad():
    for i, layer in enumerate(tv.features):
        x = layer(x)
        if isinstance(layer, torch.nn.MaxPool2d):
            rows.append((f"features[{i}] (pool)", tuple(x.shape)))
    pooled = tv.avgpool(x)
rows.append(("avgpool", tuple(pooled.shape)))
display(show.table(rows, ["layer", "output shape"]))

# %% [markdown]
# Two things can happen next, and both are bad.
#
# * Code that hard-codes the flatten, like the tutorial's
#   `x.view(-1, 7 * 7 * 512)`, breaks: 512 values cannot fill rows of 25,088.
# * torchvision's VGG has an `AdaptiveAvgPool2d((7, 7))` before the head, so
#   it runs, but it copies the single pixel into all 49 positions. The first
#   fully connected layer then spends all its weights on 512 distinct numbers:

# %%
try:
    torch.zeros(1, 512, 1, 1).view(-1, 7 * 7 * 512)
except RuntimeError as exc:
    print("view(-1, 7*7*512) on 32x32 input:", str(exc).splitlines()[0])
print("all 49 positions equal:", bool((pooled == pooled[..., :1, :1]).all()))
first_fc = tv.classifier[0]
print(
    f"first fully connected layer: {first_fc.in_features:,} inputs, "
    f"{first_fc.weight.numel():,} weights, fed by 512 distinct values"
)

# %% [markdown]
# The CIFAR variant (`vgg16_cifar`, as in the tutorial's cfg-driven version)
# keeps the 13 convolutions, adds batch norm after each, and reads the
# $512 \times 1 \times 1$ map with a 512-512-10 head:

# %%
cifar = models.create("vgg16_cifar", num_classes=10)
nets = {"vgg16 (ImageNet head)": tv, "vgg16_cifar (512-512-10)": cifar}
rows = []
for label, net in nets.items():
    params, head = complexity.count_params(net), complexity.count_params(net.classifier)
    rows.append((label, params, head, complexity.count_macs(net, (1, 3, 32, 32))))
show.table(rows, ["model", "parameters", "of which in the head", "MACs at 32x32"])

# %% [markdown]
# The convolutions are the same (the difference in MACs is the head's
# multiply-adds); the head, which holds most of VGG-16's parameters, shrinks
# by more than two orders of magnitude. Training it is one command (a GPU makes it take
# minutes rather than hours):
#
# ```bash
# cnnbook train --model vgg16_cifar --data cifar10 --download --device cuda \
#     --batch-size 256 --lr 0.05 --weight-decay 5e-4 --scheduler cosine --epochs 30
# ```
#
# `data.load("cifar10")` applies the standard CIFAR augmentation to training
# images only: pad by 4 pixels, take a random $32 \times 32$ crop, and flip
# horizontally half the time.

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image
#   Recognition](https://arxiv.org/abs/1409.1556)
# * [Goyal et al. (2017), Accurate, Large Minibatch SGD: Training ImageNet in 1
#   Hour](https://arxiv.org/abs/1706.02677)
# * [Zhang, Lipton, Li & Smola, Dive into Deep Learning: Networks Using Blocks
#   (VGG)](https://d2l.ai/chapter_convolutional-modern/vgg.html)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** `vgg_mini` has three blocks. How wide is its first fully connected
# layer at $28 \times 28$ input, and at $32 \times 32$?

# %%
from cnnbook.exercises import vgg_practice as ex

display(show.solution(ex.mini_head_text()))

# %% [markdown]
# **Exercise 2.** How many optimiser steps do 30 epochs over CIFAR-10's 50,000 training
# images take with batch size 256?

# %%
display(show.solution(ex.steps_text()))

# %% [markdown]
# **Exercise 3.** Why can the best checkpoint differ from the last one?

# %%
display(show.solution(ex.best_epoch_text()))
