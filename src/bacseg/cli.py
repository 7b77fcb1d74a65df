"""The ``bacseg`` command: the workflow's steps one at a time, outside Snakemake.

Each subcommand imports its machinery only when it runs, so ``bacseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence


def _synth(args: argparse.Namespace) -> None:
    from bacseg.settings import load_config
    from bacseg.synthetic import CohortOutputs, generate_cohort

    config = load_config(args.config)
    seed = config["seed"] if args.seed is None else args.seed
    outputs = CohortOutputs.in_folder(args.out)
    generate_cohort(args.cohort, outputs, config["synthetic"][args.cohort], seed=seed, workers=args.workers)
    print(f"cohort {args.cohort} written to {args.out}")


def _ingest(args: argparse.Namespace) -> None:
    from bacseg.ingest import IngestOptions, IngestOutputs, ingest
    from bacseg.settings import load_config

    config = load_config(args.config)
    if args.on_error:
        config["ingest"]["on_error"] = args.on_error
    options = IngestOptions.from_mapping(config["ingest"], cohort=args.cohort, seed=config["seed"])
    private_dir = (args.private_dir or Path(config["data"]["private_dir"])) / args.cohort
    outputs = IngestOutputs.in_folders(args.out, private_dir)
    result = ingest(args.dicom_dir, outputs, mdai_export=args.annotations, options=options)
    print(f"{len(result.manifest)} images ({int(result.manifest['annotation'].sum())} annotated), "
          f"{len(result.skipped)} skipped; {outputs.manifest.name}, {outputs.annotations.name} in {args.out}; "
          f"PRIVATE (paths that may name patients, do not share): {outputs.source_files}, {outputs.skipped}")


def _preprocess(args: argparse.Namespace) -> None:
    from bacseg.preprocess import PreprocessOutputs, PreprocessParams, preprocess_dicom_file
    from bacseg.settings import load_config

    config = load_config(args.config)
    outputs = PreprocessOutputs.in_folder(args.out)
    table = preprocess_dicom_file(args.dicom, outputs, PreprocessParams.from_mapping(config["preprocess"]),
                                  image_id=args.image_id, mdai_export=args.annotations,
                                  bac_labels=tuple(config["ingest"]["bac_labels"]), workers=args.workers)  # fmt: skip
    row = table.iloc[0]
    pngs = {key: args.out / row[key] for key in ("image_png", "breast_mask_png", "bac_mask_png") if row[key]}
    written = {"table": outputs.table, **pngs}
    print(json.dumps({key: str(path) for key, path in written.items()}, indent=2))


def _models(args: argparse.Namespace) -> None:
    from bacseg.models.summary import models_summary

    print(json.dumps(models_summary(), indent=2))


def _convert_weights(args: argparse.Namespace) -> None:
    from bacseg.runtime import configure_jax

    configure_jax()
    from bacseg.models.authors_weights import convert_authors_checkpoint

    convert_authors_checkpoint(args.checkpoint, args.out)
    print(f"converted {args.checkpoint} -> {args.out}")


def _predict(args: argparse.Namespace) -> None:
    from bacseg.runtime import configure_jax

    configure_jax()
    from bacseg.inference.dicom_file import write_prediction
    from bacseg.inference.predictor import load_predictor
    from bacseg.quantify.recipes import make_recipe
    from bacseg.quantify.sources import open_source
    from bacseg.settings import load_config

    config = load_config(args.config)
    recipe = make_recipe(args.recipe, config, stitch=args.stitch)
    image = recipe.image(open_source(args.image))
    predictor = load_predictor(args.weights, batch_size=recipe.settings["batch_size"], clip=recipe.clip)
    probabilities = recipe.predict(image, predictor)
    record = {"model": predictor.model_name, "weights": predictor.metadata.source, "recipe": recipe.name,
              "normalization": predictor.normalization, "output_activation": predictor.output_activation,
              "clipped_to": list(recipe.clip), "settings": recipe.settings, **recipe.record}  # fmt: skip
    cutoff = _first_set(args.cutoff, recipe.cutoff, config["evaluate"]["cutoff"])
    written = write_prediction(args.out, image, probabilities, cutoff, record)
    print(json.dumps({key: str(path) for key, path in written.items()}, indent=2))


def _quantify(args: argparse.Namespace) -> int:
    from bacseg.runtime import configure_jax

    configure_jax()
    from bacseg.inference.predictor import load_predictor
    from bacseg.quantify.recipes import make_recipe
    from bacseg.quantify.run import QuantifyOutputs, quantify_inputs
    from bacseg.settings import load_config

    config = load_config(args.config)
    outputs = QuantifyOutputs.in_folders(args.out, args.private_dir)
    recipe = make_recipe(args.recipe, config)
    predictor = load_predictor(args.weights, batch_size=recipe.settings["batch_size"], clip=recipe.clip)
    result = quantify_inputs(args.inputs, predictor, recipe, outputs,
                             cutoff=_first_set(args.cutoff, recipe.cutoff, config["quantify"]["cutoff"]),
                             thresholds=config["quantify"]["thresholds"], id_scheme=config["ingest"]["id_scheme"],
                             salt=config["ingest"]["salt"], progress=not args.no_progress)  # fmt: skip
    written = {"images": len(result.table), "skipped": len(result.skipped), "table": str(outputs.table),
               "settings": str(outputs.record), "overlays": str(outputs.overlays),
               "private": {"source_files": str(outputs.source_files), "skipped": str(outputs.skipped)}}  # fmt: skip
    print(json.dumps(written, indent=2))
    if not result.skipped:
        return 0
    listing = "\n".join(f"  row {n}: {skipped.reason}" for n, skipped in enumerate(result.skipped, 1))
    print(f"bacseg quantify: {len(result.skipped)} input file(s) not quantified, listed by these rows with their "
          f"paths in {outputs.skipped} (PRIVATE: paths may name patients):\n{listing}", file=sys.stderr)
    return 1


def _realism(args: argparse.Namespace) -> None:
    from bacseg.runtime import configure_jax

    configure_jax()
    from bacseg.realism.benchmark import run_realism
    from bacseg.settings import load_config

    config = load_config(args.config)
    overrides = {"n_subjects": args.subjects, "scale": args.scale, "seed": args.seed}
    config["realism"].update({key: value for key, value in overrides.items() if value is not None})
    args.out.mkdir(parents=True, exist_ok=True)
    written = {"json": args.out / "realism.json", "figure": args.out / "realism.png"}
    result = run_realism(config, weights=args.weights, json_path=written["json"], figure_path=written["figure"],
                         workers=args.workers)  # fmt: skip
    print(json.dumps({"pooled": result["pooled"], "beta_median": result["beta"]["median"],
                      **{key: str(path) for key, path in written.items()}}, indent=2))  # fmt: skip


def _first_set(*values):
    return next(value for value in values if value is not None)


def _evaluate(args: argparse.Namespace) -> None:
    from bacseg.evaluation import evaluate_pairs, match_by_stem
    from bacseg.metrics.segmentation import summarise
    from bacseg.settings import load_config

    section = load_config(args.config)["evaluate"]
    cutoff = section["cutoff"] if args.cutoff is None else args.cutoff
    empty = section["empty"] if args.empty is None else args.empty
    per_image = evaluate_pairs(match_by_stem(args.pred, args.truth), cutoff=cutoff, empty=empty)
    if args.per_image:
        per_image.to_csv(args.per_image, index=False)
    print(json.dumps({"cutoff": cutoff, "empty": empty, **summarise(per_image)}, indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bacseg", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synth = commands.add_parser("synth", help="generate a synthetic cohort (DICOM, MD.ai JSON, truth table)")
    synth.add_argument("--cohort", choices=["A", "B", "C"], required=True)
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.add_argument("--seed", type=int, help="default: the config's seed (42)")
    synth.add_argument("--config", type=Path, help="workflow config file whose synthetic.<cohort> section to use")
    synth.add_argument("--workers", type=int, default=1, help="processes (same bytes whatever the number)")
    synth.set_defaults(run=_synth)

    ingest = commands.add_parser(
        "ingest", help="a folder of DICOM mammograms (+ MD.ai export) -> pseudonymised manifest"
    )
    ingest.add_argument("dicom_dir", type=Path)
    ingest.add_argument("--annotations", type=Path, help="MD.ai export JSON")
    ingest.add_argument("--cohort", default="A")
    ingest.add_argument("--out", type=Path, required=True, help="folder of the shareable outputs")
    ingest.add_argument("--private-dir", type=Path,
                        help="PRIVATE folder for <cohort>/source_files.csv and skipped.csv (file paths: never share); "
                             "default: the config's data.private_dir (private)")  # fmt: skip
    ingest.add_argument("--on-error", choices=["raise", "skip"],
                        help="raise (default): list every bad file and stop; skip: record them and go on")
    ingest.add_argument("--config", type=Path, help="workflow config file whose ingest section to use")
    ingest.set_defaults(run=_ingest)

    prep = commands.add_parser("preprocess", help="preprocess one DICOM mammogram as the workflow does: 8-bit image, "
                               "breast mask, BAC mask (with --annotations) and preprocessed.csv")  # fmt: skip
    prep.add_argument("dicom", type=Path)
    prep.add_argument("--annotations", type=Path, help="MD.ai export JSON with this image's BAC centre-lines")
    prep.add_argument("--image-id", default="image",
                      help="name of the written files (default: image; never derived from the file name)")
    prep.add_argument("--out", type=Path, required=True)
    prep.add_argument("--workers", type=int, default=1, help="threads (same bytes whatever the number)")
    prep.add_argument("--config", type=Path, help="workflow config file whose preprocess section to use")
    prep.set_defaults(run=_preprocess)

    models = commands.add_parser("models", help="every registered network with its parameter count, as JSON")
    models.set_defaults(run=_models)

    convert = commands.add_parser("convert-weights", help="authors' PyTorch SCU-Net checkpoint -> project checkpoint")
    convert.add_argument("checkpoint", type=Path)
    convert.add_argument("--out", type=Path, required=True)
    convert.set_defaults(run=_convert_weights)

    predict = commands.add_parser("predict", help="one mammogram (DICOM or PNG) -> probability map (.npy), overlay PNG")
    predict.add_argument("image", type=Path, metavar="FILE", help="a DICOM file or a PNG image (told apart by content)")
    predict.add_argument("--weights", required=True,
                         help="'authors' (the shipped paper checkpoint), an authors' .pt file or a checkpoint folder")
    predict.add_argument("--out", type=Path, required=True,
                         help="output folder; file names are fixed, never taken from the input")
    _add_recipe_argument(predict)
    predict.add_argument("--stitch", choices=["max", "mean", "gaussian"],
                         help="default: the config's (max); the authors' recipe is max only")
    predict.add_argument("--cutoff", type=float, help="overlay pixels with probability above this (default: the "
                         "config's evaluate.cutoff; authors' recipe: 0.65)")
    predict.add_argument("--config", type=Path, help="workflow config file: its preprocess, patches, predict and "
                         "evaluate sections")
    predict.set_defaults(run=_predict)

    quantify = commands.add_parser(
        "quantify", help="DICOM files/folders and PNG mammograms -> BAC metrics (PM, AM, SIM, TAM_X, TSIM_X) per "
        "image in one CSV, and an overlay per image"
    )
    quantify.add_argument("inputs", type=Path, nargs="+", metavar="PATH",
                          help="DICOM files, PNG images, or folders searched recursively (files told apart by "
                               "content, not by name)")  # fmt: skip
    quantify.add_argument("--weights", required=True,
                          help="'authors' (the shipped paper checkpoint), an authors' .pt file or a checkpoint folder")
    quantify.add_argument("--out", type=Path, required=True,
                          help="folder of the shareable outputs: quantify.csv, quantify.json, overlays/<image_id>.png "
                               "(images named by pseudonyms, never by file name)")  # fmt: skip
    _add_recipe_argument(quantify)
    quantify.add_argument("--cutoff", type=float,
                          help="a pixel is calcified where probability > cutoff (default: the config's "
                               "quantify.cutoff; authors' recipe: 0.65, with AM at 0.5 as in their code)")  # fmt: skip
    quantify.add_argument("--private-dir", type=Path, default=Path("private/quantify"),
                          help="PRIVATE folder, outside --out, for source_files.csv (image_id -> file) and "
                               "skipped.csv (files not quantified, with the reason); default: private/quantify")
    quantify.add_argument("--config", type=Path, help="workflow config file: its preprocess, patches, predict, "
                          "quantify and ingest (id_scheme, salt) sections")
    quantify.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    quantify.set_defaults(run=_quantify)

    realism = commands.add_parser(
        "realism", help="the authors' SCU-Net as the judge of a paper-scale synthetic cohort A: Dice, recall, "
        "precision, false positives by cause, beta (realism.json) and real-vs-synthetic crops (realism.png)"
    )
    realism.add_argument("--out", type=Path, required=True, help="output folder: realism.json, realism.png")
    realism.add_argument("--weights", default="authors",
                         help="the judge: 'authors' (default, the shipped paper checkpoint) or an authors' .pt file")
    realism.add_argument("--subjects", type=int, help="subjects of the judge's cohort (default: the config's "
                         "realism.n_subjects)")
    realism.add_argument("--scale", type=float, help="its image scale (default: the config's realism.scale, 1.0)")
    realism.add_argument("--seed", type=int, help="its seed (default: the config's realism.seed, 11)")
    realism.add_argument("--workers", type=int, default=1, help="processes synthesising the cohort (same bytes)")
    realism.add_argument("--config", type=Path, help="workflow config file: its realism, synthetic.A, preprocess "
                         "(config.yaml: labels 2 mm wide), predict and ingest sections")
    realism.set_defaults(run=_realism)

    evaluate = commands.add_parser(
        "evaluate", help="score probability maps or masks (.npy/.png) against truth masks (.png): Table 1's row as JSON"
    )
    evaluate.add_argument("--pred", type=Path, required=True, help="folder of predictions (.npy/.png), paired by stem")
    evaluate.add_argument("--truth", type=Path, required=True, help="folder of truth masks (PNG, label > 128: 255)")
    evaluate.add_argument("--cutoff", type=float, help="a pixel is predicted where probability > cutoff (default: "
                          "the config's evaluate.cutoff)")
    evaluate.add_argument("--empty", choices=["nan", "zero"],
                          help="a 0/0 score (e.g. F1 of an empty truth left empty): nan = skipped, zero = 0 as the "
                               "authors' code (default: the config's evaluate.empty)")
    evaluate.add_argument("--config", type=Path, help="workflow config file: its evaluate section")
    evaluate.add_argument("--per-image", type=Path, help="also write the per-image counts and scores to this CSV")
    evaluate.set_defaults(run=_evaluate)
    return parser


def _add_recipe_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument("--recipe", choices=["project", "authors"], default="project",
                         help="project (default): the workflow's preprocessing and prediction settings; authors: "
                              "the authors' AutoSeg.py reproduced (8-bit grey, median 5, 512 px tiles at stride 480, "
                              "max stitching, cutoff 0.65)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
    except (FileNotFoundError, ValueError, KeyError) as error:
        print(f"bacseg {args.command}: error: {error}", file=sys.stderr)
        return 1
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
