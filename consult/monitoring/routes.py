"""Monitoring: the staff dashboard, CSV exports, the map, and scope summaries for COs and
municipalities. Views load, check the policy, read the filter form and call the service."""

from datetime import date

from flask import (
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from consult.communities.models import CommunityOrganisation, Municipality
from consult.communities.service import co_page_version
from consult.core import localtime
from consult.core.conditional import page_tag, reader_only, tagged, unchanged, versioned
from consult.core.enums import ProblemStatus, ProposalState
from consult.core.forms import load
from consult.core.permissions import require
from consult.monitoring import bp, charts, exports, service, snapshots
from consult.monitoring.forms import DashboardForm, PeriodForm
from consult.monitoring.scope import Scope, days_among, days_of, recall, remember

MAP_LIMIT = 500
STATE_COLOURS = {
    ProposalState.DRAFT: "#8a949e",
    ProposalState.VOTING: "#d68910",
    ProposalState.APPROVED: "#b7950b",
    ProposalState.SUBMITTED: "#ca6f1e",
    ProposalState.UNDER_REVIEW: "#af601a",
    ProposalState.NEGOTIATING: "#935116",
    ProposalState.AGREED: "#0b5cad",
    ProposalState.IN_PROGRESS: "#2874a6",
    ProposalState.COMPLETED: "#1e6b35",
    ProposalState.DECLINED: "#a4161a",
    ProposalState.WITHDRAWN: "#6c3483",
}
SETTLEMENT_COLOUR = "#1d2329"


def _days_of(scope_kw: dict) -> tuple[dict, date]:
    """Whose days a period counts in (``scope.days_of``) and today's date there."""
    days = days_of(**scope_kw)
    return days, localtime.local_today(days["timezone"])


def _scope(form: DashboardForm) -> Scope:
    # the zones come with the places the form lists: no second look-up
    days = days_among(form.municipalities, **form.places_chosen())
    return form.scope(localtime.local_today(days["timezone"]), **days)


def _dashboard_form() -> DashboardForm:
    form = DashboardForm(formdata=request.args)
    form.set_places(*service.places())
    return form


def _recalled(language: str) -> tuple | None:
    """What a snapshot page's tag covers beside its version, before the account is loaded
    (``versioned(parts=…)``): the scope its filters resolved to recently (``scope.recall``)
    and the time of that scope's snapshot in ``language`` in the cache. None when either is
    not known: a first view reads the filters and the snapshot itself."""
    scope = recall(_filters())
    cached_at = scope and snapshots.taken_at(scope, language)
    return (scope, cached_at) if cached_at else None


@bp.route("/monitoring/")
@login_required
@versioned("reader", reader_only, parts=_recalled)  # the reader's menu read with their account
def dashboard():
    """Staff: the programme's indicators for a place and a period."""
    require(current_user, "view_dashboard")
    query = request.args.to_dict()
    form = _dashboard_form()
    scope = _scope(form) if form.validate() else None

    def export_url(name):
        return url_for("monitoring.export", name=name, **query)

    return _snapshot_page(
        scope,
        lambda snapshot: render_template(
            "monitoring/dashboard.html",
            form=form,
            ind=snapshot and snapshot.indicators,
            figures=snapshot and _figures(snapshot, export_url, repr(sorted(query.items()))),
            query=query,
            export_url=export_url,
        ),
    )


def _filters() -> tuple:
    """What a page's scope is resolved from: the view, its arguments and the query."""
    return (
        request.endpoint,
        tuple(sorted((request.view_args or {}).items())),
        tuple(sorted(request.args.items(multi=True))),
    )


def _snapshot_page(scope: Scope | None, render):
    """The page ``render(snapshot)`` makes of ``scope``'s snapshot, tagged with the snapshot's
    time (``page_tag``), or a 304 when the reader has that page already. A repeat view of
    figures already in the cache is answered before they are loaded (and, while the filters
    are remembered, before the page's view: see :func:`_recalled`)."""
    if scope is not None:
        remember(_filters(), scope)
    cached_at = scope and snapshots.taken_at(scope)
    if cached_at and (not_modified := _unchanged(scope, cached_at)) is not None:
        return not_modified
    snapshot = snapshots.take(scope) if scope else None
    as_of = snapshot and snapshot.as_of
    tag = page_tag((scope, as_of))
    if tag is None:  # a flash message is shown: never tagged
        return make_response(render(snapshot))
    if (not_modified := unchanged(tag, as_of)) is not None:
        return not_modified
    return tagged(render(snapshot), tag, as_of)


def _unchanged(scope: Scope, as_of):
    tag = page_tag((scope, as_of))
    return None if tag is None else unchanged(tag, as_of)


def _figures(snapshot, export_url, variant: str):
    """The snapshot's tables and charts as HTML, rendered once per snapshot and variant."""
    return snapshots.rendered(
        snapshot,
        variant,
        lambda: render_template(
            "monitoring/_indicators.html",
            ind=snapshot.indicators,
            charts=snapshot.charts,
            as_of=snapshot.as_of,
            export=export_url,
            problem_statuses=list(ProblemStatus),
        ),
    )


@bp.context_processor
def _chart_css_url():
    # the URL changes with the rules, so browsers may keep it for a week
    return {"chart_css_url": url_for("monitoring.chart_css", v=charts.shared_css_version())}


@bp.route("/monitoring/charts.css")
@login_required
def chart_css():
    """The charts' shared look, fetched once and kept by the browser (see charts.shared_css)."""
    response = current_app.response_class(charts.shared_css(), mimetype="text/css")
    response.cache_control.private = True
    response.cache_control.max_age = 7 * 24 * 3600
    return response


@bp.route("/monitoring/export/<name>.csv")
@login_required
def export(name: str):
    """Staff: one indicator table or raw list as CSV, with the dashboard's filters."""
    require(current_user, "view_dashboard")
    table = exports.TABLES.get(name)
    if table is None:
        abort(404)
    form = _dashboard_form()
    if not form.validate():
        abort(400)
    scope = _scope(form)
    header, rows = table(scope)
    filename = f"consult-{name}-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"
    return Response(
        stream_with_context(exports.stream_csv(header, rows)),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/monitoring/map")
@login_required
def map_view():
    """Staff: settlements and proposals on an SVG scatter by longitude and latitude, and as a
    list (the same data) for anyone who cannot use the picture."""
    require(current_user, "view_dashboard")
    form = _dashboard_form()
    points, total, chart = [], 0, None
    if form.validate():
        points, total = service.map_points(_scope(form), MAP_LIMIT)
        chart = _map_chart(points) if points else None
    return render_template(
        "monitoring/map.html",
        form=form,
        points=points,
        total=total,
        chart=chart,
        colours=STATE_COLOURS,
        settlement_colour=SETTLEMENT_COLOUR,
        tiles=current_app.config.get("MAP_TILES_URL"),
    )


def _map_chart(points):
    from flask_babel import gettext as _

    groups: dict[str, list[tuple[float, float]]] = {}
    colours: dict[str, str] = {}
    settlements = _("Settlement")
    for p in points:
        if p.kind == "settlement":
            key, colour = settlements, SETTLEMENT_COLOUR
        else:
            key, colour = str(p.state.label), STATE_COLOURS[p.state]
        groups.setdefault(key, []).append((p.longitude, p.latitude))
        colours[key] = colour
    return charts.scatter(_("Settlements and proposals"), groups, colours)


def _summary(template: str, scope_kw: dict, **context):
    form = PeriodForm(formdata=request.args)
    scope = None
    if form.validate():
        days, today = _days_of(scope_kw)
        start, end = form.dates(today)
        scope = Scope(start, end, **days, **scope_kw)
    return _snapshot_page(
        scope,
        lambda snapshot: render_template(
            template,
            form=form,
            ind=snapshot and snapshot.indicators,
            figures=snapshot and _figures(snapshot, None, "summary"),
            **context,
        ),
    )


# the CO's own version too: who may read it changes with its audited memberships
@bp.route("/monitoring/co/<int:co_id>")
@login_required
@versioned("co", co_page_version, "co_id", parts=_recalled)
def co_summary(co_id: int):
    """A CO's own results: its members and staff."""
    co = load(CommunityOrganisation, co_id, "view_summary")
    return _summary("monitoring/co_summary.html", {"co_id": co.id}, co=co)


@bp.route("/monitoring/municipality/<int:municipality_id>")
@login_required
@versioned("reader", reader_only, parts=_recalled)  # who may read it is in the reader's tag
def municipality_summary(municipality_id: int):
    """A municipality's results: its officers and staff."""
    m = load(Municipality, municipality_id, "view_summary")
    return _summary(
        "monitoring/municipality_summary.html", {"municipality_id": m.id}, municipality=m
    )
