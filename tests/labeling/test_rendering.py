"""Prompts and completions as safe Markdown (labeling/rendering.py) and as page fragments
(labeling/templatetags/text_render.py): what renders, what is neutralised, how a conversation shows."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from labeling.models import Prompt
from labeling.rendering import ALLOWED_TAGS, render_markdown


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_inert(html: str) -> None:
    """Only allowed tags; no event handlers, styles or ids; links only to absolute http(s) or mailto."""
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        assert not [name for name in attrs if name.startswith("on") or name in ("style", "src", "id")], (tag, attrs)
        if tag == "a" and "href" in attrs:
            assert re.match(r"^(https?://|mailto:)", attrs["href"]), attrs["href"]
            assert attrs["rel"] == "nofollow noopener noreferrer"


def render(source: str, **context) -> str:
    return Template("{% load text_render %}" + source).render(Context(context))


# ---------- Markdown ----------


def test_fenced_code_renders_as_a_code_block_with_its_text_escaped():
    html = render_markdown("Run this:\n\n```python\nif a < b and c > d:\n    print('<b>')\n```\n")
    assert "<pre><code>if a &lt; b and c &gt; d:\n    print('&lt;b&gt;')\n</code></pre>" in html
    assert "language-" not in html  # the info string's class is not on the allow-list


def test_lists_tables_emphasis_and_strikethrough_render():
    html = render_markdown(
        "- one\n- **two**\n\n3. three\n4. *four*\n\n| Name | Score |\n|:-----|------:|\n| a | 1 |\n\n~~old~~ `x`"
    )
    assert "<ul>\n<li>one</li>\n<li><strong>two</strong></li>\n</ul>" in html
    assert '<ol start="3">' in html and "<em>four</em>" in html
    assert '<th class="align-left">Name</th>' in html and '<td class="align-right">1</td>' in html
    assert "<thead>" in html and "<tbody>" in html
    assert "<s>old</s>" in html and "<code>x</code>" in html
    assert "style=" not in html
    assert_inert(html)


def test_headings_are_demoted_and_single_newlines_are_line_breaks():
    html = render_markdown("# Big\n## Smaller\n#### Small\n\nline one\nline two")
    assert "<h4>Big</h4>" in html and "<h5>Smaller</h5>" in html and "<h6>Small</h6>" in html
    assert "<h1" not in html and "<h2" not in html
    assert "<p>line one<br>\nline two</p>" in html


def test_plain_text_stays_the_same_text():
    assert render_markdown("a < b & c") == "<p>a &lt; b &amp; c</p>\n"
    assert render_markdown("") == "" and render_markdown(None) == ""


def test_links_keep_http_https_and_mailto_targets_and_open_safely():
    html = render_markdown("[docs](https://example.com/a?b=1) <http://example.org> [mail](mailto:x@example.com)")
    hrefs = [attrs.get("href") for tag, attrs in elements(html) if tag == "a"]
    assert hrefs == ["https://example.com/a?b=1", "http://example.org", "mailto:x@example.com"]
    assert html.count('target="_blank"') == 3
    assert_inert(html)


HOSTILE = {
    "script tag": "<script>alert(1)</script>",
    "script block": "<script>\nalert(1)\n</script>\n\nafter",
    "img onerror": '<img src=x onerror="alert(1)">',
    "attribute breakout": '"><img src=x onerror=alert(2)>',
    "inline html with handler": "hello <a href=\"javascript:alert(1)\" onclick=\"alert(1)\">x</a>",
    "html block": "<div onmouseover=\"alert(1)\">\n\n*hi*\n\n</div>",
    "svg": "<svg onload=alert(1)><circle/></svg>",
    "iframe": "<iframe src=\"https://evil.example\"></iframe>",
    "style": "<style>body{display:none}</style>",
    "javascript link": "[x](javascript:alert(1))",
    "javascript link, upper case": "[x](JaVaScRiPt:alert(1))",
    "javascript link, entity encoded": "[x](java&#115;cript:alert(1))",
    "javascript link, hex entity": "[x](&#x6A;avascript:alert(1))",
    "javascript link, colon entity": "[x](javascript&colon;alert(1))",
    "javascript link, tab inside": "[x](java\tscript:alert(1))",
    "javascript link, percent encoded": "[x](javascript%3Aalert(1))",
    "javascript reference link": "[x][r]\n\n[r]: javascript:alert(1)",
    "javascript autolink": "<javascript:alert(1)>",
    "data link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data image": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "vbscript link": "[x](vbscript:msgbox(1))",
    "file link": "[x](file:///etc/passwd)",
    "protocol-relative link": "[x](//evil.example/path)",
    "relative link": "[x](/admin/logout/)",
    "image with handler in title": '![x](https://example.com/a.png "a\\" onerror=\\"alert(1)")',
    "link title breakout": '[x](https://example.com "t\\" onmouseover=\\"alert(1)")',
    "html comment": "<!-- <script>alert(1)</script> -->",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markdown_is_neutralised(name):
    html = render_markdown(HOSTILE[name])
    assert_inert(html)
    assert "<script" not in html and "<img" not in html and "<iframe" not in html and "<svg" not in html
    assert not re.search(r"(?i)(javascript|vbscript|data|file):", " ".join(
        attrs.get("href", "") for _tag, attrs in elements(html)))


def test_raw_html_shows_as_text():
    assert render_markdown("<b>bold?</b>") == "<p>&lt;b&gt;bold?&lt;/b&gt;</p>\n"


def test_a_refused_link_leaves_its_text_visible():
    assert "[x](javascript:alert(1))" in render_markdown("[x](javascript:alert(1))")
    link = [attrs for tag, attrs in elements(render_markdown("[x](//evil.example/)")) if tag == "a"]
    assert link and "href" not in link[0]  # the text stays, the target goes


def test_images_become_links_so_nothing_is_fetched():
    html = render_markdown("![a cat](https://example.com/cat.png)")
    assert "<img" not in html
    assert '<a href="https://example.com/cat.png"' in html and ">Image: a cat</a>" in html


def test_the_filter_marks_its_output_safe_and_escapes_the_rest():
    assert render("{{ text|markdown }}", text="**hi** <i>") == "<p><strong>hi</strong> &lt;i&gt;</p>\n"


# ---------- text_view and prompt_view ----------


def test_text_view_shows_markdown_and_the_exact_raw_text_behind_a_toggle():
    raw = "\n  # Title\n<b>x</b> & y  \n"
    html = render("{% text_view text %}", text=raw)
    assert '<div class="md"><h4>Title</h4>' in html
    assert 'class="raw-toggle" aria-pressed="false" aria-label="Raw text"' in html
    # The parser drops the one newline after <pre>; the text's own leading newline follows it.
    assert '<pre class="text-raw" hidden>\n\n  # Title\n&lt;b&gt;x&lt;/b&gt; &amp; y  \n</pre>' in html


def test_a_string_prompt_is_one_text():
    html = render("{% prompt_view prompt %}", prompt="Say **hi**")
    assert html.count('class="text-view"') == 1 and "conversation" not in html
    assert "<strong>hi</strong>" in html


@pytest.mark.django_db
def test_a_string_prompt_row_is_one_text():
    prompt = Prompt.objects.create(text="Plain *prompt*")
    html = render("{% prompt_view prompt %}", prompt=prompt)
    assert html.count('class="text-view"') == 1 and "<em>prompt</em>" in html


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "First question with `code`"},
    {"role": "assistant", "content": "First answer:\n\n| a | b |\n|---|---|\n| 1 | 2 |"},
    {"role": "user", "content": "Second question <script>alert(1)</script>"},
]


@pytest.mark.django_db
def test_a_conversation_shows_its_turns_in_order_with_their_roles():
    prompt = Prompt.objects.create(text="(plain text)", messages=CONVERSATION)
    html = render("{% prompt_view prompt %}", prompt=prompt)
    roles = re.findall(r'<li class="turn turn-(\w+)">\s*<div class="turn-role">(\w+)</div>', html)
    assert roles == [("system", "System"), ("user", "User"), ("assistant", "Assistant"), ("user", "User")]
    assert html.index("Be brief.") < html.index("First question") < html.index("First answer") \
        < html.index("Second question")
    assert html.count('class="text-view"') == 4 and "<details" not in html  # a short system prompt shows open
    assert "<code>code</code>" in html and "<table>" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "(plain text)" not in html  # the messages are shown, not the search text


@pytest.mark.parametrize("system", ["x" * 301, "one\ntwo\nthree\nfour\nfive"])
def test_a_long_system_prompt_starts_folded(system):
    html = render("{% prompt_view prompt %}", prompt=[{"role": "system", "content": system},
                                                      {"role": "user", "content": "Question?"}])
    fold = re.search(r'<li class="turn turn-system"><details class="turn-fold"><summary>(.*?)</summary>', html, re.S)
    assert fold, html
    assert '<span class="turn-role">System</span>' in fold.group(1)
    assert "<details class=\"turn-fold\" open" not in html
    user = html[html.index('turn-user'):]
    assert "<details" not in user and "Question?" in user


@pytest.mark.parametrize("system", ["x" * 300, "one\ntwo\nthree\nfour"])
def test_a_system_prompt_up_to_the_limits_shows_open(system):
    html = render("{% prompt_view prompt %}", prompt=[{"role": "system", "content": system},
                                                      {"role": "user", "content": "Question?"}])
    assert "<details" not in html and '<div class="turn-role">System</div>' in html


def test_an_unknown_role_from_bad_data_is_shown_escaped_and_unstyled():
    html = render("{% prompt_view prompt %}", prompt=[{"role": "<b>tool</b>", "content": "x"},
                                                      {"role": "user", "content": "y"}])
    assert 'class="turn turn-other"' in html and "&lt;b&gt;tool&lt;/b&gt;" in html and "<b>" not in html
