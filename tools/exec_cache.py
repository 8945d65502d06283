"""MkDocs hook: a notebook page executes again only when what its output depends on changed.

mkdocs-jupyter can keep each executed page in ``cache_dir``, keyed by the page
file and the plugin's options. A page's output depends on more than that: on
the package it imports, the versions installed, and the recorded results it
reads. This hook folds a digest of those into mkdocs-jupyter's key, so an edited
page executes alone, an edit to the package executes every page, and nothing
else executes at all (``make serve`` after a first build shows the book in
seconds, not minutes).

It also keeps the cache honest in the cases mkdocs-jupyter leaves open:

* mkdocs-jupyter evicts every entry that the build did not render, which after
  a ``--dirty`` rebuild (``make serve``) is every page but the edited one; here
  the entries of all the build's current pages are kept, and only those no page
  maps to any more are evicted.
* An entry cut short (a build stopped while writing it) would stop every later
  build with a JSON error; it is removed and its page executes again.
* ``make serve`` also watches the package, and a ``--dirty`` rebuild executes
  the pages whose entry the edit invalidated, not only the pages whose file changed.
* Under CI (``CI`` set, as every CI service does) the cache is off: CI proves
  that every page executes, and what it publishes is computed there.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pathlib
import sys
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import mkdocs_jupyter.plugin as jupyter_plugin
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files

log = logging.getLogger("mkdocs.hooks.exec_cache")

# What every page's output depends on besides its own source, relative to the
# directory of mkdocs.yml: the package, how the environment is pinned, and the
# recorded runs that pages read.
INPUTS = ("src/cnnbook", "pyproject.toml", "requirements/lock.txt", "docs/results")
# Pages print the thread count beside their timings, and set iteration order
# can reach an output.
ENV_VARS = ("OMP_NUM_THREADS", "PYTHONHASHSEED")

KeyFunction = Callable[[str, Mapping[str, Any], bool], str]


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def environment() -> str:
    """Python, every installed distribution with its version, and ``ENV_VARS``.

    The lock file says what should be installed; this is what is.
    """
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    env = [f"{name}={os.environ.get(name, '')}" for name in ENV_VARS]
    return "\n".join([sys.version, *env, *dists])


def project_digest(root: Path, env: str | None = None) -> str:
    """A digest of ``INPUTS`` under ``root`` (names and contents) and of ``environment()``."""
    hasher = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        hasher.update(f"{name}:{'present' if path.exists() else 'missing'}\n".encode())
        for file in _files(path) if path.exists() else []:
            content = hashlib.sha256(file.read_bytes()).hexdigest()
            hasher.update(f"{file.relative_to(root).as_posix()}:{content}\n".encode())
    hasher.update((environment() if env is None else env).encode())
    return hasher.hexdigest()


def _upstream_key() -> KeyFunction:
    """mkdocs-jupyter's own key function, even when this hook has wrapped it before."""
    key = jupyter_plugin._compute_cache_key
    return getattr(key, "__wrapped__", key)


def page_key(nb_path: str, plugin_config: Mapping[str, Any], exec_nb: bool, digest: str) -> str:
    """mkdocs-jupyter's key of the page (its file and the plugin options) joined with ``digest``."""
    upstream = _upstream_key()(nb_path, plugin_config, exec_nb)
    return hashlib.sha256(f"{upstream}:{digest}".encode()).hexdigest()


def _keyed_by(digest: str) -> KeyFunction:
    @functools.wraps(_upstream_key())
    def key(nb_path: str, plugin_config: Mapping[str, Any], exec_nb: bool) -> str:
        return page_key(nb_path, plugin_config, exec_nb, digest)

    return key


def _ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _plugin(config) -> Any:
    return config.plugins.get("mkdocs-jupyter")


def on_config(config):
    plugin = _plugin(config)
    if plugin is None or not plugin.config["cache"]:
        return config
    if _ci():
        log.info("CI is set: every notebook page executes (the execution cache is off)")
        plugin.config["cache"] = False
        return config
    for name in ("_compute_cache_key", "_get_cache_path"):
        if not hasattr(jupyter_plugin, name):
            raise PluginError(
                f"mkdocs-jupyter no longer has {name}; update tools/exec_cache.py for the "
                "installed version, or set `cache: false` in mkdocs.yml."
            )
    root = Path(config.config_file_path).parent
    # Relative to mkdocs.yml, not to wherever mkdocs was started.
    plugin.config["cache_dir"] = str(root / plugin.config["cache_dir"])
    jupyter_plugin._compute_cache_key = _keyed_by(project_digest(root))
    return config


def _executes(plugin, src_path: str) -> bool:
    # mkdocs-jupyter's own rule, which its key includes (execute_ignore).
    ignored = any(pathlib.PurePath(src_path).match(p) for p in plugin.config["execute_ignore"])
    return bool(plugin.config["execute"]) and not ignored


def _readable(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def _always_modified() -> bool:
    return True


def on_files(files: Files, config) -> Files:
    plugin = _plugin(config)
    if plugin is None or not plugin.config["cache"]:
        return files
    # mkdocs-jupyter's on_files, which ran before this hook's, wrapped its pages.
    pages = [f for f in files if isinstance(f, jupyter_plugin.NotebookFile)]
    missing = 0
    for file in pages:
        key = jupyter_plugin._compute_cache_key(
            file.abs_src_path, plugin.config, _executes(plugin, file.abs_src_path)
        )
        path = jupyter_plugin._get_cache_path(plugin.config["cache_dir"], key)
        # mkdocs-jupyter evicts what it did not use in this build; a --dirty
        # rebuild renders only modified pages, so every current page counts as used.
        plugin._used_cache_paths.add(path)
        if path.exists() and not _readable(path):
            log.info("execution cache: removing an unreadable entry for %s", file.src_uri)
            path.unlink()
        if not path.exists():
            missing += 1
            # A --dirty rebuild renders only pages whose file changed; this page's
            # output is out of date although its file is not.
            file.is_modified = _always_modified
    log.info(
        "execution cache: %d of %d notebook pages execute (cache in %s)",
        missing,
        len(pages),
        plugin.config["cache_dir"],
    )
    return files


def on_serve(server, config, builder):
    # The package is outside docs/; an edit to it must rebuild the pages too.
    plugin = _plugin(config)
    if plugin is not None and plugin.config["cache"]:
        server.watch(str(Path(config.config_file_path).parent / INPUTS[0]))
    return server
