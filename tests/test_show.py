"""The page display helpers: what a reader sees is escaped, folded where it must be."""

from __future__ import annotations

import inspect

import pytest
from torch import nn

from cnnbook import show

RIGHT = ' style="text-align: right; white-space: nowrap"'


def test_solution_is_folded_and_escaped():
    s = show.solution("VGG-16 has 138,357,544 parameters.\n\nThe <head> holds 89%.")
    html_text = s._repr_html_()
    assert html_text.startswith('<details class="success"><summary>Solution</summary>')
    assert "open" not in html_text.split(">")[0]  # folded until the reader opens it
    assert "<p>The &lt;head&gt; holds 89%.</p>" in html_text
    assert html_text.count("<p>") == 2
    assert str(s).startswith("[Solution, folded] VGG-16")


def test_table_separates_thousands_and_escapes():
    t = show.table([("a<b", 1234567, 0.5)], ["name", "n", "x"], "cap")
    assert f"<td>a&lt;b</td><td{RIGHT}>1,234,567</td><td{RIGHT}>0.5000</td>" in t._repr_html_()
    assert "<caption>cap</caption>" in t._repr_html_()


def test_points_is_an_abstract_admonition_with_escaped_bullets():
    p = show.points(["Blocks repeat.", "3x3 < 5x5 in <params>."])
    html_text = p._repr_html_()
    assert html_text == (
        '<div class="admonition abstract"><p class="admonition-title">In short</p>'
        "<ul><li>Blocks repeat.</li><li>3x3 &lt; 5x5 in &lt;params&gt;.</li></ul></div>"
    )
    assert str(p) == "- Blocks repeat.\n- 3x3 < 5x5 in <params>."
    assert 'class="admonition tip"' in show.points(["x"], kind="tip")._repr_html_()


def test_table_lines_up_numbers_and_shares_one_format_per_column():
    t = show.table(
        [("a", 1234, 0.3229, "33.3%"), ("b", 5, 0.5, "4.0%")],
        ["name", "count", "loss", "acc"],
    )
    html_text = t._repr_html_()
    right = f"<td{RIGHT}>"
    # Floats of one column share their decimals: 0.3229 above 0.5000, not above 0.5.
    assert f"{right}0.3229</td>" in html_text and f"{right}0.5000</td>" in html_text
    assert f"{right}1,234</td>" in html_text
    assert f"{right}33.3%</td>" in html_text  # a number written as text lines up too
    assert "<td>a</td>" in html_text  # text stays left-aligned
    assert '<th style="text-align: right">count</th>' in html_text  # headers may wrap
    assert str(t).splitlines() == [
        "name  count    loss    acc",
        "a     1,234  0.3229  33.3%",
        "b         5  0.5000   4.0%",
    ]


def test_table_formats_by_header_or_position_and_footer():
    t = show.table(
        [("x", 0.25, 3), ("y", 0.125, None)],
        ["part", "share", "n"],
        formats={"share": ".1%"},
        footer=("total", 0.375, 3),
    )
    html_text = t._repr_html_()
    assert ">25.0%</td>" in html_text and ">12.5%</td>" in html_text
    assert "<tfoot><tr><td>total</td>" in html_text and ">37.5%</td>" in html_text
    assert f"<td{RIGHT}>–</td>" in html_text  # None is a dash; the column stays numeric
    assert html_text.count("text-align: right") == 2 * 4  # share and n: header, 2 rows, footer
    by_position = show.table([(1.0, 2.0)], ["a", "b"], formats=[".2f", lambda v: f"{v:g} s"])
    assert ">1.00</td>" in by_position._repr_html_() and ">2 s</td>" in by_position._repr_html_()


def test_table_cells_break_lines_and_booleans_read_as_words():
    t = show.table([("conv3-64\nconv3-64", True, False)], ["block 1", "BN", "LRN"])
    html_text = t._repr_html_()
    assert "<td>conv3-64<br>conv3-64</td>" in html_text
    assert "<td>yes</td><td>no</td>" in html_text


def test_table_refuses_rows_and_formats_that_do_not_match_the_headers():
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        show.table([(1, 2, 3)], ["a", "b"])
    with pytest.raises(KeyError, match="'c'"):
        show.table([(1, 2)], ["a", "b"], formats={"c": ".1f"})
    with pytest.raises(ValueError, match="1 entries for 2 columns"):
        show.table([(1, 2)], ["a", "b"], formats=[".1f"])


