# %% [markdown]
# # Residual blocks
#
# A residual block does not ask its layers to learn the mapping $H(x)$ it should
# represent. It asks them for the difference, the *residual*
# $F(x) = H(x) - x$, and adds the input back:
#
# $$y = \operatorname{relu}\big(F(x) + x\big).$$
#
# If the best thing a block can do is nothing, it only has to drive $F$ to zero,
# which is easy for weights that start near zero; a stack of plain layers would
# have to learn the identity through its non-linearities. This page builds the
# two residual blocks of the ResNet paper step by step, prices the three ways to
# handle a shortcut whose shape changes, and then writes ResNet-50 twice (in the
# Keras style of conv and identity blocks, and torchvision's way) and proves that
# the two are the same network by swapping weights between them.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "A residual block outputs relu(F(x) + x); its layers learn only F.",
            "BasicBlock (ResNet-18/34) stacks two 3x3 convolutions; Bottleneck "
            "(ResNet-50 and deeper) runs its 3x3 on a quarter of the channels "
            "between two 1x1s.",
            "Where a shortcut changes shape, option A pads zeros, B projects with a "
            "1x1 (torchvision), C projects on every block.",
            "The paper strides a down-sampling Bottleneck's first 1x1 (V1), "
            "torchvision its 3x3 (V1.5); the weights are the same shapes.",
            "ResNet-50 written Keras-style and torchvision-style is one network: "
            "the weights swap exactly.",
        ]
    )
)

# %%
import torch
import torchvision
from IPython.display import HTML, display

from cnnbook import block_diagram, compat, show
from cnnbook.analysis.complexity import count_macs, count_params
from cnnbook.exercises import resnet as ex
from cnnbook.models import cifar_resnet, preact_resnet, resnet, resnet_keras

SEED = 0
_ = torch.manual_seed(SEED)  # the random weights below depend on it

# %% [markdown]
# ## BasicBlock: two 3x3 convolutions and a shortcut
#
# ResNet-18 and ResNet-34 (and the CIFAR networks) are made of `BasicBlock`s.
# This is its `forward`, printed from the installed package:

# %%
show.source(resnet.BasicBlock.forward)

# %% [markdown]
# The figures on this page are drawn from the code, not by hand:
# `cnnbook.block_diagram` traces a block's `forward` with `torch.fx` (one node per
# layer call, addition or concatenation), records the shape each one produces for
# one input, and draws the residual branch as a column with every other path in a
# lane beside it. Each arrow carries the shape that flows along it (channels
# × height × width). Change the block and the figure follows.

# %%
source = "resnet.BasicBlock(64, 64)"
figure = block_diagram.figure(
    resnet.BasicBlock(64, 64), (1, 64, 56, 56), "BasicBlock", source
)
HTML(figure)


# %% [markdown]
# To watch it work, we run the block's layers one at a time on a
# $64 \times 56 \times 56$ tensor (the size that enters ResNet-18's first stage)
# and record the shape after each step.


# %%
def trace_block(block, x):
    """Run a BasicBlock or Bottleneck by hand, one layer at a time."""
    block.eval()
    rows = [("input x", tuple(x.shape), None)]
    out = x
    convs = [n for n in ("conv1", "conv2", "conv3") if hasattr(block, n)]
    for i, name in enumerate(convs, start=1):
        conv, bn = getattr(block, name), getattr(block, f"bn{i}")
        out = conv(out)
        rows.append((name, tuple(out.shape), count_params(conv)))
        out = bn(out)
        rows.append((f"bn{i}", tuple(out.shape), count_params(bn)))
        if i < len(convs):
            out = torch.relu(out)
            rows.append(("relu", tuple(out.shape), None))
    down = block.downsample or torch.nn.Identity()
    shortcut = down(x)
    label = "identity" if block.downsample is None else type(down).__name__
    rows.append((f"shortcut ({label})", tuple(shortcut.shape), count_params(down)))
    out = torch.relu(out + shortcut)
    rows.append(("relu(F(x) + shortcut)", tuple(out.shape), None))
    with torch.no_grad():
        assert torch.equal(out, block(x)), "the hand trace must equal forward()"
    return rows


