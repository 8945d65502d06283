"""The MkDocs hooks: a notebook page's .ipynb download, made at build from its jupytext source."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]

SOURCE = """# %% [markdown]
# # A tiny page
#
# Some prose with $x^2$.

# %%
x = 21
print(x * 2)

# %% tags=["hide-input"]
import math

math.pi
"""


@pytest.fixture(scope="module")
def hooks():
    spec = importlib.util.spec_from_file_location(
        "cnnbook_mkdocs_hooks", ROOT / "tools/mkdocs_hooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "docs" / "tiny-page.py"
    path.parent.mkdir()
    path.write_text(SOURCE, encoding="utf-8")
    return path


def test_ipynb_is_the_source_as_a_notebook_without_outputs(hooks, source, tmp_path):
    target = hooks.write_ipynb(source, tmp_path / "site" / "tiny-page")

    assert target == tmp_path / "site" / "tiny-page" / "tiny-page.ipynb"
    nb = json.loads(target.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]] == [
        ("markdown", "# A tiny page\n\nSome prose with $x^2$."),
        ("code", "x = 21\nprint(x * 2)"),
        ("code", "import math\n\nmath.pi"),
    ]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert code[1]["metadata"]["tags"] == ["hide-input"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "jupytext" not in nb["metadata"]


def test_ipynb_is_valid_and_the_same_on_every_build(hooks, source, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    first = hooks.write_ipynb(source, tmp_path / "a").read_bytes()
    second = hooks.write_ipynb(source, tmp_path / "b").read_bytes()
    assert first == second
    nbformat.validate(nbformat.reads(first.decode(), as_version=4))


def _page(src_uri: str, abs_src: Path, abs_dest: Path):
    return SimpleNamespace(
        file=SimpleNamespace(
            src_uri=src_uri, abs_src_path=str(abs_src), abs_dest_path=str(abs_dest)
        )
    )


def test_post_page_writes_the_ipynb_beside_a_notebook_page_only(hooks, source, tmp_path):
    site = tmp_path / "site"
    notebook = _page("tiny-page.py", source, site / "tiny-page" / "index.html")
    hooks.on_post_page("<html></html>", notebook, config={})
    assert (site / "tiny-page" / "tiny-page.ipynb").is_file()

    markdown = tmp_path / "docs" / "prose.md"
    markdown.write_text("# Prose\n", encoding="utf-8")
    hooks.on_post_page(
        "<html></html>", _page("prose.md", markdown, site / "prose" / "index.html"), {}
    )
    assert list(site.rglob("*.ipynb")) == [site / "tiny-page" / "tiny-page.ipynb"]


def test_template_links_the_ipynb_by_the_stem_the_hook_writes():
    template = (ROOT / "tools/overrides/main.html").read_text(encoding="utf-8")
    assert '{% set ipynb_name = nb_name.rsplit(".", 1)[0] ~ ".ipynb" %}' in template
    assert '<a href="{{ ipynb_name }}" download' in template
