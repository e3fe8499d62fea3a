"""HTML of Mastodon statuses to plain text.

Paragraphs and ``<br>`` become line breaks, links keep their visible text (a mention stays
``@name``, a hashtag ``#tag``; Mastodon hides the middle of long URLs in ``<span class="invisible">``,
which is kept so the URL is whole), entities are unescaped.

>>> html_to_text('<p>Hi <span class="h-card"><a href="https://m.s/@acme" class="u-url mention">@<span>acme</span></a></span>'
...              ' my order &amp; refund?</p><p>line<br>two</p>')
'Hi @acme my order & refund?\\n\\nline\\ntwo'
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts and not "".join(self.parts).endswith("\n\n"):
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = "".join(parser.parts).split("\n")
    text = "\n".join(line.strip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
