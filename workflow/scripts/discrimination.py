"""Snakemake adapter: does the benchmark discriminate? Whole-image F1 spread across the networks and,
on synthetic data, their false positives on the benign look-alike calcifications."""

from bacseg.evaluation import probability_maps_in
from bacseg.logs import logged_job
from bacseg.metrics.discrimination import lookalike_false_positives, synthetic_truth_masks, write_discrimination
from bacseg.tables import read_per_sample

with logged_job(snakemake.log[0]):
    models = snakemake.params.models
    whole_image = read_per_sample(models, snakemake.input.whole_image)
    lookalikes = None
    synthetic_truth = getattr(snakemake.input, "synthetic_truth", None)  # absent on real data
    if synthetic_truth:
        masks = synthetic_truth_masks(snakemake.input.source_files, synthetic_truth)
        lookalikes = {
            model: lookalike_false_positives(
                probability_maps_in(folder, whole_image[model]["image_id"]), masks, snakemake.input.truth,
                cutoff=snakemake.params.cutoff,
            )
            for model, folder in zip(models, snakemake.input.probabilities)
        }
    write_discrimination(whole_image, lookalikes, csv=snakemake.output.csv, json_path=snakemake.output.json)