with torch.no_grad():
    basic = resnet.BasicBlock(64, 64)
    rows = trace_block(basic, torch.randn(1, 64, 56, 56))
display(
    show.table(rows, ["step", "shape", "parameters"], "BasicBlock(64, 64), stride 1")
)

# %% [markdown]
# The shapes never change, so the shortcut is the input itself. The first block
# of each later stage halves the resolution and doubles the channels; then $x$
# no longer fits $F(x)$ and the shortcut must change shape too. torchvision does
# that with a strided $1 \times 1$ convolution and a batch norm, stored as
# `downsample`:

# %%
with torch.no_grad():
    down = resnet.make_shortcut("B", 64, 128, stride=2)
    basic2 = resnet.BasicBlock(64, 128, stride=2, downsample=down)
    rows = trace_block(basic2, torch.randn(1, 64, 56, 56))
display(
    show.table(rows, ["step", "shape", "parameters"], "BasicBlock(64, 128, stride=2)")
)

# %% [markdown]
# ## Bottleneck: 1x1 down, 3x3, 1x1 up
#
# For ResNet-50 and deeper, two $3 \times 3$ convolutions on 256 channels would
# cost too much. The `Bottleneck` first shrinks the channels four-fold with a
# $1 \times 1$ convolution, runs the $3 \times 3$ on the narrow tensor and widens
# it again with another $1 \times 1$:

# %%
show.source(resnet.Bottleneck.forward)

# %%
with torch.no_grad():
    bottleneck = resnet.Bottleneck(256, 64)
    rows = trace_block(bottleneck, torch.randn(1, 256, 56, 56))
caption = "Bottleneck(256, 64): 256 → 64 → 64 → 256 channels"
display(show.table(rows, ["step", "shape", "parameters"], caption))

# %% tags=["hide-input"]
source = "resnet.Bottleneck(256, 64)"
HTML(block_diagram.figure(bottleneck, (1, 256, 56, 56), "Bottleneck", source))

# %%
candidates = [
    ("BasicBlock, 64 channels", resnet.BasicBlock(64, 64), 64),
    ("Bottleneck, 256 -> 64 -> 256", bottleneck, 256),
    ("BasicBlock, 256 channels", resnet.BasicBlock(256, 256), 256),
]
rows = [
    (name, channels, count_params(block), count_macs(block, (1, channels, 56, 56)))
    for name, block, channels in candidates
]
display(
    show.table(
        rows,
        ["block", "channels in and out", "parameters", "MACs at 56x56"],
        "Why the bottleneck",
    )
)

# %% [markdown]
# The Bottleneck costs about as much as a BasicBlock on 64 channels, yet it carries
# four times as many channels from block to block; keeping 256 channels with two
# $3 \times 3$ convolutions would cost many times more. This is why ResNet-50 needs
# only a little more compute than ResNet-34 while being 16 layers deeper.
#
# ### Where the stride goes: V1 and V1.5
#
# The paper (and the Keras code this chapter's ResNet-50 follows) puts the stride
# of a down-sampling Bottleneck on its first $1 \times 1$ convolution: that layer
# simply skips three pixels of every four. torchvision moves it to the $3 \times 3$
# convolution, which then looks at all of them; NVIDIA calls this "ResNet V1.5"
# and reports slightly better accuracy for a little more compute. The weights have
# the same shapes, so the same state dict loads into both:

# %%
v15 = resnet.resnet50()
v1 = resnet.resnet50(variant="v1")
v1.load_state_dict(v15.state_dict())
rows = []
for name, model in (("V1 (paper, Keras)", v1), ("V1.5 (torchvision)", v15)):
    block = model.layer2[0]
    rows.append(
        (
            name,
            block.conv1.stride[0],
            block.conv2.stride[0],
            count_params(model),
            count_macs(model, (1, 3, 224, 224)),
        )
    )
headers = ["ResNet-50", "1x1 stride", "3x3 stride", "parameters", "MACs at 224"]
display(show.table(rows, headers))

