"""Snakemake adapter: Table 1 (patch-wise and whole-image, mean +- SD) and the paper's numbers beside it."""

from bacseg.logs import logged_job
from bacseg.tables import read_per_sample, write_paper_comparison, write_table1

with logged_job(snakemake.log[0]):
    patch = read_per_sample(snakemake.params.models, snakemake.input.patch)
    whole_image = read_per_sample(snakemake.params.models, snakemake.input.whole_image)
    out = snakemake.output
    table = write_table1(patch, whole_image, csv=out.csv, markdown=out.markdown, latex=out.latex)
    write_paper_comparison(table, csv=out.versus_paper, markdown=out.versus_paper_markdown)
