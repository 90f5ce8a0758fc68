"""Stored and reflected XSS: hostile prompts, completions, comments, notes, usernames, run errors and
model names (tests/security/conftest.py) on every page that shows them, never unescaped.

Each page must contain the escaped form of what it shows (so the check cannot pass on a page that
shows nothing) and none of the raw payloads. No template puts data inside an inline ``<script>``
(data for scripts travels in escaped ``data-`` attributes or ``json_script``), and no script of ours
writes HTML from strings (``innerHTML`` and friends), so text stays text in the browser too.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin as django_admin

from tests.security.conftest import ATTR, ESCAPED, EVIL_NAME, RAW, SCRIPT, World

# (persona, url, payloads the page must show escaped)
PAGES = {
    "label page": ("labeler", lambda w: "/label/", [SCRIPT, ATTR]),
    "stats page": ("admin", lambda w: "/stats/", [EVIL_NAME, SCRIPT]),
    "stats task page": ("admin", lambda w: f"/stats/tasks/{w.task.pk}/", [SCRIPT, ATTR, EVIL_NAME]),
    "runs page": ("admin", lambda w: "/runs/", [EVIL_NAME]),
    "run page": ("admin", lambda w: f"/runs/{w.run.pk}/", [SCRIPT, ATTR]),
    "rounds page": ("admin", lambda w: "/rounds/", [SCRIPT, ATTR]),
    "round page": ("admin", lambda w: f"/rounds/{w.round.pk}/", [SCRIPT, ATTR]),
    "model versions page": ("admin", lambda w: "/models/", [SCRIPT, ATTR]),
    "model compare page": ("admin", lambda w: f"/models/compare/?a={w.v1.pk}&b={w.v2.pk}", [SCRIPT, ATTR]),
    "API next task (browsable)": ("labeler", lambda w: "/api/v1/tasks/next/", [SCRIPT]),
    "API rankings (browsable)": ("admin", lambda w: "/api/v1/rankings/", [SCRIPT]),
    "API tasks (browsable)": ("admin", lambda w: "/api/v1/tasks/", [SCRIPT]),
    "API runs (browsable)": ("admin", lambda w: "/api/v1/runs/", [SCRIPT]),
    "API docs page": ("admin", lambda w: "/api/v1/docs/", []),
    # reflected: hostile query strings
    "login page next=": ("anonymous", lambda w: f"/accounts/login/?next={ATTR}", [ATTR]),
    "stats filter": ("admin", lambda w: f"/stats/?task_set={SCRIPT}&sort={ATTR}", [SCRIPT]),
    "compare with bad ids": ("admin", lambda w: f"/models/compare/?a={SCRIPT}&b={ATTR}", []),
}


def _admin_pages() -> dict:
    """Every registered model's changelist, and the change page of the world's hostile objects."""
    pages = {}
    for model in django_admin.site._registry:
        meta = model._meta
        pages[f"admin {meta.model_name} list"] = ("admin", lambda w, m=meta: f"/admin/{m.app_label}/{m.model_name}/", [])
    objects = {"prompt": lambda w: w.task.prompt, "rankingtask": lambda w: w.task, "ranking": lambda w: w.ranking,
               "skip": lambda w: w.skip, "user": lambda w: w.evil, "completion": lambda w: w.task.completions.first()}
    for name, obj in objects.items():
        app = "auth" if name == "user" else "labeling"
        pages[f"admin {name} change"] = (
            "admin", lambda w, a=app, n=name, o=obj: f"/admin/{a}/{n}/{o(w).pk}/change/", [])
    return pages


ADMIN_PAGES = _admin_pages()
ADMIN_MUST_SHOW = {
    "admin prompt list": [SCRIPT], "admin rankingtask list": [SCRIPT], "admin completion list": [SCRIPT],
    "admin ranking list": [SCRIPT, EVIL_NAME], "admin assignment list": [EVIL_NAME], "admin user list": [EVIL_NAME],
    "admin prompt change": [SCRIPT, ATTR], "admin rankingtask change": [SCRIPT, ATTR],
    "admin ranking change": [SCRIPT, ATTR], "admin skip change": [SCRIPT], "admin user change": [EVIL_NAME],
    "admin completion change": [SCRIPT],
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def _render(world: World, page) -> str:
    persona, url, _ = page
    response = world.client(persona).get(url(world), HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 400), (url(world), response.status_code)
    return response.content.decode()


def _assert_safe(body: str, must_show) -> None:
    for raw in RAW:
        assert raw not in body, f"unescaped {raw!r}"
    for payload in must_show:
        assert ESCAPED[payload] in body or ESCAPED[payload].replace("&quot;", "&#x27;") in body \
            or _json_escaped(payload) in body, f"{payload!r} not shown escaped"
    for script in INLINE_SCRIPT.findall(body):
        assert "alert(" not in script, "data inside an inline script"


def _json_escaped(payload: str) -> str:
    """How the browsable API shows a string: JSON inside HTML, so both escapings apply."""
    return payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', '\\&quot;')


@pytest.mark.parametrize("name", PAGES)
def test_pages_show_hostile_text_escaped(world, name):
    _assert_safe(_render(world, PAGES[name]), PAGES[name][2])


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_screens_show_hostile_text_escaped(world, name):
    _assert_safe(_render(world, ADMIN_PAGES[name]), ADMIN_MUST_SHOW.get(name, []))


def test_every_admin_screen_that_should_show_payloads_was_rendered():
    assert set(ADMIN_MUST_SHOW) <= set(ADMIN_PAGES)


def _templates() -> list[Path]:
    roots = [Path(d) for t in settings.TEMPLATES for d in t["DIRS"]] + [Path(settings.BASE_DIR) / "labeling"]
    return sorted({p for root in roots for p in root.rglob("*.html")})


def test_no_template_puts_data_in_an_inline_script_or_marks_it_safe():
    assert len(_templates()) >= 10
    for path in _templates():
        text = path.read_text()
        for script in INLINE_SCRIPT.findall(text):
            assert "{{" not in script and "{%" not in script, f"{path}: data in an inline script (use json_script)"
        assert "|safe" not in text.replace("{{ chart|safe }}", ""), f"{path}: |safe on data"
        assert "autoescape off" not in text, path


def test_no_script_of_ours_writes_html_from_strings():
    scripts = [p for p in (Path(settings.BASE_DIR) / "static").rglob("*.js") if "vendor" not in p.parts]
    scripts += list((Path(settings.BASE_DIR) / "labeling").rglob("*.html"))
    assert len(scripts) >= 5
    sink = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(")
    offenders = [str(p) for p in scripts if sink.search(p.read_text())]
    assert not offenders, offenders


def test_the_run_charts_marked_safe_escape_their_labels():
    """run_detail.html marks the server-drawn SVG charts safe: their text must be escaped inside."""
    from labeling.charts_line import line_chart_svg

    svg = line_chart_svg({SCRIPT: [(0, 1.0), (1, 2.0)]}, title=ATTR)
    assert SCRIPT not in svg and ATTR not in svg and ESCAPED[SCRIPT] in svg
