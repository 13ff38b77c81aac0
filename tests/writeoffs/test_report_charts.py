"""Charts never put two currencies on one axis, and without JavaScript a chart's
figures are on the page as a table (issue 25): the chart box comes hidden, its table
shown, and static/js/charts.js swaps them once it has drawn."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from tests.writeoffs.reports_fixture import build_report_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(clerk, supervisor, settings):
    return build_report_ledger(clerk, supervisor, settings)


CANVAS = re.compile(r'<canvas data-chart="([\w-]+)"')


def charts_of(html: str) -> dict[str, dict]:
    charts = {}
    for chart_id in CANVAS.findall(html):
        data = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html)
        assert data is not None, chart_id
        charts[chart_id] = json.loads(data.group(1))
    return charts


def currencies_in(chart_id: str, chart: dict) -> set[str]:
    """The currencies a chart's datasets are in, read from its id and labels."""
    named = set(re.findall(r"\b(USD|EUR)\b", chart_id))
    named |= {d["label"] for d in chart["datasets"] if d["label"] in ("USD", "EUR")}
    return named


@pytest.mark.parametrize("name", ["home", "report_aging", "report_writeoffs"])
def test_each_chart_holds_one_currency(client, viewer, supervisor, ledger, name):
    client.force_login(supervisor)
    charts = charts_of(client.get(reverse(name)).content.decode())
    assert charts
    for chart_id, chart in charts.items():
        assert len(currencies_in(chart_id, chart)) == 1, (chart_id, chart["datasets"])
    every = set().union(*(currencies_in(i, c) for i, c in charts.items()))
    assert every == {"USD", "EUR"}


@pytest.mark.parametrize("name", ["home", "report_aging", "report_writeoffs"])
def test_without_javascript_a_chart_is_hidden_and_its_figures_are_a_visible_table(
    client, supervisor, ledger, name
):
    client.force_login(supervisor)
    html = client.get(reverse(name)).content.decode()
    canvases = list(CANVAS.finditer(html))
    assert canvases
    for canvas in canvases:
        # Between the chart's <figure> and its canvas, a tag carries ``hidden``.
        figure = html[html.rfind("<figure", 0, canvas.start()) : canvas.start()]
        assert re.search(r"<[^>]*\shidden[\s>]", figure), figure
    assert "<table" in html
    assert not re.search(r"<table[^>]*visually-hidden", html)
    for wrapper in re.findall(r"<div[^>]*data-chart-table[^>]*>", html):
        assert "hidden" not in wrapper.replace("data-chart-table", "")


def test_the_home_pages_chart_tables_hold_the_aging_figures_per_currency(
    client, supervisor, ledger
):
    client.force_login(supervisor)
    html = client.get(reverse("home")).content.decode()
    for currency in ("USD", "EUR"):
        table = re.search(
            rf'data-chart-table="aging-chart-{currency}-data">\s*<table.*?</table>', html, re.S
        )
        assert table is not None
        assert f"Aging today in {currency}" in table.group(0)