# %% [markdown]
# The first block of the second stage, drawn from each of the two models: the same
# layers, the stride on a different convolution, and so a different shape after
# the first $1 \times 1$.

# %% tags=["hide-input"]
figures = [
    block_diagram.figure(model.layer2[0], (1, 256, 56, 56), title, source)
    for title, model, source in (
        ("V1 (paper)", v1, 'resnet.resnet50(variant="v1").layer2[0]'),
        ("V1.5 (torchvision)", v15, "resnet.resnet50().layer2[0]"),
    )
]
HTML(block_diagram.gallery(*figures))

# %% [markdown]
# ## Shortcuts whose shape changes: options A, B and C
#
# The paper compares three ways to handle shortcuts (section 4.1, Table 3):
#
# * **A**: every shortcut is an identity; where the shape changes, the input is
#   subsampled and the extra channels are zeros. No parameters.
# * **B**: a $1 \times 1$ projection (convolution + BN) only where the shape
#   changes, identity elsewhere. This is torchvision's choice.
# * **C**: a projection on every block.
#
# Option A is a few lines:

# %%
display(show.source(resnet.PadShortcut.forward))
x = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
y = resnet.PadShortcut(2, 4, stride=2)(x)
print("in ", tuple(x.shape), "-> out", tuple(y.shape))
print("channel 0 kept, subsampled:\n", y[0, 0])
print("channel 3 is new and zero:\n", y[0, 3])

# %% [markdown]
# The first block of the CIFAR ResNet-20's second stage halves the side and
# doubles the channels. Drawn under option A (the paper's choice for these
# networks) and option B, the two blocks differ only in their shortcut lane: a
# parameter-free zero-padding identity against a strided $1 \times 1$ convolution
# with its batch norm.

# %% tags=["hide-input"]
figures = []
for option in "AB":
    figure_block = cifar_resnet.cifar_resnet20(shortcut=option).layer2[0]
    source = f'cifar_resnet20(shortcut="{option}").layer2[0]'
    title = f"Option {option}"
    figures.append(block_diagram.figure(figure_block, (1, 16, 32, 32), title, source))
HTML(block_diagram.gallery(*figures))

# %% [markdown]
# What each option costs, counted on the built networks:

# %%
rows = []
for depth in (18, 34, 50):
    counts = {
        k: count_params(getattr(resnet, f"resnet{depth}")(shortcut=k)) for k in "ABC"
    }
    rows.append(
        (
            f"ResNet-{depth}",
            counts["A"],
            counts["B"],
            counts["C"],
            (counts["C"] - counts["A"]) / counts["A"],
        )
    )
display(
    show.table(
        rows,
        ["model", "option A", "option B", "option C", "C over A"],
        "Parameters by shortcut option (1000 classes)",
        formats={"C over A": "+.1%"},
    )
)

# %% [markdown]
# On ImageNet the paper measured ResNet-34 at 25.03% (A), 24.52% (B) and 24.19% (C)
# top-1 error (10-crop testing, Table 3). B beats A a little, probably because
# A's zero channels learn nothing; C's extra gain is small for its cost, and the
# Bottleneck networks would pay even more for it (their projections act on the
# wide 256..2048-channel tensors). So the paper, and torchvision, use B.
# The CIFAR networks on the [degradation page](degradation.py) use A, which
# keeps a residual net's parameters exactly equal to those of its plain twin.
#
# ## The pre-activation block
#
# The block above ends in a ReLU *after* the addition, so what one block hands
# the next is not $x + F(x)$ but $\operatorname{relu}(x + F(x))$. In a follow-up
# paper ([He et al., 2016b](https://arxiv.org/abs/1603.05027)) the same authors
# move batch norm and ReLU *before* each convolution,
# $x_{l+1} = x_l + W_2\,\sigma(B(W_1\,\sigma(B(x_l))))$, so that nothing follows the
# addition: unrolled, $x_L = x_l + \sum_{i=l}^{L-1} F(x_i)$, and the gradient of
# any later block reaches any earlier one through additions alone. The network
# then starts with a bare convolution and needs one batch norm and ReLU after
# its last block. With it they trained a 1001-layer CIFAR network. The block,
# as `cnnbook.models.preact_resnet` writes it:

