"""Pages find recorded results wherever they are executed from."""

from __future__ import annotations

import os

from cnnbook import results


def test_recorded_results_are_found_from_any_working_directory(tmp_path):
    here = os.getcwd()
    try:
        os.chdir(tmp_path)
        found = results.find("scaling*.json")
    finally:
        os.chdir(here)
    assert [p.name for p in found] == ["scaling-cpu.json"]
    assert results.load(found[0])["command"].startswith("python benchmarks/scaling.py")
