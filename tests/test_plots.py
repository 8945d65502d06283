"""The book's figures share one style: legible on both themes, labelled, nothing overlapping."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnbook import plots  # noqa: E402

HISTORY = {
    "epochs": [
        {"epoch": e, "train_loss": 1 / e, "train_acc": 0.5 + e / 10, "val_loss": 1.1 / e,
         "val_acc": 0.45 + e / 10}
        for e in (1, 2, 3)
    ]
}  # fmt: skip


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_figures_are_transparent_and_full_width():
    fig, ax = plots.subplots()
    assert fig.get_facecolor()[3] == 0 and ax.get_facecolor()[3] == 0  # no white slab
    assert fig.get_size_inches()[0] * fig.dpi == pytest.approx(750)  # the text column
    assert matplotlib.rcParams["text.color"] == plots.INK


def test_history_labels_every_axis_and_its_title_clears_the_axes():
    fig = plots.plot_history(HISTORY, title="vgg_mini on digits")
    loss, acc = fig.axes
    assert loss.get_ylabel().startswith("loss") and acc.get_ylabel() == "accuracy"
    assert loss.get_xlabel() == acc.get_xlabel() == "epoch"
    assert [t.get_text() for t in acc.get_legend().get_texts()] == ["training", "validation"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes:
        assert not _overlaps(title, ax.get_tightbbox(renderer)), "suptitle overlaps an axes"


def test_confusion_and_heatmaps_carry_a_colour_bar_with_a_label():
    fig = plots.plot_confusion([0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"])
    *_, bar = fig.axes
    assert bar.get_ylabel() == "images"
    fig.canvas.draw()
    assert all(t.get_text().isdigit() for t in bar.get_yticklabels())  # whole images
    maps = [np.ones((3, 3)), 2 * np.ones((3, 3)), np.zeros((3, 3))]
    fig = plots.heatmaps(maps, ["a", "b", "c"], "gradient share", ncols=2)
    panels, bar = fig.axes[:4], fig.axes[-1]
    assert bar.get_ylabel() == "gradient share"
    # One colour scale for every panel, from 0 to the largest value of all maps.
    assert {p.images[0].get_clim() for p in panels if p.images} == {(0.0, 2.0)}
    assert not panels[3].get_visible()  # the spare fourth panel of a 2x2 grid
    with pytest.raises(ValueError, match="3 maps but 2 titles"):
        plots.heatmaps(maps, ["a", "b"], "x")


def test_saved_files_are_transparent_pngs(tmp_path):
    from PIL import Image

    plots.plot_history(HISTORY, tmp_path / "curves.png")
    image = Image.open(tmp_path / "curves.png")
    assert image.mode == "RGBA" and image.getpixel((2, 2))[3] == 0


def test_jupyter_reads_the_figures_as_drawn_for_a_light_page():
    from matplotlib_inline.backend_inline import _fetch_figure_metadata

    fig = plots.plot_history(HISTORY)
    fig.canvas.draw()
    # "dark" would make JupyterLab paint a near-black slab behind the figure.
    assert _fetch_figure_metadata(fig) == {"needs_background": "light"}
