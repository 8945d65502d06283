"""The page display helpers: what a reader sees is escaped, folded where it must be."""

from __future__ import annotations

from cnnbook import show


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
    assert "<td>a&lt;b</td><td>1,234,567</td><td>0.5</td>" in t._repr_html_()
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
