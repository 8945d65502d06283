"""The execution cache (tools/exec_cache.py): what a page's key depends on, and real builds.

The key must change with everything a page's output depends on (the page, the
package, the pinned versions, the recorded results) and with nothing else; a
tiny site built several times shows which pages actually execute.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import mkdocs_jupyter.plugin as jupyter_plugin
import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "tools/exec_cache.py"


@pytest.fixture(scope="module")
def exec_cache():
    spec = importlib.util.spec_from_file_location("cnnbook_exec_cache", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def plugin():
    plugin = jupyter_plugin.Plugin()
    errors, _ = plugin.load_config({"execute": True, "include": ["*.py"]})
    assert errors == []
    return plugin


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path):
    """A checkout's layout in miniature: inputs of the key, and files that are not."""
    for name, text in {
        "src/cnnbook/__init__.py": "__version__ = '1'\n",
        "src/cnnbook/models/vgg.py": "WIDTH = 64\n",
        "src/cnnbook/__pycache__/vgg.cpython-311.pyc": "bytecode",
        "pyproject.toml": "[project]\nname = 'cnnbook'\n",
        "requirements/lock.txt": "torch==2.5.1\n",
        "docs/results/degradation-cpu.json": '{"rows": []}\n',
        "docs/vgg/blocks.py": "# %%\nprint(1)\n",
        "docs/vgg/family.py": "# %%\nprint(2)\n",
        "docs/index.md": "# Home\n",
        "tests/test_vgg.py": "def test(): pass\n",
        "README.md": "# cnnbook\n",
    }.items():
        _write(tmp_path / name, text)
    return tmp_path


def _key(exec_cache, plugin, root: Path, env: str = "python 3.11; torch==2.5.1") -> str:
    digest = exec_cache.project_digest(root, env=env)
    return exec_cache.page_key(str(root / "docs/vgg/blocks.py"), plugin.config, True, digest)


INVALIDATING = {
    "the page": lambda r: _write(r / "docs/vgg/blocks.py", "# %%\nprint(10)\n"),
    "a package module": lambda r: _write(r / "src/cnnbook/models/vgg.py", "WIDTH = 32\n"),
    "a new package module": lambda r: _write(r / "src/cnnbook/models/new.py", ""),
    "the lock file": lambda r: _write(r / "requirements/lock.txt", "torch==2.6.0\n"),
    "pyproject.toml": lambda r: _write(r / "pyproject.toml", "[project]\nname = 'x'\n"),
    "a recorded result": lambda r: _write(
        r / "docs/results/degradation-cpu.json", '{"rows": [1]}\n'
    ),
    "a new recorded result": lambda r: _write(r / "docs/results/slimming-cpu.json", "{}"),
    "a removed recorded result": lambda r: (r / "docs/results/degradation-cpu.json").unlink(),
}

NEUTRAL = {
    "nothing": lambda r: None,
    "another page": lambda r: _write(r / "docs/vgg/family.py", "# %%\nprint(20)\n"),
    "a Markdown page": lambda r: _write(r / "docs/index.md", "# Start\n"),
    "a test": lambda r: _write(r / "tests/test_vgg.py", "def test(): assert 1\n"),
    "the README": lambda r: _write(r / "README.md", "# book\n"),
    "bytecode": lambda r: _write(r / "src/cnnbook/__pycache__/vgg.cpython-311.pyc", "new"),
}


@pytest.mark.parametrize("edit", INVALIDATING, ids=list(INVALIDATING))
def test_key_changes_with_what_the_output_depends_on(exec_cache, plugin, project, edit):
    before = _key(exec_cache, plugin, project)
    INVALIDATING[edit](project)
    assert _key(exec_cache, plugin, project) != before, f"editing {edit} keeps the page's key"


@pytest.mark.parametrize("edit", NEUTRAL, ids=list(NEUTRAL))
def test_key_stays_when_nothing_it_depends_on_changes(exec_cache, plugin, project, edit):
    before = _key(exec_cache, plugin, project)
    NEUTRAL[edit](project)
    assert _key(exec_cache, plugin, project) == before, f"editing {edit} changes the page's key"


def test_key_changes_with_the_installed_environment(exec_cache, plugin, project, monkeypatch):
    assert _key(exec_cache, plugin, project, env="torch==2.5.1") != _key(
        exec_cache, plugin, project, env="torch==2.6.0"
    )
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    one = exec_cache.environment()
    assert f"torch=={metadata.version('torch')}" in one.splitlines()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert exec_cache.environment() != one, "the thread count pages print is not in the key"


def test_key_wraps_mkdocs_jupyter_once(exec_cache, plugin, project, monkeypatch):
    """In `mkdocs serve` each rebuild installs the key again; it must not wrap its own wrapper."""
    before = _key(exec_cache, plugin, project)
    monkeypatch.setattr(jupyter_plugin, "_compute_cache_key", exec_cache._keyed_by("old digest"))
    assert _key(exec_cache, plugin, project) == before