def test_summary_is_torchinfos_table_with_block_totals():
    net = nn.Sequential(
        nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.MaxPool2d(2)
        ),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, 5),
    )
    t = show.summary(net, (1, 3, 8, 8), depth=2, caption="tiny")
    html_text = t._repr_html_()
    conv1, conv2 = (27 * 8 + 8, (27 * 8 + 8) * 64), (72 * 8 + 8, (72 * 8 + 8) * 64)
    linear = 128 * 5 + 5
    # The block's row carries its layers' totals; shapes drop the batch.
    block = (conv1[0] + conv2[0], conv1[1] + conv2[1])
    assert (
        f"<td>0</td><td>Sequential</td><td>8×4×4</td><td{RIGHT}>{block[0]:,}</td>"
        f"<td{RIGHT}>{block[1]:,}</td>"
    ) in html_text
    assert f"<td>0.2</td><td>Conv2d</td><td>8×8×8</td><td{RIGHT}>{conv2[0]:,}</td>" in html_text
    assert "<td>2</td><td>Linear</td><td>5</td>" in html_text
    total = block[0] + linear
    assert f"<tfoot><tr><td>total</td><td></td><td></td><td{RIGHT}>{total:,}</td>" in html_text
    assert f"<td{RIGHT}>{block[1] + linear:,}</td></tr></tfoot>" in html_text
    assert "<caption>tiny</caption>" in html_text


def test_source_is_the_highlighted_listing_of_the_installed_package():
    from cnnbook.models import vgg_blocks

    listing = show.source(vgg_blocks.vgg_block)
    assert listing.caption.startswith("cnnbook.models.vgg_blocks.vgg_block - cnnbook ")
    assert "cnnbook/models/vgg_blocks.py lines " in listing.caption
    assert listing.text == inspect.getsource(vgg_blocks.vgg_block)
    html_text = listing._repr_html_()
    assert '<div class="language-python highlight">' in html_text
    assert '<span class="k">def</span>' in html_text  # highlighted, not plain text
    with pytest.raises(LookupError, match="no importable name"):
        show.source(lambda: None)


def test_a_settings_column_keeps_ints_as_ints_and_each_float_short():
    rows = [("data", "mnist"), ("epochs", 32), ("lr", 0.1), ("weight_decay", 1e-4)]
    text = show.table(rows, ["setting", "value"])._repr_html_()
    for cell in ("<td>mnist</td>", ">32<", ">0.1<", ">0.0001<"):
        assert cell in text, cell
    # A column of numbers only still shares one float format, ints included.
    numbers = show.table([("a", 32), ("b", 0.5)], ["name", "x"])._repr_html_()
    assert ">32<" in numbers and ">0.5000<" in numbers


def _roundtrip(listing_text: str, name: str) -> inspect.Signature:
    """The signature a listing spells, read back by Python itself."""
    source = "from __future__ import annotations\ndef " + listing_text.replace(name, "f", 1)
    namespace: dict = {}
    exec(source.rstrip() + ": ...", namespace)  # noqa: S102 - our own listing, in a test
    return inspect.signature(namespace["f"])


def _sample(a: int, b, /, c: list[int] = (), *rest, d=1, e: str = "x", **kw) -> bool:
    return bool(a)


def _keywords(x, *, y=None):
    return x


@pytest.mark.parametrize(
    ("func", "name"), [(_sample, "_sample"), (_keywords, "_keywords"), (None, "engine.fit")]
)
def test_signature_is_the_function_signature_one_parameter_a_line(func, name):
    from cnnbook import engine

    func = func or engine.fit
    listing = show.signature(func, name)
    assert listing.text.startswith(f"{name}(\n    ")
    assert str(_roundtrip(listing.text, name)) == str(inspect.signature(func))
    assert max(len(line) for line in listing.text.splitlines()) <= 88
    assert listing.caption.startswith(f"{func.__module__}.{func.__qualname__} - signature, ")
    html_text = listing._repr_html_()
    assert 'class="cnnbook-listing"' in html_text and '<span class="o">' in html_text
