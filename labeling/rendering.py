"""Prompt and completion text as safe HTML: CommonMark, tables and strikethrough, then an allow-list.

Two layers, so that neither has to be perfect. markdown-it-py runs with raw HTML off, so any HTML in
the text comes out escaped, and it refuses ``javascript:``, ``vbscript:``, ``file:`` and ``data:``
link targets (after decoding entities, so ``java&#115;cript:`` too). nh3 (ammonia) then keeps only
:data:`ALLOWED_TAGS` and the attributes below: links keep an absolute ``http``, ``https`` or
``mailto`` target and nothing else (no relative or ``//host`` targets), and open in a new tab with
``rel="nofollow noopener noreferrer"``. Images become links to the image, so a prompt cannot make a
labeler's browser fetch anything. Headings move down three levels (``#`` is ``<h4>``): a prompt's
headings are titles inside a card, not the page's.

Single newlines are line breaks (``breaks``): model output and pasted prompts put lines where they
mean them, and joining them into one paragraph would misrepresent the text a labeler ranks.
"""
from __future__ import annotations

import re

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "pre", "code", "em", "strong", "del", "s", "blockquote", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td", "h4", "h5", "h6", "a",
})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"
HEADING_SHIFT = 3  # "#" renders as <h4>; h4 to h6 are the only headings allowed through
ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})

_ABSOLUTE_LINK = re.compile(r"^(?:https?://[^/\\\s]|mailto:[^\s])", re.IGNORECASE)
_TABLE_ALIGN = re.compile(r"^text-align:(left|center|right)$")


def render_markdown(text: str | None) -> SafeString:
    """``text`` as Markdown, sanitised: safe to put in a page as it is. Parses the text once."""
    if not text:
        return mark_safe("")
    return mark_safe(_cleaner.clean(_markdown.render(str(text))))


def _demote_headings_and_classify_alignment(state) -> None:
    """Core rule: headings down :data:`HEADING_SHIFT` levels; a table cell's inline alignment style
    becomes one of :data:`ALIGN_CLASSES` (no ``style`` attribute reaches the page)."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_SHIFT)}"
        elif token.type in ("th_open", "td_open") and token.attrs:
            match = _TABLE_ALIGN.match(str(token.attrs.pop("style", "")))
            if match:
                token.attrs["class"] = f"align-{match.group(1)}"


def _image_as_link(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    label = f"Image: {alt}" if alt else "Image"
    return f'<a href="{escapeHtml(str(token.attrGet("src") or ""))}">{escapeHtml(label)}</a>'


def _absolute_links_only(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return value if _ABSOLUTE_LINK.match(value) else None
    if tag == "ol" and attribute == "start":
        return value if value.isdigit() else None
    return value


_markdown = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
_markdown.core.ruler.push("demote_headings_and_classify_alignment", _demote_headings_and_classify_alignment)
_markdown.add_render_rule("image", _image_as_link)

_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    attribute_filter=_absolute_links_only,
    url_schemes=set(LINK_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": "_blank"}},
    allowed_classes={"th": set(ALIGN_CLASSES), "td": set(ALIGN_CLASSES)},
    strip_comments=True,
)
