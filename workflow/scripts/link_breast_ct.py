"""Snakemake adapter: cohort B's breast-CT table, keyed by the pseudonymous subject_id instead of PatientID."""

from bacseg.ingest import IngestOptions
from bacseg.ingest.linked import pseudonymise_subject_table
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    options = IngestOptions.from_mapping(snakemake.params.ingest, cohort="B", seed=snakemake.params.seed)
    table = pseudonymise_subject_table(
        snakemake.input.breast_ct, snakemake.input.source_files, snakemake.input.manifest, options
    )
    table.to_csv(snakemake.output[0], index=False)
