"""Training throughput per network on the CPU: one Dice + AdamW step of ``bacseg.training.steps``.

Prints one JSON row per network ("train_step <name>": seconds per step, patches/s, the first, compiling
step's seconds). For SCU-Net the project's PyTorch port (``models.scunet_torch``, channels_last, the
same Dice loss and AdamW) runs in the same rounds, alternating with the JAX step so load from other
processes hits both alike; ``vs_torch`` is the median of the per-round JAX/PyTorch ratios.

    python benchmarks/bench_train_step.py [--networks SCU-Net,CGNet] [--side 256] [--batch 8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from harness import machine

from bacseg.runtime import configure_jax

configure_jax()

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from bacseg.models import create_model, model_names  # noqa: E402
from bacseg.training.steps import create_optimizer, train_step  # noqa: E402

LEARNING_RATE = 1e-3


def batch(side: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.standard_normal((size, side, side, 3), dtype=np.float32)
    masks = (rng.uniform(size=(size, side, side, 1)) > 0.9).astype(np.float32)
    return images, masks


def jax_step(name: str, images: np.ndarray, masks: np.ndarray):
    model = create_model(name, seed=0)
    optimizer = create_optimizer(model, learning_rate=LEARNING_RATE)
    x, y = jnp.asarray(images), jnp.asarray(masks)
    return lambda: train_step(model, optimizer, x, y, output_activation="sigmoid").block_until_ready()


def torch_scunet_step(images: np.ndarray, masks: np.ndarray):
    import torch  # only this comparison needs PyTorch

    from bacseg.models.scunet_torch import SCUNetTorch

    model = SCUNetTorch().to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=torch.channels_last)
    y = torch.from_numpy(masks.transpose(0, 3, 1, 2).copy())

    def step():
        optimizer.zero_grad()
        p = torch.sigmoid(model(x))
        loss = 1.0 - 2.0 * (p * y).sum() / ((y * y).sum() + (p * p).sum() + 1e-6)
        loss.backward()
        optimizer.step()

    return step


def timed(step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def measure(name: str, side: int, size: int, rounds: int, with_torch: bool) -> dict:
    images, masks = batch(side, size)
    steps = {"jax": jax_step(name, images, masks)}
    if with_torch:
        steps["torch"] = torch_scunet_step(images, masks)
    first = {variant: timed(step) for variant, step in steps.items()}
    for step in steps.values():
        step()
    times = {variant: [] for variant in steps}
    for _ in range(rounds):
        for variant, step in steps.items():
            times[variant].append(timed(step))
    median = statistics.median(times["jax"])
    row = {
        "what": f"train_step {name}",
        "size": f"{side}x{side}",
        "batch": size,
        "median_s": round(median, 3),
        "min_s": round(min(times["jax"]), 3),
        "patches_per_s": round(size / median, 2),
        "first_step_s": round(first["jax"], 2),
        "rounds": rounds,
        "machine": machine(),
    }
    if with_torch:
        row["torch_median_s"] = round(statistics.median(times["torch"]), 3)
        row["vs_torch"] = round(statistics.median(a / b for a, b in zip(times["jax"], times["torch"])), 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default=",".join(model_names()), help="comma-separated registry names")
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch SCU-Net beside the JAX one")
    args = parser.parse_args()
    for name in args.networks.split(","):
        row = measure(name, args.side, args.batch, args.rounds, with_torch=name == "SCU-Net" and not args.no_torch)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
