"""Stored and reflected XSS: hostile prompts, completions, comments, notes, usernames, run errors and
model names (tests/security/conftest.py) on every page that shows them, never unescaped.

Each page must contain the escaped form of what it shows (so the check cannot pass on a page that
shows nothing) and none of the raw payloads. No template puts data inside an inline ``<script>``
(data for scripts travels in escaped ``data-`` attributes or ``json_script``), and no script of ours
writes HTML from strings (``innerHTML`` and friends), so text stays text in the browser too.

Prompts and completions render as Markdown (labeling/rendering.py): Markdown-shaped payloads
(``javascript:`` links in every disguise, raw HTML, images, code fences that try to close early) in a
string prompt, in a conversation's messages and in completions must come out inert on every page that
renders them, checked on the parsed page: no event-handler attribute, no dangerous link scheme, no
script without a ``src``.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin as django_admin

from labeling.models import Completion, ModelVersion, Prompt, Run
from labeling.models import Membership, Project, ProjectInvite
from labeling.selectors.people import invite_token_hash
from modeling.formats.conversation import parse_prompt, prompt_text
from tests.factories import make_task
from tests.security.conftest import ATTR, ESCAPED, EVIL_NAME, RAW, SCRIPT, World

XSS_INVITE_TOKEN = "xss-invite-token"


def _hostile_project(w: World) -> str:
    """The world's project named with a payload, the hostile user its member and an invite's maker."""
    from datetime import timedelta

    from django.utils import timezone

    project = w.task.prompt.project
    Project.objects.filter(pk=project.pk).update(name=SCRIPT, instructions=f"{ATTR}\n\n{SCRIPT}")
    Membership.objects.get_or_create(project=project, user=w.evil, defaults={"role": "manager"})
    ProjectInvite.objects.get_or_create(token_hash=invite_token_hash(XSS_INVITE_TOKEN), defaults={
        "project": project, "created_by": w.evil, "expires_at": timezone.now() + timedelta(days=1)})
    return project.slug


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
    "projects page": ("admin", lambda w: _hostile_project(w) and "/projects/", [SCRIPT]),
    "project settings page": ("admin", lambda w: f"/projects/{_hostile_project(w)}/settings/", [SCRIPT, ATTR]),
    "project members page": ("admin", lambda w: f"/projects/{_hostile_project(w)}/members/", [SCRIPT, EVIL_NAME]),
    "invite page": ("anonymous", lambda w: _hostile_project(w) and f"/invites/{XSS_INVITE_TOKEN}/", [SCRIPT]),
    "home page": ("labeler", lambda w: _hostile_project(w) and "/", [SCRIPT]),
    "runs page's project bar": ("admin", lambda w: _hostile_project(w) and "/runs/", [SCRIPT]),
    "labeler page's instructions": ("labeler", lambda w: _hostile_project(w) and "/label/", [SCRIPT]),
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


# The one place a script of ours writes HTML: the demonstration editor's Markdown preview, which shows
# the HTML that POST /write/preview answers -- the server's own Markdown rendering through its
# sanitiser (labeling/rendering.py), the same HTML the pages render; tested in
# tests/labeling/test_demonstrations_page.py::test_preview_is_the_servers_sanitised_markdown.
SANITISED_SINKS = {"static/labeling/write.js": ["preview.innerHTML = reply.data.html;"]}


def test_no_script_of_ours_writes_html_from_strings():
    base = Path(settings.BASE_DIR)
    scripts = [p for p in (base / "static").rglob("*.js") if "vendor" not in p.parts]
    scripts += list((base / "labeling").rglob("*.html"))
    assert len(scripts) >= 5
    sink = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(")
    offenders = []
    for path in scripts:
        lines = [line.strip() for line in path.read_text().splitlines() if sink.search(line)]
        allowed = SANITISED_SINKS.get(str(path.relative_to(base)), [])
        offenders += [f"{path}: {line}" for line in lines if not any(line.startswith(a) for a in allowed)]
    assert not offenders, offenders
    for name, allowed in SANITISED_SINKS.items():  # an exception that no longer exists is removed here too
        assert all(a in (base / name).read_text() for a in allowed), name


def test_the_run_charts_marked_safe_escape_their_labels():
    """run_detail.html marks the server-drawn SVG charts safe: their text must be escaped inside."""
    from labeling.charts_line import line_chart_svg

    svg = line_chart_svg({SCRIPT: [(0, 1.0), (1, 2.0)]}, title=ATTR)
    assert SCRIPT not in svg and ATTR not in svg and ESCAPED[SCRIPT] in svg


# ---------- Markdown payloads in prompts, conversation messages and completions ----------

MARKDOWN_PAYLOADS = (
    "[md-js](javascript:alert(11))",
    "[md-entity](java&#115;cript:alert(12))",
    "[md-hex](&#x6A;avascript:alert(13))",
    "<javascript:alert(14)>",
    "[md-data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxNSk8L3NjcmlwdD4=)",
    "[md-vb](vbscript:msgbox(16))",
    "[md-ref][evil]\n\n[evil]: javascript:alert(17)",
    '![md-img](x" onerror="alert(18))',
    "![md-img2](https://example.com/a.png)",
    "<img src=y onerror=alert(19)>",
    '<a href="javascript:alert(20)" onclick="alert(21)">md-html</a>',
    "<div onmouseover=alert(22)>\n\n*md-block*\n\n</div>",
    "[md-proto](//evil.example/x)",
    "```\n</code></pre><script>alert(23)</script>\n```",
)
# Plus a table, so the check fails on a page that shows the text without rendering it.
MARKDOWN_TEXT = "\n\n".join(MARKDOWN_PAYLOADS) + (
    "\n\n| md-col | b |\n|---|---|\n| <script>alert(24)</script> | **ok** |")
MARKDOWN_PAGES = {
    "label page": ("labeler", lambda task, run, v1, v2: "/label/"),
    "stats task page": ("admin", lambda task, run, v1, v2: f"/stats/tasks/{task.pk}/"),
    "run page (samples)": ("admin", lambda task, run, v1, v2: f"/runs/{run.pk}/"),
    "model compare page": ("admin", lambda task, run, v1, v2: f"/models/compare/?a={v1.pk}&b={v2.pk}"),
}
SAFE_SCHEMES = {"http", "https", "mailto"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def _assert_inert_page(body: str) -> None:
    """As a browser parses the page: no handler attributes, no dangerous URLs, no inline or foreign scripts."""
    parser = _Tags()
    parser.feed(body)
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert tag not in ("img", "iframe", "object", "embed", "svg"), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name in ("href", "src", "action", "formaction"):
            url = re.sub(r"[\x00-\x20]", "", attrs.get(name, ""))
            scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
            assert scheme is None or scheme.group(1).lower() in SAFE_SCHEMES, (tag, name, url)
            assert not url.startswith(("//", "\\\\", "/\\")), (tag, name, url)


@pytest.fixture(params=["string prompt", "conversation"])
def markdown_task(request, tmp_path):
    """One task whose prompt (a string, or every message of a conversation) and completions carry the
    payloads; sampled by a sample run, its completions by two policy versions (the compare page)."""
    task = make_task(prompt_text=MARKDOWN_TEXT, texts=[MARKDOWN_TEXT, f"plain {MARKDOWN_TEXT}"])
    if request.param == "conversation":
        messages = [{"role": "system", "content": f"{MARKDOWN_TEXT}\n" * 3},  # long: shown folded
                    {"role": "user", "content": MARKDOWN_TEXT},
                    {"role": "assistant", "content": MARKDOWN_TEXT},
                    {"role": "user", "content": f"again {MARKDOWN_TEXT}"}]
        Prompt.objects.filter(pk=task.prompt_id).update(messages=messages,
                                                        text=prompt_text(parse_prompt(messages)))
    run = Run.objects.create(kind=Run.Kind.SAMPLE, status=Run.Status.SUCCEEDED)
    task.source_run = run
    task.save(update_fields=["source_run"])
    (tmp_path / "config.json").write_text("{}")
    versions = [ModelVersion.objects.create(kind=ModelVersion.Kind.POLICY, name=name, algorithm="dpo",
                                            path=str(tmp_path)) for name in ("md-v1", "md-v2")]
    for completion, version in zip(task.completions.order_by("pk"), versions):
        Completion.objects.filter(pk=completion.pk).update(source=Completion.Source.MODEL, model_version=version)
    return request.param, task, run, versions


@pytest.mark.parametrize("name", MARKDOWN_PAGES)
def test_markdown_payloads_render_inert(client, labeler, admin, markdown_task, name):
    kind, task, run, (v1, v2) = markdown_task
    persona, url = MARKDOWN_PAGES[name]
    client.force_login({"labeler": labeler, "admin": admin}[persona])
    response = client.get(url(task, run, v1, v2))
    assert response.status_code == 200
    body = response.content.decode()
    _assert_safe(body, [])
    _assert_inert_page(body)
    for raw in ("javascript:alert", "vbscript:", "data:text/html", "onerror=", "onclick=", "onmouseover="):
        # Only escaped, as text: inside the raw view's <pre> or a refused link's literal text.
        assert not re.search(rf"<[^>]*{re.escape(raw)}", body), raw
    # The text was rendered (so the check cannot pass on a page that shows nothing) and its raw form shown.
    assert "<th>md-col</th>" in body and "<strong>ok</strong>" in body
    assert "&lt;script&gt;alert(24)&lt;/script&gt;" in body
    assert '<pre class="text-raw" hidden>' in body
    if kind == "conversation" and name != "model compare page":  # compare shows the prompt's plain text
        assert 'class="turn turn-assistant"' in body and '<details class="turn-fold">' in body
