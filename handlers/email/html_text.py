"""HTML-only email bodies turned into readable plain text.

The standard library's ``html.parser`` is enough here: we need readable text for a chat
card and the ticket history, not a faithful rendering, and it never raises on broken
markup (which customers' mail clients produce daily). A third-party converter would add
a dependency for little gain. Quoted history inside ``<blockquote>`` keeps a ``> ``
prefix so the quote stripper removes it like a plain-text quote.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
          "pre", "address", "section", "article", "header", "footer", "center", "hr", "dl",
          "dt", "dd", "form", "fieldset", "title"}
_SKIP = {"script", "style", "head", "template", "noscript", "xml"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._skip = 0
        self._quote = 0
        self._href: str | None = None
        self._link_text: list[str] = []
        self._pre = 0

    def _newline(self) -> None:
        text = "".join(self._line)
        if not self._pre:
            text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text).strip()
        prefix = "> " * self._quote
        self.lines.append(prefix + text if text else prefix.rstrip())
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self._newline()
        elif tag == "blockquote":
            self._newline()
            self._quote += 1
        elif tag == "li":
            self._newline()
            self._line.append("- ")
        elif tag in ("td", "th"):
            self._line.append(" ")
        elif tag == "pre":
            self._newline()
            self._pre += 1
        elif tag in _BLOCK:
            self._newline()
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self._line.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._newline()
            self._quote = max(0, self._quote - 1)
        elif tag == "pre":
            self._newline()
            self._pre = max(0, self._pre - 1)
        elif tag in _BLOCK or tag == "li":
            self._newline()
        elif tag == "a" and self._href:
            text = "".join(self._link_text).strip()
            href = self._href.strip()
            if href.startswith(("http://", "https://")) and href not in text:
                self._line.append(f" <{href}>")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._newline()
                self._line.append(part)
            return
        self._line.append(data.replace("\n", " "))
        if self._href is not None:
            self._link_text.append(data)

    def text(self) -> str:
        self._newline()
        out: list[str] = []
        for line in self.lines:
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue  # collapse runs of blank lines
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Readable text from an HTML body; never raises on malformed markup."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this is a last resort
        return re.sub(r"<[^>]+>", " ", html).strip()
    return parser.text()