def _config(plugin, root: Path) -> SimpleNamespace:
    return SimpleNamespace(
        plugins={"mkdocs-jupyter": plugin}, config_file_path=str(root / "mkdocs.yml")
    )


def test_ci_turns_the_cache_off(exec_cache, plugin, project, monkeypatch):
    monkeypatch.setattr(jupyter_plugin, "_compute_cache_key", jupyter_plugin._compute_cache_key)
    monkeypatch.setenv("CI", "true")
    exec_cache.on_config(_config(plugin, project))
    assert plugin.config["cache"] is False


def test_cache_dir_is_relative_to_mkdocs_yml(exec_cache, plugin, project, monkeypatch):
    monkeypatch.setattr(jupyter_plugin, "_compute_cache_key", jupyter_plugin._compute_cache_key)
    monkeypatch.delenv("CI", raising=False)
    exec_cache.on_config(_config(plugin, project))
    assert plugin.config["cache"] is True
    assert Path(plugin.config["cache_dir"]) == project / ".cache/mkdocs-jupyter"
    assert jupyter_plugin._compute_cache_key.__wrapped__ is not None


def test_serve_watches_the_package(exec_cache, plugin, project):
    server = SimpleNamespace(watched=[])
    server.watch = server.watched.append
    exec_cache.on_serve(server, _config(plugin, project), builder=None)
    assert server.watched == [str(project / "src/cnnbook")]

    plugin.config["cache"] = False
    server.watched.clear()
    exec_cache.on_serve(server, _config(plugin, project), builder=None)
    assert server.watched == [], "without the cache, a package edit would rebuild nothing"


# A real build: each page appends its name to LOG when it executes.
PAGE = """# %%
with open({log!r}, "a") as fh:
    fh.write({name!r} + "\\n")
"""

SITE = """site_name: cache test
hooks:
  - {hook}
plugins:
  - mkdocs-jupyter:
      include: ["*.py"]
      execute: true
      allow_errors: false
      cache: true
      kernel_name: python3
"""


class Site:
    def __init__(self, root: Path):
        self.root = root
        self.log = root / "executed.txt"
        _write(root / "mkdocs.yml", SITE.format(hook=HOOK))
        _write(root / "docs/index.md", "# Home\n")
        _write(root / "src/cnnbook/__init__.py", "")
        for name in ("a", "b"):
            self.edit_page(name)
        self.cache = root / ".cache/mkdocs-jupyter"

    def edit_page(self, name: str, extra: str = "") -> None:
        _write(self.root / f"docs/{name}.py", PAGE.format(log=str(self.log), name=name) + extra)

    def build(self, dirty: bool = False) -> Counter:
        """Build (in this process, to spare an interpreter start), and count how often
        each page has executed so far."""
        config = load_config(str(self.root / "mkdocs.yml"), site_dir=str(self.root / "site"))
        config.plugins.on_startup(command="build", dirty=dirty)
        try:
            build(config, dirty=dirty)
        finally:
            config.plugins.on_shutdown()
        lines = self.log.read_text().split() if self.log.exists() else []
        return Counter(lines)

    def entries(self) -> list[Path]:
        return sorted(self.cache.glob("*.json"))


@pytest.mark.slow
def test_a_built_page_executes_again_only_when_its_inputs_change(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    # The hook installs its key into mkdocs-jupyter; put the original back afterwards.
    monkeypatch.setattr(jupyter_plugin, "_compute_cache_key", jupyter_plugin._compute_cache_key)
    # Started from elsewhere, as `mkdocs -f` may be: the cache still lives beside mkdocs.yml.
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    site = Site(tmp_path)
    assert site.build() == {"a": 1, "b": 1}
    assert site.build() == {"a": 1, "b": 1}, "a second build executed pages again"

    # `make serve` rebuilds --dirty: only the edited page renders, and the
    # other page's entry must survive mkdocs-jupyter's eviction.
    site.edit_page("a", extra="# edited\n")
    assert site.build(dirty=True) == {"a": 2, "b": 1}
    assert site.build() == {"a": 2, "b": 1}, "the unedited page lost its cache entry"

    # A package edit touches no page file, yet every page must execute; the
    # entries it made stale are evicted.
    _write(tmp_path / "src/cnnbook/models.py", "WIDTH = 8\n")
    assert site.build(dirty=True) == {"a": 3, "b": 2}
    assert len(site.entries()) == 2

    # An entry cut short (a build stopped while writing it) costs one execution, not the build.
    entry = site.entries()[0]
    text = entry.read_text()
    entry.write_text(text[: len(text) // 2])
    assert sum(site.build().values()) == 6
    assert all(json.loads(p.read_text()) for p in site.entries())
