# %% [markdown]
# # Seeing inside a CNN
#
# A trained network is a stack of numbers; three views make it readable. The
# **first layer's filters** are the only weights that touch the pixels, so they can
# be drawn as images. The **feature maps** after each block show what the network
# keeps of one image as it goes deeper: more channels, fewer pixels. **Grad-CAM**
# (Selvaraju et al.) asks a class-specific question: where in this image did the
# network find its evidence for class $c$?
#
# This page trains a small VGG and a small ResNet while it builds, looks at both
# from these three sides, and then tests Grad-CAM on images made for the purpose:
# half one class, half another.

# %% tags=["hide-input"]
from IPython.display import display

from cnnbook import show

display(
    show.points(
        [
            "The first layer's filters are small weight patterns that touch the "
            "pixels; VGG's are 3x3, so there is little to see in each.",
            "Each VGG block halves the height and width of its maps and doubles "
            "their number: deeper maps are coarser, and there are more of them.",
            "Grad-CAM weights each feature map of a layer by the mean gradient of the "
            "class score and keeps the positive part of the sum.",
            "A test with a known answer: on images half one class, half another, "
            "does the map for a class sit on that class's half? Measured below.",
            "The package's Grad-CAM is a few lines with two hooks; a test proves it "
            "equal to captum's LayerGradCam.",
        ]
    )
)

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import display

from cnnbook import data, engine, models, plots, show
from cnnbook.analysis import gradcam, inside
from cnnbook.analysis.complexity import count_params
from cnnbook.exercises import inside as ex

SEED = 0

# %% [markdown]
# ## Two small networks, trained while this page builds
#
# The data are the texture patches that ship with the package: $32 \times 32$
# grey patches cut from scikit-image's photos of brick, grass and gravel, three
# classes, with the validation patches cut from a part of each photo that no
# training patch touches. The networks are the registry's `vgg_mini` (three VGG
# blocks) and `cifar_resnet20` (the ResNet paper's 20-layer CIFAR network) at a
# quarter of its width. Each trains for a few dozen steps with Adam: seconds on
# one CPU core.

# %%
bundle = data.load("textures", seed=SEED)
STEPS = 60
# network: (registry name, options, Grad-CAM layer, Adam's learning rate)
recipes = {
    "VGG": ("vgg_mini", dict(in_channels=1, image_size=32), "features.2.3", 1e-3),
    "ResNet": ("cifar_resnet20", dict(in_channels=1, base_channels=4), "layer3", 2e-3),
}
# The exercises answer questions about these very networks.
assert [r[:3] for r in recipes.values()] == [ex.VGG[:3], ex.RESNET[:3]]

nets, layers, rows = {}, {}, []
for label, (name, options, layer, lr) in recipes.items():
    engine.seed_everything(SEED)
    model = models.create(name, num_classes=len(bundle.classes), **options)
    if label == "VGG":
        initial_filters = inside.first_conv(model).weight.detach().clone()
    history = engine.fit(
        model,
        bundle.train,
        bundle.val,
        epochs=1,
        max_steps=STEPS,
        batch_size=32,
        optimizer="adam",
        lr=lr,
        seed=SEED,
        device="cpu",
        log=False,
    )
    nets[label], layers[label] = model.eval(), layer
    last = history.epochs[-1]
    rows.append((label, name, count_params(model), STEPS * 32, last["val_acc"]))
display(
    show.table(
        rows,
        ["network", "registry name", "parameters", "images seen", "val accuracy"],
        f"{len(bundle.val)} validation patches of {', '.join(bundle.classes)}, "
        f"seed {SEED}",
        formats={"val accuracy": ".1%"},
    )
)

# %% [markdown]
# ## The first layer's filters
#
# The first convolution of `vgg_mini` has 16 filters of $3 \times 3$ weights on one
# grey channel. Drawn as images (bright: a large weight), each is a tiny pattern
# the layer looks for at every position: a bright centre, a dark-to-bright edge in
# some direction. Zeiler and Fergus drew the $7 \times 7$ filters of a large
# ImageNet network this way and found edges and colour blobs; at $3 \times 3$ there
# is room for little more than a direction.

# %%
filters = inside.first_conv(nets["VGG"]).weight.detach()
plots.heatmaps(
    [f[0] for f in filters],
    [f"{i}" for i in range(len(filters))],
    "weight",
    ncols=8,
    cmap="gray",
    title="vgg_mini, first convolution: 16 filters of 3x3",
)
plt.show()

# %% [markdown]
# How much of each pattern did training draw? Compare with where the filters started:

# %%
moved = float((filters - initial_filters).norm() / initial_filters.norm())
verdict = "mostly the random start" if moved < 0.5 else "mostly drawn by training"
text = (
    f"In {STEPS} steps the first layer's weights moved by {moved:.1%} of their "
    f"initial norm: the patterns above are {verdict}. The edge and colour detectors "
    "that Zeiler and Fergus drew come from long training on over a million photos."
)
display(show.note(text, "info", "Learnt or drawn at random?"))

# %% [markdown]
# ## The feature maps after each block
#
# One validation patch, run through the trained VGG, with a forward hook on each
# block to keep its output (`inside.layer_outputs`). Each block halves the height
# and width and doubles the channels. Of each block's maps, the 8 with the largest
# mean activation for this patch are drawn (many others are almost all zero), on
# one colour scale per block.

# %%
brick = bundle.classes.index("brick")
image = bundle.val.images[bundle.val.labels == brick][:1]
plots.images([image[0, 0]], ["a brick patch"], width=2.4, height=2.6, gray=True)
plt.show()

blocks = [f"features.{i}" for i in range(len(nets["VGG"].features))]
outputs = inside.layer_outputs(nets["VGG"], image, blocks)
for i, out in enumerate(outputs.values(), start=1):
    c, h, w = out.shape[1:]
    strongest = out[0].mean(dim=(1, 2)).topk(8).indices.sort().values.tolist()
    plots.heatmaps(
        [out[0, k] for k in strongest],
        [f"map {k}" for k in strongest],
        "activation",
        ncols=8,
        title=f"block {i}: {c} maps of {h} x {w}, the 8 most active",
    )
    plt.show()

# %% [markdown]
# The blocks' outputs for this patch, and how many of their values the ReLUs set to
# zero:

# %%
rows = [
    (f"block {i}", "x".join(map(str, out.shape[1:])), float((out == 0).float().mean()))
    for i, out in enumerate(outputs.values(), start=1)
]
headers = ["output of", "shape (C x H x W)", "values at zero"]
display(show.table(rows, headers, formats={"values at zero": ".1%"}))

# %% [markdown]
# ## Grad-CAM
#
# Take a layer's output $A$: $K$ maps $A_k$ of $h \times w$ positions. Let $y_c$ be
# the score of class $c$ (the logit, before the softmax). Grad-CAM gives each map a
# weight, the gradient of the score averaged over the positions, and keeps the
# positive part of the weighted sum:
#
# $$
# \alpha_k^c = \frac{1}{hw} \sum_{i,j} \frac{\partial y_c}{\partial A_k[i,j]},
# \qquad
# L^c = \mathrm{ReLU}\Big(\sum_k \alpha_k^c A_k\Big).
# $$
#
# A map with a large weight is one whose brightening would raise the score of class
# $c$; where such maps are bright, the image holds evidence for $c$. The ReLU drops
# the positions that argue against it. In the package, a forward hook on the layer
# keeps $A$, and a hook on that output tensor keeps the gradient that autograd
# passes through it:

# %%
show.source(gradcam.activations_and_gradients)

# %%
show.source(gradcam.grad_cam)

# %% [markdown]
# captum, the PyTorch project's interpretability library, has the same method as
# `LayerGradCam`; the package's test `tests/test_gradcam.py` runs both on the same
# models (a VGG and two ResNets), inputs, layers and classes, and requires the maps
# to agree to float32 rounding, before and after upsampling.
#
# The layer is the last one with a spatial grid: the ReLU after the last
# convolution of `vgg_mini` (before its last max-pool), and the last stage of the
# ResNet. Both give $8 \times 8$ maps for a $32 \times 32$ image, which `upsample`
# stretches to the image to draw them.

# %% [markdown]
# ## Does the map point at the right thing?
#
# A patch of brick is brick everywhere, so a map of "where is the brick" says
# little on a single patch. Instead, each image below is **half and half**: the left
# half of a validation patch of one class and the right half of a patch of another.
# Neither network saw such an image in training. If Grad-CAM shows the evidence
# for a class, the map for the left class should sit on the left, and the map for
# the right class on the right.

# %%
grass = bundle.classes.index("grass")
left = bundle.val.images[bundle.val.labels == brick][:1]
right = bundle.val.images[bundle.val.labels == grass][:1]
mixed = inside.half_and_half(left, right)
side = tuple(mixed.shape[-2:])

