# %% [markdown]
# # VGG-16 by hand
#
# VGG-16 is configuration D of Simonyan and Zisserman's paper: thirteen
# $3 \times 3$ convolutions in five blocks, each block closed by a $2 \times 2$
# max-pool, then three fully connected layers. Thirteen plus three weight
# layers give the name.
#
# This page writes it out the way a learner first does: no loops, no
# configuration list, every layer on its own line. Then it checks the result
# three ways: the layer-by-layer summary (134,272,835 parameters for a
# three-class problem such as healthy / early blight / late blight potato
# leaves), a side-by-side comparison with torchvision's `vgg16`, and a live
# weight swap that shows both networks compute the same function.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "VGG-16 is configuration D: 13 convolutions in five blocks, then 3 FC "
            "layers.",
            "Writing it out layer by layer and checking it against torchvision finds "
            "slips.",
            "The same weights loaded into both networks give the same outputs.",
            "For three classes it has 134,272,835 parameters, most in the first FC "
            "layer.",
        ]
    )
)

# %%
import torch
import torchvision
from IPython.display import HTML, display

from cnnbook import compat, diagram, show
from cnnbook.analysis import complexity
from cnnbook.models.vgg_by_hand import VGG16ByHand

SEED = 0
_ = torch.manual_seed(SEED)  # the random weights below depend on it

# %% [markdown]
# ## The model, layer by layer
#
# The class below is printed from the installed package, so it is exactly the
# code that runs on this page. Two details are worth a look. `padding=1` on
# every convolution keeps the height and width, so only the pools shrink the
# image: $224 \to 112 \to 56 \to 28 \to 14 \to 7$. And `torch.flatten(x, 1)`
# flattens everything *except* the batch dimension; a hard-coded
# `x.view(-1, 7 * 7 * 512)` only works for $224 \times 224$ inputs, and
# [Pitfalls](pitfalls.py) shows it failing on batches of $32 \times 32$ images.

# %%
show.source(VGG16ByHand)

# %% [markdown]
# ## The summary table
#
# torchinfo runs one $3 \times 224 \times 224$ image through the model and
# records every layer's output shape, parameters and multiply-accumulates
# (MACs). Each block's row carries the totals of its layers. The model is built
# on PyTorch's *meta* device, which computes shapes without arithmetic, so the
# count costs nothing.

# %%
with torch.device("meta"):
    ours_meta = VGG16ByHand(num_classes=3, init_weights=False)
display(show.summary(ours_meta, (1, 3, 224, 224), depth=2, caption="VGG16ByHand(3)"))
model = VGG16ByHand(num_classes=3)
total = complexity.count_params(model)
assert total == complexity.count_params(ours_meta) == 134_272_835
show.note(f"VGG16ByHand(num_classes=3) has {total:,} parameters.", "info", "Total")

# %% [markdown]
# The three fully connected layers hold almost all of it. The first one maps
# $512 \times 7 \times 7 = 25{,}088$ inputs to 4,096 outputs: $25{,}088 \times
# 4{,}096$ weights plus 4,096 biases.

# %%
blocks = [getattr(model, f"block{i}") for i in range(1, 6)]
convs = sum(complexity.count_params(b) for b in blocks)
fc = complexity.count_params(model.classifier)
fc1 = complexity.count_params(model.classifier[0])
rows = [
    ("13 convolutions", convs, convs / total),
    ("3 fully connected layers", fc, fc / total),
    ("of which the first, 25,088 → 4,096", fc1, fc1 / total),
]
show.table(
    rows,
    ["part", "parameters", "share"],
    formats={"share": ".1%"},
    footer=("total", total, 1),
)

# %% [markdown]
# ## Side by side with torchvision
#
# torchvision's `vgg16` builds the same network from a configuration list.
# Its layers are called `features.0`, `features.2`, ... where ours are called
# `block1.0`, `block1.2`, ...; everything else should agree. Both models are
# traced here on the *meta* device, which computes shapes without
# arithmetic, so the comparison costs nothing.

# %%
with torch.device("meta"):
    theirs_meta = torchvision.models.vgg16(
        weights=None, num_classes=3, init_weights=False
    )
shown = (
    torch.nn.Conv2d,
    torch.nn.MaxPool2d,
    torch.nn.AdaptiveAvgPool2d,
    torch.nn.Linear,
)


def shown_layers(net):
    layers = diagram.trace_layers(net, (1, 3, 224, 224))
    return [lay for lay in layers if isinstance(lay.module, shown)]


rows = []
for a, b in zip(shown_layers(ours_meta), shown_layers(theirs_meta), strict=True):
    pa, pb = complexity.count_params(a.module), complexity.count_params(b.module)
    same = (a.output_shape, pa, type(a.module)) == (b.output_shape, pb, type(b.module))
    shape = "×".join(map(str, a.output_shape[1:]))
    rows.append((a.name, b.name, type(a.module).__name__, shape, pa, same))
headers = ["ours", "torchvision", "type", "output (C×H×W)", "parameters", "same"]
display(show.table(rows, headers))
mismatches = sum(not same for *_, same in rows)
print(f"{len(rows)} layers compared, {mismatches} differ.")
assert mismatches == 0

# %% [markdown]
# ## The weight-swap proof
#
# Same shapes and counts do not yet prove the same function: a swapped pair of
# layers, a missing ReLU or a different flatten order would pass the table
# above. So here torchvision's `vgg16` is created with its own random
# initialisation, its weights are copied into our model with
# `cnnbook.compat.load_torchvision_state_dict` (strict: every tensor must find
# its place, and shapes must match), and both networks classify the same
# random image in evaluation mode (dropout off).

