"""Training cost per optimizer step and per validation batch, to size an epoch (N / batch steps + validation).

The steps ``train_and_evaluate`` runs: ``train_step_on_tiles`` (augmentation, normalisation, SCU-Net's or
U-Net's Dice + AdamW step) and ``evaluate_tiles``, on 8-bit tiles of 256x256 at batch 8, the networks
measured in alternating rounds so load from other processes falls on all alike. Compilation is excluded
(one warm-up call each) and reported separately. Prints one JSON row per measurement.

Usage: python benchmarks/bench_training_epoch.py [--models SCU-Net U-Net] [--size 256] [--batch 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from harness import measure_alternating
from bacseg.runtime import configure_jax


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["SCU-Net", "U-Net"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure_jax()
    import jax

    from bacseg.models import create_model
    from bacseg.training.augment import Augment
    from bacseg.training.steps import create_optimizer, evaluate_tiles, train_step_on_tiles

    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (args.batch, args.size, args.size)).astype(np.uint8)
    masks = rng.random((args.batch, args.size, args.size)) < 0.05
    augment, key = Augment(flip=True, rot90=True, brightness=0.2, contrast=0.2), jax.random.key(0)
    conventions = {"normalization": "patch_zero_mean", "output_activation": "sigmoid"}
    functions, compile_seconds = {}, {}
    for name in args.models:
        started = time.perf_counter()
        model = create_model(name)
        optimizer = create_optimizer(model, learning_rate=1e-3, weight_decay=0.01)

        def train(repeat, model=model, optimizer=optimizer):
            loss = train_step_on_tiles(model, optimizer, tiles, masks, key, repeat, augment=augment, **conventions)
            jax.block_until_ready(loss)  # one executable: the loss is ready when the update is

        def validate(repeat, model=model):
            jax.block_until_ready(evaluate_tiles(model, tiles, masks, cutoff=0.5, **conventions))

        train(0), validate(0)
        compile_seconds[name] = round(time.perf_counter() - started, 1)
        functions[f"{name} train step"], functions[f"{name} validation batch"] = train, validate
    for row in measure_alternating(functions, (args.size, args.size), args.repeats, batch=args.batch):
        row["build_and_compile_s"] = compile_seconds[row["what"].split(" ")[0]]
        print(json.dumps(row))


if __name__ == "__main__":
    main()
