"""Server-side SVG charts with pygal: light, printable, readable without JavaScript.

Charts take numbers and labels only; pygal escapes the labels (it builds the SVG as an XML
tree). Its configuration ``<script>`` and comments are removed: we load no pygal JavaScript,
and a page should carry no script it does not need.
"""

import functools
import hashlib
import html
import re

import pygal
from markupsafe import Markup
from pygal.style import Style

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2329",
    foreground_strong="#1d2329",
    foreground_subtle="#d5dbe1",
    opacity="1",
    opacity_hover="1",
    transition="none",
    colors=("#0b5cad", "#c0392b", "#1e6b35", "#8a5300", "#6c3483", "#56606b"),
    font_family="system-ui, sans-serif",
    label_font_size=16,
    major_label_font_size=16,
    value_font_size=16,
    value_label_font_size=16,
    title_font_size=18,
    legend_font_size=16,
)

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)
_CHART_ID = re.compile(r"#chart-[0-9a-f-]{36}")
#: ids pygal's JavaScript (not loaded) uses; the same in every chart, so a page with two
#: charts would repeat them
_LEGEND_ID = re.compile(r'\sid="activate-serie-\d+"')
_ATTRIBUTE = re.compile(r'="([^"]*)"')
_LONG_DECIMAL = re.compile(r"(\d\.\d)\d+")


def _short_numbers(svg: str) -> str:
    """Coordinates to a tenth of a pixel (pygal writes a dozen decimals): a third lighter,
    the same drawing. Only attribute values change, never the words and numbers shown."""
    return _ATTRIBUTE.sub(lambda m: '="' + _LONG_DECIMAL.sub(r"\1", m.group(1)) + '"', svg)


def _config(**kw) -> dict:
    base = dict(
        style=STYLE,
        disable_xml_declaration=True,
        js=[],
        width=400,  # about a phone's width: 16 px words stay ~14 px at 360 px, not 7
        legend_at_bottom=True,
        print_values=True,
        truncate_label=-1,
        show_y_guides=False,
        margin=8,
    )
    base.update(kw)
    return base


def _render(chart, title: str, *, shared_style: bool = True) -> Markup:
    svg = chart.render(is_unicode=True)
    svg = _COMMENT.sub("", _SCRIPT.sub("", svg))
    svg = _short_numbers(_LEGEND_ID.sub("", svg))
    # pygal names an untitled chart "Pygal", which browsers show as its tooltip
    svg = svg.replace("<title>Pygal</title>", f"<title>{html.escape(title)}</title>")
    if shared_style:
        # Every chart drawn with STYLE carries the same 7 KiB of rules under its own id; the
        # page links them once instead (shared_css, served cacheable at /monitoring/charts.css).
        svg = _STYLE_BLOCK.sub("", svg)
    # an accessible name; the numbers themselves are in the table under the chart
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)
    return Markup(svg)  # noqa: S704 - pygal output: an escaped XML tree


@functools.cache
def shared_css() -> str:
    """The rules pygal writes into each chart drawn with STYLE, for all of them at once."""
    chart = pygal.HorizontalBar(**_config(height=100))
    chart.add("", [1])
    css = "\n".join(_STYLE_BLOCK.findall(chart.render(is_unicode=True)))
    # inside the SVG the rules were XML text (">" written "&gt;"); a stylesheet is not
    return _CHART_ID.sub("svg.pygal-chart", html.unescape(css))


@functools.cache
def shared_css_version() -> str:
    """A short digest of :func:`shared_css`, computed once per process, for its URL."""
    return hashlib.sha256(shared_css().encode()).hexdigest()[:10]


def _attr(text: str) -> str:
    return str(Markup.escape(str(text)))


def _whole_number_axis(series: dict[str, list]) -> dict:
    """Counts get ticks at whole numbers (no "0.2 households"), about five of them."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values or any(not float(v).is_integer() for v in values):
        return {}
    top = max(1, int(max(values)))
    step = 1
    while step * 5 < top:  # 1, 2, 5, 10, 20, 50, …
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return {"y_labels": list(range(0, top + step, step))}


def bars(title: str, labels: list[str], series: dict[str, list[float | int | None]]) -> Markup:
    """Horizontal bars, one group per label, one bar per series (several series: a legend)."""
    height = 80 + max(1, len(labels)) * (22 + 12 * len(series))
    chart = pygal.HorizontalBar(
        **_config(height=height, show_legend=len(series) > 1, title=None),
        **_whole_number_axis(series),
    )
    chart.x_labels = [str(label) for label in labels]
    for name, values in series.items():
        chart.add(str(name), values)
    return _render(chart, title)


def scatter(
    title: str, groups: dict[str, list[tuple[float, float]]], colours: dict[str, str]
) -> Markup:
    """Points by longitude (x) and latitude (y), one colour per group, with a legend."""
    style = Style(**{**STYLE.to_dict(), "colors": tuple(colours[g] for g in groups)})
    chart = pygal.XY(
        **_config(
            style=style,
            height=320,
            stroke=False,
            print_values=False,
            show_legend=True,
            dots_size=4,
            show_x_guides=True,
            show_y_guides=True,
        )
    )
    for name, points in groups.items():
        chart.add(str(name), points)
    return _render(chart, title, shared_style=False)  # its own colours


def for_indicators(ind) -> dict[str, Markup]:
    """The charts of a dashboard or summary, each drawn from the same numbers as its table."""
    from flask_babel import gettext as _

    from consult.core.enums import Gender

    a = ind.attendance
    charts = {
        "attendance": bars(
            _("People present at meetings, by gender"),
            [g.label for g in Gender],
            {_("People present"): [a.women, a.men, a.other]},
        ),
        "votes": bars(
            _("Votes cast, by gender"),
            [g.label for g in Gender],
            {_("Votes"): [ind.votes[g] for g in Gender]},
        ),
        "problems": bars(
            _("Problems by category"),
            [r.category.label for r in ind.problems],
            {_("Problems"): [r.total for r in ind.problems]},
        ),
        "proposals": bars(
            _("Proposals by state"),
            [r.state.label for r in ind.proposals],
            {_("Proposals"): [r.count for r in ind.proposals]},
        ),
        "settlements": bars(
            _("Settlements improved per year against the target"),
            [str(r.year) for r in ind.settlements],
            {
                _("Improved"): [r.improved for r in ind.settlements],
                **(
                    {_("Target"): [r.target for r in ind.settlements]}
                    if ind.settlements and ind.settlements[0].target is not None
                    else {}
                ),
            },
        ),
    }
    if ind.infrastructure:
        charts["infrastructure"] = bars(
            _("Infrastructure completed, by type"),
            [r.type.label for r in ind.infrastructure],
            {_("Completed"): [r.completed for r in ind.infrastructure]},
        )
    answered = [r for r in ind.response if r.median_days is not None]
    if answered:
        slowest = sorted(answered, key=lambda r: -r.median_days)[:RESPONSE_CHART_MAX]
        charts["response"] = bars(
            _("Median days to first response"),
            [r.name for r in slowest],
            {
                _("Median days"): [r.median_days for r in slowest],
                _("Target (days)"): [r.target_days for r in slowest],
            },
        )
    return charts


#: the response chart shows at most this many municipalities (the slowest); the table has all
RESPONSE_CHART_MAX = 20
