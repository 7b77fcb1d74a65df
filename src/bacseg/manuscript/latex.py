"""The manuscript as PDF where a LaTeX toolchain is installed: the same Markdown turned into LaTeX (headings,
paragraphs, emphasis, code, lists, tables, figures: what the template and the results' tables use), set in
manuscript/document.tex.j2 and compiled with pdflatex. Without pdflatex on PATH there is no PDF, and a log
line says so: the HTML is the manuscript everywhere."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import jinja2
from markdown_it.token import Token

from bacseg.manuscript.render import markdown_parser, title_of

log = logging.getLogger(__name__)

DOCUMENT = "document.tex.j2"
TOOLCHAIN = "pdflatex"
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}"}  # fmt: skip
# Characters the results' tables use that pdflatex's default fonts lack.
_UNICODE = {"±": r"$\pm$", "→": r"$\rightarrow$", "²": r"\textsuperscript{2}", "ρ": r"$\rho$", "≥": r"$\geq$",
            "≤": r"$\leq$", "×": r"$\times$", "≈": r"$\approx$", "µ": r"$\mu$", "Δ": r"$\Delta$"}  # fmt: skip
_HEADINGS = {"h2": "section", "h3": "subsection", "h4": "subsubsection", "h5": "paragraph", "h6": "paragraph"}
_INLINE = {"strong_open": r"\textbf{", "strong_close": "}", "em_open": r"\emph{", "em_close": "}",
           "softbreak": "\n", "hardbreak": "\\\\\n", "link_close": "}"}  # fmt: skip
_BLOCK = {"paragraph_close": "\n\n",
          "bullet_list_open": "\\begin{itemize}\n", "bullet_list_close": "\\end{itemize}\n\n",
          "ordered_list_open": "\\begin{enumerate}\n", "ordered_list_close": "\\end{enumerate}\n\n",
          "list_item_open": r"\item ", "list_item_close": "\n", "blockquote_open": "\\begin{quote}\n",
          "blockquote_close": "\\end{quote}\n\n", "hr": "\\medskip\\hrule\\medskip\n\n"}  # fmt: skip


def escape(text: str) -> str:
    """Plain text as LaTeX: special characters escaped, the results' symbols as math or text commands."""
    return "".join(_SPECIAL.get(c) or _UNICODE.get(c) or c for c in text)


def _inline(children: list[Token], figure_files: Mapping[str, str]) -> str:
    parts = []
    for token in children:
        if token.type == "text":
            parts.append(escape(token.content))
        elif token.type == "code_inline":
            parts.append(rf"\texttt{{{escape(token.content)}}}")
        elif token.type == "link_open":
            parts.append(rf"\href{{{escape(token.attrGet('href') or '')}}}{{")
        elif token.type == "image":
            graphic = figure_files[token.attrGet("src")]
            parts.append("\n\\begin{center}\\includegraphics[width=\\linewidth,height=0.8\\textheight,"
                         f"keepaspectratio]{{{graphic}}}\\end{{center}}\n")
        elif token.type in _INLINE:
            parts.append(_INLINE[token.type])
        else:
            raise ValueError(f"the manuscript's LaTeX has no rule for Markdown {token.type!r}")
    return "".join(parts)


def _tabular(rows: list[list[str]]) -> str:
    """A table no wider than the text (scaled down when it would be), header ruled off."""
    spec = "l" * len(rows[0])
    lines = [" & ".join(row) + r" \\" for row in rows]
    body = "\n".join([r"\hline", lines[0], r"\hline", *lines[1:], r"\hline"])
    return ("\\begin{center}\\small\n\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
            f"\\begin{{tabular}}{{{spec}}}\n{body}\n\\end{{tabular}}}}\n\\end{{center}}\n\n")


def to_latex_body(tokens: list[Token], figure_files: Mapping[str, str]) -> str:
    """The document's body (after its title) in LaTeX; ``figure_files`` maps a figure's name to its graphic file."""
    out: list[str] = []
    rows: list[list[str]] | None = None
    in_title = False  # the h1 is the document's title, set by the template
    for token in tokens:
        if token.type == "heading_open":
            in_title = token.tag == "h1"
            out.append("" if in_title else f"\\{_HEADINGS[token.tag]}*{{")
        elif token.type == "heading_close":
            out.append("" if in_title else "}\n\n")
            in_title = False
        elif token.type == "inline" and not in_title:
            (rows[-1] if rows is not None else out).append(_inline(token.children or [], figure_files))
        elif token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            rows.append([])
        elif token.type == "table_close":
            out.append(_tabular(rows))
            rows = None
        elif token.type in ("fence", "code_block"):
            out.append(f"\\begin{{verbatim}}\n{token.content}\\end{{verbatim}}\n\n")
        elif token.type == "paragraph_close" and token.hidden:
            continue  # a tight list's item: no paragraph break
        elif token.type in _BLOCK:
            out.append(_BLOCK[token.type])
    return "".join(out)


def to_latex(markdown: str, figure_files: Mapping[str, str], source_dir: Path) -> str:
    """The whole LaTeX document: manuscript/document.tex.j2 around the converted Markdown."""
    tokens = markdown_parser().parse(markdown)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(source_dir), undefined=jinja2.StrictUndefined)
    return env.get_template(DOCUMENT).render(title=escape(title_of(tokens)), body=to_latex_body(tokens, figure_files))


def toolchain() -> str | None:
    """pdflatex's path, or None where no LaTeX is installed."""
    return shutil.which(TOOLCHAIN)


def build_pdf(markdown: str, figures: Mapping[str, Path], source_dir: Path, pdf: Path) -> Path | None:
    """``pdf`` compiled from the manuscript's Markdown, or None (with the reason logged) where LaTeX is missing or
    fails; an older PDF there is removed then, so no stale PDF sits beside a newer HTML."""
    pdf = Path(pdf)
    compiler = toolchain()
    if compiler is None:
        log.info("no LaTeX toolchain (%s) on PATH: PDF skipped, the HTML is the manuscript", TOOLCHAIN)
        pdf.unlink(missing_ok=True)
        return None
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name, png in figures.items():
            shutil.copyfile(png, work / f"{name}.png")
        tex = to_latex(markdown, {name: f"{name}.png" for name in figures}, source_dir)
        (work / "manuscript.tex").write_text(tex)
        for _ in range(2):  # the second pass settles cross-references
            run = subprocess.run([compiler, "-interaction=nonstopmode", "-halt-on-error", "manuscript.tex"],
                                 cwd=work, capture_output=True, text=True)  # fmt: skip
            if run.returncode:
                errors = [line for line in run.stdout.splitlines() if line.startswith("!")]
                log.warning("pdflatex failed (%s): PDF skipped, the HTML is the manuscript", "; ".join(errors[:3]))
                pdf.unlink(missing_ok=True)
                return None
        shutil.copyfile(work / "manuscript.pdf", pdf)
    log.info("PDF written with %s", TOOLCHAIN)
    return pdf