# %%
theirs = torchvision.models.vgg16(weights=None, num_classes=3).eval()
key_map = list(model.torchvision_key_map().items())
shown_keys = key_map[:6] + [("...", "...")] + key_map[-2:]
display(
    show.table(
        shown_keys, ["our key", "torchvision key"], f"{len(key_map)} tensors mapped"
    )
)
compat.load_torchvision_state_dict(model, theirs.state_dict())
model.eval()
x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(SEED))
with torch.no_grad():
    out_theirs, out_ours = theirs(x), model(x)
diff = (out_theirs - out_ours).abs().max().item()
back = compat.to_torchvision_state_dict(model)
exact = list(back) == list(theirs.state_dict()) and all(
    torch.equal(back[k], v) for k, v in theirs.state_dict().items()
)


def logits(out):
    return ", ".join(f"{v:+.6f}" for v in out[0].tolist())


rows = [
    ("torchvision logits", logits(out_theirs)),
    ("our logits", logits(out_ours)),
    ("largest absolute difference", f"{diff:.3g}"),
    ("weights returned to torchvision's names unchanged", exact),
]
display(
    show.table(
        rows, ["", "value"], f"torchvision's random weights and image, seed {SEED}"
    )
)
assert diff <= 1e-5 and exact

# %% [markdown]
# The test suite runs the same proof for all eight of torchvision's VGGs
# (with and without batch norm) at a smaller input, and checks their
# parameter counts and multiply-accumulates against torchvision's published
# figures.
#
# ## A diagram generated from the model
#
# The picture below is not drawn by hand: `cnnbook.diagram` runs the model on
# the meta device with hooks on every layer, groups the convolutions that
# precede each max-pool into a block, and draws one box per block (height
# grows with the feature map's side, width with its channels) and one per
# fully connected layer. Change the model and the picture follows.

# %%
HTML(diagram.architecture_svg(ours_meta, (1, 3, 224, 224), title="VGG-16, 3 classes"))

# %% [markdown]
# ## The 32×32 version, layer by layer
#
# A CIFAR-10 image is $32 \times 32$. The five pools halve it five times,
# $32 \to 16 \to 8 \to 4 \to 2 \to 1$, so the trunk ends at
# $512 \times 1 \times 1$: flattened, that is 512 numbers per image, not
# the 25,088 the 224-pixel head expects. The registry's `vgg16_cifar` keeps
# the thirteen convolutions, puts a batch norm after each, and ends in a
# 512-512-10 head, as the configuration-driven CIFAR-10 versions of VGG-16
# do. Its summary for one $3 \times 32 \times 32$ image lists every layer:
# it is the table to read when sizing the first linear layer.

# %%
from cnnbook import models
from cnnbook.exercises import vgg_arch as ex

with torch.device("meta"):
    cifar = models.create("vgg16_cifar", init_weights=False)
show.summary(cifar, (1, 3, 32, 32), depth=2, caption="vgg16_cifar(10)")

# %% [markdown]
# Every side in that table follows from one formula. A convolution or pool
# with kernel $k$, stride $s$ and padding $p$ turns a side $n$ into
# $\lfloor (n + 2p - k)/s \rfloor + 1$: a $3 \times 3$ convolution with
# $p = 1$, $s = 1$ keeps $n$, and a $2 \times 2$ pool with $s = 2$ halves it.
# `vgg_arch.sides_by_formula` applies it layer by layer, and the cell below
# compares the result with the shapes the model actually produced.

# %%
by_formula = ex.sides_by_formula(cifar, 32)
shapes = {
    layer.name: layer.output_shape[1:]
    for layer in diagram.trace_layers(cifar, (1, 3, 32, 32))
}
traced = {name: shape[-1] for name, shape in shapes.items()}
rows = [
    (name, type(cifar.get_submodule(name)).__name__, side, traced[name])
    for name, side in by_formula
    if isinstance(cifar.get_submodule(name), torch.nn.MaxPool2d)
]
headers = ["layer", "type", "side by the formula", "side traced"]
display(show.table(rows, headers, "The five pools of vgg16_cifar, 32×32 input"))
agree = sum(traced[name] == side for name, side in by_formula)
print(f"The formula and the trace agree on {agree} of {len(by_formula)} layers.")
assert agree == len(by_formula)
trunk = " × ".join(map(str, shapes[by_formula[-1][0]]))
fc1 = cifar.classifier[0]
print(f"The trunk hands on {trunk}; the first linear layer reads {fc1.in_features}.")

# %% [markdown]
# ## References
#
# * [Simonyan & Zisserman (2015), Very Deep Convolutional Networks for Large-Scale Image
#   Recognition](https://arxiv.org/abs/1409.1556)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises

# %% [markdown]
# **Exercise 1.** Compute the parameters of VGG-16 (configuration D) and VGG-19 (E) for
# 1,000 classes from the paper's Table 1. What share of VGG-16 is its first fully
# connected layer?

# %%
from cnnbook.exercises import vgg_arch as ex

display(show.solution(ex.vgg16_vgg19_text()))

# %% [markdown]
# **Exercise 2.** Feed VGG-16 a $32 \times 32$ image. How many values leave the last
# block, and what does the first fully connected layer receive?

# %%
display(show.solution(ex.flatten_at_32_text()))

# %% [markdown]
# **Exercise 3.** How many of VGG-16's parameters are biases?

# %%
display(show.solution(ex.vgg16_biases_text()))