fig, axes = plots.subplots(2, 3, width=6.4, height=4.6, squeeze=False)
for row, (label, model) in zip(axes, nets.items(), strict=True):
    with torch.no_grad():
        probs = model(mixed).softmax(1)[0]
    row[0].imshow(mixed[0, 0], cmap="gray")
    row[0].set_title(f"{label}: brick | grass")
    for ax, c in zip(row[1:], (brick, grass), strict=True):
        cam = gradcam.grad_cam(model, mixed, c, layers[label])
        cam = gradcam.upsample(cam, side)[0]
        ax.imshow(mixed[0, 0], cmap="gray")
        shown = ax.imshow(cam / cam.max(), cmap="magma", alpha=0.6, vmin=0, vmax=1)
        ax.set_title(f"{bundle.classes[c]} (p = {probs[c]:.2f})")
    for ax in row:
        ax.set_axis_off()
fig.colorbar(shown, ax=axes, label="Grad-CAM / its largest value", shrink=0.8)
plt.show()

# %% [markdown]
# The probabilities in the titles are each network's answer for this image, a
# question it never met in training. One image proves little. The same test on
# many: for every ordered pair of the three classes, 16 half-and-half images from
# the first 16 validation patches of each class, and for each image the maps of
# both of its classes. The score is the
# share of a map's mass that lies on the half showing its class, measured on the
# layer's own $8 \times 8$ grid; a map blind to the class would score 0.5 on
# average.

# %%
rows, shares = [], {}
for label, model in nets.items():
    s = inside.target_half_shares(
        model, layers[label], bundle.val.images, bundle.val.labels, per_class=16
    )
    shares[label] = s
    rows.append(
        (
            label,
            len(s),
            float(s.nanmean()),
            float((s > 0.5).float().mean()),
            int(s.isnan().sum()),
        )
    )
display(
    show.table(
        rows,
        ["network", "maps", "share on its class's half", "above 0.5", "all-zero"],
        f"Half-and-half validation images; mean over maps; seed {SEED}",
        formats={"share on its class's half": ".1%", "above 0.5": ".1%"},
    )
)

# %%
better = max(shares, key=lambda k: float(shares[k].nanmean()))
reading = (
    f"On images neither network was trained on, the VGG puts "
    f"{float(shares['VGG'].nanmean()):.0%} of a class's map on that class's half and "
    f"the ResNet {float(shares['ResNet'].nanmean()):.0%}, against 50% for a map blind "
    f"to the class; the {better} follows the class more closely in this build."
)
display(show.note(reading, "info", "Reading of this build's numbers"))

# %% [markdown]
# ## What this shows, and what it does not
#
# The scale is small on purpose: three classes of grey texture, $32 \times 32$
# pixels, networks of well under a million parameters trained for a few dozen
# steps, so that the page trains them in seconds. At this scale the page shows the
# mechanics (filters, feature maps and Grad-CAM computed from a real trained
# network) and one honest test of Grad-CAM: whether the map moves with the class
# on images built so that the right answer is known.
#
# It does not show how Grad-CAM behaves on photographs of objects at $224 \times
# 224$, where the last convolutional maps of a VGG-16 or a ResNet-50 are $14
# \times 14$ or $7 \times 7$; the code is the same, only the layer name changes.
# Nor does a map that looks right prove that the network "understands" the class:
# Grad-CAM shows where the gradient and the features agree, at the resolution of one
# layer, and two networks that classify equally well can draw different maps.

# %% [markdown]
# ## References
#
# * [Selvaraju et al. (2017), Grad-CAM: Visual Explanations from Deep Networks via
#   Gradient-based Localization](https://arxiv.org/abs/1610.02391)
# * [Zeiler & Fergus (2014), Visualizing and Understanding Convolutional
#   Networks](https://arxiv.org/abs/1311.2901)
# * [Zhou et al. (2016), Learning Deep Features for Discriminative Localization
#   (CAM)](https://arxiv.org/abs/1512.04150)
# * [Kokhlikyan et al. (2020), Captum: A unified and generic model interpretability
#   library for PyTorch](https://arxiv.org/abs/2009.07896)
# * [Bibliography](../reference/bibliography.md)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** The ResNet ends with global average pooling and one linear layer.
# Show that Grad-CAM at its last stage is the class activation map (CAM) of Zhou et
# al., $\mathrm{ReLU}(\sum_k W_{ck} A_k)$, up to a constant factor. Which factor? Why
# is the same not true of the VGG?

# %%
display(show.solution(ex.cam_check_text()))

# %% [markdown]
# **Exercise 2.** A Grad-CAM that sums the gradients over the positions instead of
# averaging them draws the same picture. Why, and how would you catch the
# difference?

# %%
display(show.solution(ex.sum_check_text()))

# %% [markdown]
# **Exercise 3.** How many input pixels does one cell of each network's Grad-CAM
# map cover, and how many pixels does one unit of the layer see (its receptive
# field)? What does that say about the half-and-half test?

# %%
display(show.solution(ex.resolutions_text()))