# %%
show.source(preact_resnet.PreActBasicBlock.forward)

# %% [markdown]
# Drawn from the first block of the pre-activation ResNet-20, next to the
# BasicBlock figure above: batch norm and ReLU now come first, and the addition
# is the block's last operation.

# %% tags=["hide-input"]
source = "cifar_preact_resnet20().layer1[0]"
figure_block = preact_resnet.cifar_preact_resnet20().layer1[0]
HTML(block_diagram.figure(figure_block, (1, 16, 32, 32), "Pre-activation", source))

# %%
pre = preact_resnet.PreActBasicBlock(16, 16).eval()
post = resnet.BasicBlock(16, 16).eval()
for block in (pre, post):
    torch.nn.init.zeros_(block.conv2.weight)  # silence the residual branch
x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(SEED))
display(
    show.table(
        [
            ("original (ReLU after the addition)", bool(torch.equal(post(x), x))),
            ("pre-activation (nothing after it)", bool(torch.equal(pre(x), x))),
        ],
        ["block with a silent branch", "output equals its input"],
    )
)

# %% [markdown]
# With its branch silent, only the pre-activation block passes its input on
# unchanged; the original one clips the negative values. Moving the layers
# costs no weights: `cifar_preact_resnet20` and `cifar_resnet20` both have
# 269,722 parameters (the tests check it).
#
# ## ResNet-50 two ways
#
# First the whole network as torchvision writes it (and `cnnbook.models.resnet`
# after it): a stem, four stages `layer1` .. `layer4`, global pooling and the
# classifier. Each stage is an `nn.Sequential` of Bottlenecks, drawn as one box
# that reads its first block's branch, stride and shortcut from that block's own
# graph.

# %% tags=["hide-input"]
stages_figure = block_diagram.figure(
    v15,
    (1, 3, 224, 224),
    "ResNet-50 stages",
    "resnet.resnet50()",
    leaves=(torch.nn.Sequential,),  # a stage is one box
)
HTML(stages_figure)

# %% [markdown]
# The classic Keras ResNet-50 is written with two functions: `conv_block`, a
# Bottleneck whose shortcut is a projection, used first in each stage, and
# `identity_block`, a Bottleneck whose shortcut is the input. The package's
# `resnet50_keras` keeps that structure (`stage1` is the stem, `stage2` ..
# `stage5` hold one `ConvBlock` and then `IdentityBlock`s):

# %%
display(show.source(resnet_keras.ConvBlock))
keras50 = resnet_keras.resnet50_keras(num_classes=4)
rows = []
for i in range(2, 6):
    stage = getattr(keras50, f"stage{i}")
    kinds = [type(b).__name__ for b in stage]
    rows.append(
        (
            f"stage{i}",
            f"{kinds[0]} + {len(kinds) - 1} x {kinds[1]}",
            count_params(stage),
        )
    )
display(show.table(rows, ["stage", "blocks", "parameters"]))
print(f"total with 4 classes: {count_params(keras50):,} parameters")
assert count_params(keras50) == 23_516_228

# %% [markdown]
# With four output classes the network has 23,516,228 parameters, the figure in
# the bird-classification exercise this chapter grew from (the difference from
# torchvision's 25,557,032 is the classifier: $2049 \times (1000 - 4)$ weights).
# Two details of the Keras source are changed on purpose so that the network is
# torchvision's exactly: the stem's max-pool pads by one pixel (56x56 after it;
# the Keras stem gives 55x55) and the stride sits on the 3x3 convolution (V1.5;
# `variant="v1"` gives the Keras placement).
#
# The names differ, though: Keras-style `stage3.0.shortcut.0.weight` is
# torchvision's `layer2.0.downsample.0.weight`. `torchvision_key_map()` states the
# correspondence once, and `cnnbook.compat` uses it to move weights:

