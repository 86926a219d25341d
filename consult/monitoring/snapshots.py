"""The dashboard's and summaries' figures and charts, computed once and reused.

The indicators come from the summary rows (``figures``: a few small statements) and the
charts take time to draw, so both are kept in the cache (Flask-Caching: files in
``instance/cache``, or Redis when ``REDIS_URL`` is set) for ``MONITORING_SNAPSHOT_SECONDS``
and reused by every reader of the same scope, period and language. The page says as of when
its figures are; ``consult refresh-monitoring`` (from cron) recomputes the common scopes
ahead of readers. The charts are also kept by the figures they draw (``CHARTS_SECONDS``), so
a new snapshot of unchanged figures draws nothing: they are drawn once per change of data.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from flask import current_app
from flask_babel import get_locale
from markupsafe import Markup

from consult.core.db import utcnow
from consult.extensions import cache
from consult.monitoring import charts, figures
from consult.monitoring.scope import Scope
from consult.monitoring.service import Indicators

#: bumped when Indicators or the charts change shape, so old snapshots are not read
FORMAT = 2
#: how long charts are kept for the figures they draw (figures that change get new charts)
CHARTS_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Snapshot:
    indicators: Indicators
    charts: dict[str, Markup]
    as_of: datetime
    key: str


def _key(scope: Scope, language: str | None = None) -> str:
    parts = (
        scope.start,
        scope.end,
        scope.timezone,
        scope.municipality_id,
        scope.country,
        scope.co_id,
    )
    return f"monitoring:{FORMAT}:{':'.join(map(str, parts))}:{language or get_locale()}"


def taken_at(scope: Scope, language: str | None = None) -> datetime | None:
    """When the cached snapshot of ``scope`` was taken (a small read: the snapshot itself is
    not loaded), or None when there is none; in ``language`` (default: the page's)."""
    if not current_app.config["MONITORING_SNAPSHOT_SECONDS"]:
        return None
    try:
        return cache.get(_key(scope, language) + ":at")
    except Exception:  # noqa: BLE001 - a cache that is down has nothing
        return None


def take(scope: Scope, *, refresh: bool = False) -> Snapshot:
    """The figures and charts of ``scope``: from the cache when a recent snapshot is there,
    else computed now (and kept). ``refresh`` recomputes whatever the cache holds."""
    seconds = current_app.config["MONITORING_SNAPSHOT_SECONDS"]
    key = _key(scope)
    if seconds and not refresh:
        try:
            found = cache.get(key)
        except Exception:  # noqa: BLE001 - a cache that is down means "compute it now"
            current_app.logger.warning("monitoring cache unreadable", exc_info=True)
            found = None
        if isinstance(found, Snapshot):
            return found
    ind = figures.indicators(scope)
    snapshot = Snapshot(ind, _charts(ind, seconds), utcnow(), key)
    if seconds:
        try:
            cache.set(key, snapshot, timeout=seconds)
            cache.set(key + ":at", snapshot.as_of, timeout=seconds)
        except Exception:  # noqa: BLE001 - the page is still right, only not kept
            current_app.logger.warning("monitoring cache unwritable", exc_info=True)
    return snapshot


def _charts(ind: Indicators, seconds: int) -> dict[str, Markup]:
    """The charts of ``ind``, drawn once per language and figures (kept by their digest)."""
    if not seconds:
        return charts.for_indicators(ind)
    figures_drawn = repr(replace(ind, votes_until=None)).encode()
    key = f"monitoring:{FORMAT}:charts:{get_locale()}:{hashlib.sha256(figures_drawn).hexdigest()}"
    try:
        found = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache that is down means "draw them now"
        found = None
    if isinstance(found, dict):
        return {name: Markup(svg) for name, svg in found.items()}  # noqa: S704 - drawn below
    drawn = charts.for_indicators(ind)
    try:
        cache.set(key, {name: str(svg) for name, svg in drawn.items()}, timeout=CHARTS_SECONDS)
    except Exception:  # noqa: BLE001 - the page is still right, only not kept
        current_app.logger.warning("monitoring cache unwritable", exc_info=True)
    return drawn


def rendered(snapshot: Snapshot, variant: str, render: Callable[[], str]) -> Markup:
    """The snapshot's figures as HTML (its tables and charts, ``render()``), made once per
    snapshot and ``variant`` (what else the HTML depends on, e.g. the export links' filters)
    and kept beside it: a page of 140 municipalities formats hundreds of numbers."""
    seconds = current_app.config["MONITORING_SNAPSHOT_SECONDS"]
    key = f"{snapshot.key}:html:{snapshot.as_of.isoformat()}:{variant}"
    if seconds:
        try:
            found = cache.get(key)
        except Exception:  # noqa: BLE001 - a cache that is down means "render it now"
            found = None
        if isinstance(found, str):
            return Markup(found)  # noqa: S704 - what render() made below, kept as text
    html = render()
    if seconds:
        try:
            cache.set(key, str(html), timeout=seconds)
        except Exception:  # noqa: BLE001 - the page is still right, only not kept
            current_app.logger.warning("monitoring cache unwritable", exc_info=True)
    return Markup(html)  # noqa: S704 - a rendered template: Jinja escaped what it holds
