"""Speed and memory of generating one synthetic mammogram, at the paper's full size and at the default
scale; one JSON object per line. Each repeat draws a new breast (MLO, BAC burden 0.3), so vessel and
calcification counts vary a little between repeats, as they do in a cohort.

    python benchmarks/bench_synthetic.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from harness import measure

from bacseg.io.dicom import MammogramHeader, write_mammogram
from bacseg.synthetic import draw_breast, synthesize_mammogram
from bacseg.synthetic.geometry import PAPER_SPACING_MM, image_shape

SCALES = {"full (paper)": 1.0, "default config": 0.25}


def synthesize(shape: tuple[int, int], spacing_mm: float, seed: int):
    rng = np.random.default_rng(seed)
    return synthesize_mammogram(rng, "MLO", "L", shape, spacing_mm, breast=draw_breast(rng), burden=0.3, bits_stored=14)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = []
    for label, scale in SCALES.items():
        shape, spacing_mm = image_shape("large", scale), PAPER_SPACING_MM / scale
        generate = lambda seed: synthesize(shape, spacing_mm, seed)  # noqa: E731
        results.append(measure(f"synthesize_mammogram, {label}", shape, generate, args.repeats, scale=scale))
        image = synthesize(shape, spacing_mm, 0)
        header = MammogramHeader(
            path=Path("bench.dcm"), patient_id="SYN-BENCH", study_date="20200101", laterality="L", view="MLO",
            rows=shape[0], columns=shape[1], pixel_spacing_mm=spacing_mm, photometric="MONOCHROME2", bits_stored=14,
            study_uid="2.25.1", series_uid="2.25.2", sop_instance_uid="2.25.3",
        )  # fmt: skip
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "bench.dcm"
            write = lambda _: write_mammogram(path, image.pixels, header)  # noqa: E731
            results.append(measure(f"write_mammogram (DICOM MG), {label}", shape, write, args.repeats, scale=scale))
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
