"""The manuscript's Markdown from its Jinja2 template (manuscript/manuscript.md.j2), and the Markdown as one
standalone HTML page (figures embedded as base64, styles inline) that opens anywhere without the results."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

TEMPLATE = "manuscript.md.j2"
PAGE = "page.html.j2"


def _number(value: Any, digits: int = 3) -> str:
    """A result as text: ``digits`` decimals, or 'n/a' where the run could not compute it (NaN)."""
    value = float(value)
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _count(value: Any) -> str:
    return f"{int(value):,}"


def _percent(value: Any, digits: int = 0) -> str:
    value = float(value)
    return "n/a" if math.isnan(value) else f"{100 * value:.{digits}f} %"


def _demoted(markdown: str, levels: int) -> str:
    """A results table's own headings moved ``levels`` down, to sit under the manuscript's section."""
    return re.sub(r"^(#+) ", lambda m: "#" * min(len(m[1]) + levels, 6) + " ", markdown, flags=re.M)


def caption_text(path: Path, config: Mapping[str, Any]) -> str:
    """A report caption as one line: reStructuredText whose ``**bold**`` and ````literal```` Markdown reads alike,
    its Jinja (``{{ snakemake.config[...] }}``) filled in as ``snakemake --report`` fills it."""
    template = jinja2.Template(Path(path).read_text(), undefined=jinja2.StrictUndefined)
    return " ".join(template.render(snakemake={"config": config}).split())


def render_markdown(source_dir: Path, context: Mapping[str, Any], figures: Mapping[str, Path],
                    captions: Mapping[str, Path]) -> str:
    """The template rendered with ``context``; ``table(name)`` and ``figure(name)`` place the results' tables
    and figures. A name the template asks for and the run lacks is an error, and so is a table or figure of the
    run that the template leaves out (every one must appear)."""
    tables = context["tables_markdown"]
    used: dict[str, set[str]] = {"table": set(), "figure": set()}

    def table(name: str, levels: int = 1) -> str:
        if name not in tables:
            raise KeyError(f"the manuscript asks for table {name!r}, which this run did not make ({sorted(tables)})")
        used["table"].add(name)
        return _demoted(tables[name], levels).strip()

    def figure(name: str) -> str:
        if name not in figures:
            raise KeyError(f"the manuscript asks for figure {name!r}, which this run did not make ({sorted(figures)})")
        used["figure"].add(name)
        return f"![{name}]({name})\n\n{caption_text(captions[name], context['config'])}"

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(source_dir), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)  # fmt: skip
    env.filters |= {"num": _number, "count": _count, "percent": _percent}
    text = env.get_template(TEMPLATE).render(**context, table=table, figure=figure)
    left_out = sorted(f"table {n}" for n in set(tables) - used["table"])
    left_out += sorted(f"figure {n}" for n in set(figures) - used["figure"])
    if left_out:
        raise ValueError(f"{source_dir / TEMPLATE} leaves out results of this run: {', '.join(left_out)}")
    return text


def markdown_parser() -> MarkdownIt:
    """CommonMark with tables; raw HTML off, so a result's text (e.g. '<0.001') is always shown, never parsed."""
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def images(tokens: list[Token]) -> list[Token]:
    """The image tokens of a parsed document (a figure is ``![name](name)``)."""
    inline = [child for token in tokens if token.type == "inline" for child in token.children or []]
    return [child for child in inline if child.type == "image"]


def title_of(tokens: list[Token]) -> str:
    """The text of the first top-level heading."""
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open" and opening.tag == "h1":
            return inline.content
    raise ValueError("the manuscript has no title (a '# ' heading)")


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(png).read_bytes()).decode("ascii")


def to_html(markdown: str, figures: Mapping[str, Path], source_dir: Path) -> str:
    """One self-contained HTML page: the Markdown rendered, each figure inlined, in manuscript/page.html.j2."""
    parser = markdown_parser()
    tokens = parser.parse(markdown)
    for image in images(tokens):
        image.attrSet("src", data_uri(figures[image.attrGet("src")]))
    body = parser.renderer.render(tokens, parser.options, {})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(source_dir), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template(PAGE).render(title=title_of(tokens), body=Markup(body))
