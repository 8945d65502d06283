"""torchvision's own source, read live, with a guard against drift.

The "Inside torchvision" pages quote torchvision as it is installed, never a
copy, so the code a reader sees is always the code that runs. The prose
around it, though, was written for one particular version. ``WALKED``
records, for every object a page explains, a fingerprint of its source and
the torchvision version the explanation was written for; ``check_drift``
compares them with what is installed now and names every object whose code
has changed, so that its explanation gets reviewed instead of silently
going stale.

The package is split by job: ``walked`` (the table of what each page
explains), ``reading`` (the installed source and facts parsed from it),
``drift`` (fingerprints and the check), ``listing`` (showing a source on a
page) and ``offline`` (weights without a network). Everything is
re-exported here, so pages and tests write ``tvsource.show(...)``.
"""

from __future__ import annotations

from cnnbook.tvsource.drift import (
    Drift,
    assert_no_drift,
    check_drift,
    fingerprint,
    normalise,
    page_entries,
    record,
    summary,
)
from cnnbook.tvsource.listing import Code, show
from cnnbook.tvsource.offline import no_downloads, torch_home
from cnnbook.tvsource.reading import (
    Located,
    legacy_default,
    literal_calls,
    locate,
    source,
    version_of,
)
from cnnbook.tvsource.walked import PAGES, WALKED

__all__ = [
    "PAGES",
    "WALKED",
    "Code",
    "Drift",
    "Located",
    "assert_no_drift",
    "check_drift",
    "fingerprint",
    "legacy_default",
    "literal_calls",
    "locate",
    "no_downloads",
    "normalise",
    "page_entries",
    "record",
    "show",
    "source",
    "summary",
    "torch_home",
    "version_of",
]
