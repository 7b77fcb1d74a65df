"""SCU-Net inference on 512x512 patches on the CPU: Flax/JAX beside the project's PyTorch port.

Prints one JSON object per (variant, batch size). Variants, all float32, eval mode, same run:
- jax_ynnpack: the plain Flax SCU-Net, jitted, with jaxlib's default CPU backend choice (YNNPACK);
- jax_plain: the same with YNNPACK off (what ``runtime.configure_jax`` sets for the project);
- jax_inference_form: ``fused.scunet_inference_form`` (BatchNorm folded, head before the last upsample);
- torch_nchw: the PyTorch port, eager, NCHW (the authors' setup); torch_channels_last: the same, channels_last.
Variants alternate within each round, so load from other processes hits them alike; ``median_s`` is the
median over rounds of one batch, ``vs_torch_channels_last`` the median of the per-round time ratios.

    python benchmarks/bench_scunet_inference.py [--rounds-batch1 11] [--rounds-batch8 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from harness import machine

from bacseg.runtime import configure_jax

configure_jax(ynnpack=True)  # per variant below: YNNPACK on or off through the compile options

import jax  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from flax import nnx  # noqa: E402

from bacseg.models import create_model  # noqa: E402
from bacseg.models.fused import scunet_inference_form  # noqa: E402
from bacseg.models.scunet_torch import SCUNetTorch  # noqa: E402

GFLOP_PER_PATCH = 8.43  # multiply-adds x 2 of one 3x512x512 forward pass
SIDE = 512
YNNPACK_OFF = {"xla_cpu_experimental_ynn_fusion_type": ""}


def jax_runner(model: nnx.Module, images: np.ndarray, compiler_options: dict):
    graph, state = nnx.split(model)
    compiled = jax.jit(lambda state, x: nnx.merge(graph, state)(x)).lower(state, images).compile(compiler_options)
    x = jax.device_put(images)
    return lambda: compiled(state, x).block_until_ready()


def torch_runner(model: torch.nn.Module, images: np.ndarray, memory_format: torch.memory_format):
    model = model.to(memory_format=memory_format)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=memory_format)

    def run():
        with torch.inference_mode():
            model(x)

    return run


def variants(batch: int) -> dict:
    images = np.random.default_rng(0).standard_normal((batch, SIDE, SIDE, 3), dtype=np.float32)
    flax_model = create_model("SCU-Net", seed=0)
    flax_model.eval()
    torch_model = SCUNetTorch().eval()
    return {
        "jax_ynnpack": jax_runner(flax_model, images, {}),
        "jax_plain": jax_runner(flax_model, images, YNNPACK_OFF),
        "jax_inference_form": jax_runner(scunet_inference_form(flax_model), images, YNNPACK_OFF),
        "torch_nchw": torch_runner(torch_model, images, torch.contiguous_format),
        "torch_channels_last": torch_runner(torch_model, images, torch.channels_last),
    }


def measure(batch: int, rounds: int) -> list[dict]:
    runs = variants(batch)
    for run in runs.values():  # compile, allocate, warm caches
        run()
        run()
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    reference = times["torch_channels_last"]
    results = []
    for name, seconds in times.items():
        median = statistics.median(seconds)
        results.append({
            "what": f"scunet_inference/{name}",
            "size": f"{batch}x3x{SIDE}x{SIDE}",
            "median_s": round(median, 4),
            "per_patch_s": round(median / batch, 4),
            "gflop_per_s": round(GFLOP_PER_PATCH * batch / median, 1),
            "vs_torch_channels_last": round(statistics.median(t / r for t, r in zip(seconds, reference)), 3),
            "rounds": rounds,
            "machine": machine(),
            "nproc": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "versions": f"jax {jax.__version__}, torch {torch.__version__}",
        })  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds-batch1", type=int, default=11)
    parser.add_argument("--rounds-batch8", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    for batch, rounds in ((1, args.rounds_batch1), (8, args.rounds_batch8)):
        for result in measure(batch, rounds):
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
