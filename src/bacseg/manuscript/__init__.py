"""The manuscript built from a run's results: every table, figure and number read from results/, the words from
the template in manuscript/. HTML always (one standalone file); PDF beside it where pdflatex is installed."""

from __future__ import annotations

import logging
from pathlib import Path

from bacseg.manuscript.context import ManuscriptInputs, collect
from bacseg.manuscript.latex import build_pdf
from bacseg.manuscript.render import render_markdown, to_html

__all__ = ["ManuscriptInputs", "build_manuscript"]

log = logging.getLogger(__name__)


def build_manuscript(inputs: ManuscriptInputs, source_dir: Path | str, html: Path | str) -> Path | None:
    """Write the manuscript as ``html`` (and its Markdown beside it, ``.md``) from ``inputs`` and the template in
    ``source_dir``; also ``.pdf`` where LaTeX is installed. Returns the PDF's path, or None where none was made."""
    source_dir, html = Path(source_dir), Path(html)
    context = collect(inputs)
    markdown = render_markdown(source_dir, context, inputs.figures, inputs.captions)
    html.parent.mkdir(parents=True, exist_ok=True)
    html.with_suffix(".md").write_text(markdown)
    html.write_text(to_html(markdown, inputs.figures, source_dir))
    log.info("manuscript: %d tables, %d figures, data source %s", len(inputs.tables), len(inputs.figures),
             context["config"]["data"]["source"])
    return build_pdf(markdown, inputs.figures, source_dir, html.with_suffix(".pdf"))