# %%
mapping = keras50.torchvision_key_map()
sample = [
    "stage1.0.weight",
    "stage2.0.residual.0.weight",
    "stage2.0.shortcut.1.running_mean",
    "stage3.2.residual.4.weight",
    "fc.weight",
]
display(
    show.table(
        [(k, mapping[k]) for k in sample], ["resnet50_keras", "torchvision resnet50"]
    )
)

# %% [markdown]
# ### The weight-swap proof, live
#
# Build torchvision's `resnet50` (random weights; nothing is downloaded), give
# every batch norm non-trivial statistics so evaluation mode really uses them, load
# its state dict into the Keras-style model strictly (every tensor used, none
# missing), and compare the two networks' outputs on the same images. Then go
# back the other way and check that the round trip is bit-exact.

# %%
torch.manual_seed(SEED)
theirs = compat.randomize_batchnorm(
    torchvision.models.resnet50(weights=None).eval(), seed=SEED
)
g = torch.Generator().manual_seed(SEED)
ours = resnet_keras.resnet50_keras().eval()
compat.load_torchvision_state_dict(ours, theirs.state_dict())
images = torch.randn(1, 3, 224, 224, generator=g)
with torch.no_grad():
    a, b = ours(images), theirs(images)
diff = (a - b).abs().max().item()
back = compat.to_torchvision_state_dict(ours)
exact = all(torch.equal(back[k], v) for k, v in theirs.state_dict().items())
rows = [
    ("tensors moved", len(mapping)),
    ("max |output difference| (float32)", f"{diff:.2e}"),
    ("same top class", bool((a.argmax(1) == b.argmax(1)).all())),
    ("round trip bit-exact", exact),
]
display(
    show.table(
        rows,
        ["check", "result"],
        f"resnet50_keras vs torchvision resnet50, a random 224x224 image, seed {SEED}",
    )
)
assert diff <= 1e-5 and exact

# %% [markdown]
# The same check runs in the test suite for every depth (ResNet-18 to 152 against
# torchvision, and this Keras-style model), together with parameter counts equal
# to torchvision's metadata and MACs within 1% of it. With real ImageNet weights,
# `torchvision.models.resnet50(weights="IMAGENET1K_V2").state_dict()` loads the
# same way (that downloads about 100 MB, so this page does not).
#
# Next: [Inside torchvision: resnet.py](inside-torchvision.py) reads torchvision's
# own source, and [The degradation problem](degradation.py) trains plain and
# residual networks side by side.

# %% [markdown]
# ## References
#
# * [He, Zhang, Ren & Sun (2015), Deep Residual Learning for Image
#   Recognition](https://arxiv.org/abs/1512.03385): BasicBlock, Bottleneck (Figure 5)
#   and the shortcut options A, B, C (section 4.1, Table 3).
# * [He, Zhang, Ren & Sun (2016), Identity Mappings in Deep Residual
#   Networks](https://arxiv.org/abs/1603.05027): the pre-activation block.
# * [d2l, Residual Networks
#   (ResNet)](https://d2l.ai/chapter_convolutional-modern/resnet.html)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** A Bottleneck on 256 channels has a $1 \times 1$ convolution to 64
# channels, a $3 \times 3$ on 64 and a $1 \times 1$ back to 256. How many
# convolution weights is that, against two $3 \times 3$ convolutions on 256
# channels, and against the BasicBlock on 64 channels the paper compares it with?

# %%
display(show.solution(ex.bottleneck_cost_text()))

# %% [markdown]
# **Exercise 2.** The pre-activation block (He et al., 2016) moves batch norm and
# ReLU before each convolution: $y = x + F(x)$ with
# $F = \mathrm{conv} \circ \mathrm{relu} \circ \mathrm{BN} \circ \mathrm{conv}
# \circ \mathrm{relu} \circ \mathrm{BN}$. What changes in the block's output?
# What does the block compute when $F = 0$, compared with the original block?

# %%
display(show.solution(ex.preact_text()))

# %% [markdown]
# **Exercise 3.** How many parameters does option B add to ResNet-34 over option A?
# Derive the number from the layers it adds, then compare with option C.

# %%
display(show.solution(ex.shortcut_cost_text()))
