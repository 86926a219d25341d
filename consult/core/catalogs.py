"""Compiled translation catalogs are build output: each ``<lang>/LC_MESSAGES/messages.mo`` is
made from its ``messages.po`` when the wheel is built (``setup.py``) and, in a checkout, when the
app starts and finds it missing or older than its source. Nothing compiled is kept in git, so
the bytes never depend on which Babel release wrote them.

This module imports nothing but Babel and the standard library: ``setup.py`` loads it by path
in the build environment, where Consult's own dependencies are not installed.
"""

import logging
import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)


def compile_catalog(po: Path, mo: Path) -> None:
    """Compile one ``.po`` into ``.mo``, written atomically (a temporary file, then a rename),
    so several workers starting at once never read a half-written catalog. Fuzzy entries are
    left out: a translator has not confirmed them."""
    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name)
    fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.replace(tmp, mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def compile_catalogs(directory: Path, *, only_stale: bool = False) -> list[Path]:
    """Compile every ``<directory>/<lang>/LC_MESSAGES/*.po`` beside itself.

    With ``only_stale``, a catalog whose ``.mo`` is at least as new as its ``.po`` is skipped.
    Returns the ``.mo`` paths written."""
    written = []
    for po in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if only_stale and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        compile_catalog(po, mo)
        written.append(mo)
    return written


def ensure_compiled(directory: Path) -> None:
    """At start-up: compile what is missing or stale. An installed package whose folder is not
    writable keeps the catalogs its wheel was built with; that is logged, not fatal."""
    try:
        compile_catalogs(directory, only_stale=True)
    except OSError as error:
        log.warning("could not compile the translation catalogs in %s: %s", directory, error)
