"""Snakemake adapter: the manuscript (HTML; PDF beside it where LaTeX is installed) from the run's results."""

from pathlib import Path

from bacseg.logs import logged_job
from bacseg.manuscript import ManuscriptInputs, build_manuscript

with logged_job(snakemake.log[0]):
    given = snakemake.input
    inputs = ManuscriptInputs(
        provenance=Path(given.provenance),
        models=Path(given.models),
        table1=Path(given.table1),
        patch_counts=Path(given.patch_counts),
        manifests=dict(zip(snakemake.params.cohorts, map(Path, given.manifests))),
        tables={Path(csv).stem: Path(csv) for csv in given.tables},
        figures={Path(png).stem: Path(png) for png in given.figures},
        captions={Path(png).stem: Path(rst) for png, rst in zip(given.figures, given.captions)},
    )
    build_manuscript(inputs, Path(given.template).parent, snakemake.output.html)
