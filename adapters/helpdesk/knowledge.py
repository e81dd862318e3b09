"""What the helpdesk adapters share to read a team's knowledge: article HTML as plain text.

Help-centre articles and macros arrive as HTML. The answer path reads plain text, but steps
and paragraphs matter to it (a reply quotes step 3), so ``article_text`` keeps paragraphs as
blank-line separated blocks, list items as ``1. …`` / ``- …`` lines and headings as their own
lines; scripts, styles and other invisible parts are dropped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["article_text"]

_BLOCKS = frozenset({"p", "div", "section", "article", "header", "footer", "h1", "h2", "h3",
                     "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "ul", "ol", "dl",
                     "dt", "dd", "figure", "figcaption", "hr"})
_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "title", "svg"})
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\f\v\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _ArticleParser(HTMLParser):
    """Collects text, marking block breaks and numbering ordered lists."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0
        # One counter per open list: None for a bulleted list, the last number for a numbered one.
        self._lists: list[int | None] = []
        self._pre = 0
        self._marked = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("ol", "ul"):
            start = dict(attrs).get("start")
            first = int(start) - 1 if tag == "ol" and start and start.isdigit() else 0
            self._break()
            self._lists.append(first if tag == "ol" else None)
        elif tag == "li":
            self._newline()
            self.out.append(self._marker())
            self._marked = True
        elif tag in _CELLS:
            self.out.append(" ")
        elif tag in _BLOCKS:
            self._pre += tag == "pre"
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in ("ol", "ul"):
            if self._lists:
                self._lists.pop()
            self._break()
        elif tag in _BLOCKS:
            self._pre -= tag == "pre" and self._pre > 0
            self._break()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        text = data if self._pre else _SPACES.sub(" ", data)
        if self._marked:
            text = text.lstrip()
        self._marked = self._marked and not text
        self.out.append(text)

    def _break(self) -> None:
        # Inside a list a paragraph is a line of its item (``<li><p>Step</p></li>``), and
        # nothing at all right after the item's marker.
        if self._marked:
            return
        if self._lists:
            self._newline()
        else:
            self.out.append("\n\n")

    def _newline(self) -> None:
        # One line break between a list's items, however many blocks close before the next.
        last = next((part for part in reversed(self.out) if part.strip(" ")), "\n")
        if not last.endswith("\n"):
            self.out.append("\n")

    def _marker(self) -> str:
        indent = "  " * max(0, len(self._lists) - 1)
        if not self._lists or self._lists[-1] is None:
            return f"{indent}- "
        number = (self._lists[-1] or 0) + 1
        self._lists[-1] = number
        return f"{indent}{number}. "


def article_text(body: str | None) -> str:
    """An article's or macro's HTML as plain text, steps and paragraphs kept."""
    if not body:
        return ""
    parser = _ArticleParser()
    parser.feed(body)
    parser.close()
    lines: list[str] = []
    for line in "".join(parser.out).split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        # Nested list items keep their indent; anything else starts at the margin.
        lines.append((" " * indent if _LIST_ITEM.match(text) else "") + text if text else "")
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


_LIST_ITEM = re.compile(r"^(\d+\.|-) ")
