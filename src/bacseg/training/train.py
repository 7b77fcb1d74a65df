"""The training loop (paper II.B), in the shape of Flax's examples: ``train_and_evaluate`` does it all.

Dice loss and AdamW on the selected training patches, validation after every epoch (Dice loss over all
validation patches, mean per-patch Dice at the cutoff, per-patch counts), the best epoch by mean
validation Dice. Everything random comes from ``seed``: the initial weights, each epoch's shuffle
(``numpy`` from (seed, epoch)) and each step's augmentation (``fold_in(key(seed), step)``), so the same
seed and settings give the same weights, and a run killed mid-way and started again ends with exactly
the weights of an uninterrupted one (it resumes from the last finished epoch in ``workdir``).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm import tqdm

from bacseg.metrics.segmentation import batch_confusion_counts, scores_from_counts
from bacseg.models import create_model
from bacseg.models.checkpoint import CheckpointMetadata, save_checkpoint
from bacseg.models.conventions import normalize
from bacseg.training.batch_norm import recalibrate_batch_norm
from bacseg.training.input_pipeline import PatchSet, epoch_batches, fingerprint, padded_batches, read_patch_sets
from bacseg.training.loss import dice_loss_from_sums
from bacseg.training.settings import TrainSettings
from bacseg.training.state import EpochCheckpoints, claim_workdir, load_module_state, module_state
from bacseg.training.steps import create_optimizer, evaluate_tiles, train_step_on_tiles

LOG = logging.getLogger(__name__)  # the job's log file: one line per epoch (the progress bar goes to stderr)

METRICS_COLUMNS = ["epoch", "step", "train_loss", "val_loss", "val_dice", "seconds"]
PATCH_SCORE_COLUMNS = ["image_id", "y", "x", "tp", "fp", "tn", "fn"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def validate(model, patches: PatchSet, settings: TrainSettings) -> tuple[float, float, pd.DataFrame]:
    """(Dice loss over all validation patches, mean per-patch Dice at the cutoff, per-patch counts)."""
    sums, counts = [], []
    for indices, real in padded_batches(len(patches), settings.validation_batch_size):
        batch_sums, predicted = evaluate_tiles(
            model, patches.tiles[indices], patches.masks[indices], cutoff=settings.cutoff,
            normalization=settings.normalization, output_activation=settings.output_activation,
        )  # fmt: skip
        sums.append(np.asarray(batch_sums)[:real])
        counts.append(batch_confusion_counts(np.asarray(predicted)[:real], patches.masks[indices[:real]]))
    loss = float(dice_loss_from_sums(*np.concatenate(sums).astype(np.float64).sum(axis=0)))
    counts = pd.concat([patches.rows.reset_index(drop=True), pd.concat(counts, ignore_index=True)], axis=1)
    dice = float(scores_from_counts(counts, empty=settings.empty)["f1"].mean())
    return loss, dice, counts


def _better(val_dice: float, best: float | None) -> bool:
    """Strictly better than the best so far (the earliest epoch wins ties); NaN never beats a number."""
    return best is None or (not math.isnan(val_dice) and (math.isnan(best) or val_dice > best))


def _progress_bar(total: int, description: str) -> tqdm:
    """A step bar on stderr: live on a terminal, a line every 30 s in a job's log file."""
    interactive = sys.stderr.isatty()
    return tqdm(total=total, desc=description, unit="step", file=sys.stderr, mininterval=1 if interactive else 30,
                dynamic_ncols=interactive)  # fmt: skip


def _train_epoch(model, optimizer, train: PatchSet, config: TrainSettings, steps: int, seed: int, epoch: int,
                 first_step: int, description: str) -> np.ndarray:
    """One epoch's optimizer steps on its seeded shuffle; their losses. Step ``n`` augments with fold_in(key, n)."""
    key = jax.random.key(seed)
    losses = []
    with _progress_bar(steps, description) as bar:
        for step, indices in enumerate(epoch_batches(len(train), config.batch_size, steps, seed, epoch), first_step):
            loss = train_step_on_tiles(
                model, optimizer, train.tiles[indices], train.masks[indices], key, step, augment=config.augment,
                normalization=config.normalization, output_activation=config.output_activation,
            )  # fmt: skip
            losses.append(loss.block_until_ready())  # so the bar shows steps done, not steps queued
            bar.update()
    return np.asarray(jnp.stack(losses))


def _recalibration_batches(train: PatchSet, config: TrainSettings, seed: int, epoch: int):
    """The first ``batch_norm_batches`` batches of the epoch's shuffle, normalised, not augmented."""
    for indices in epoch_batches(len(train), config.batch_size, config.batch_norm_batches, seed, epoch):
        yield normalize(train.tiles[indices], config.normalization)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def train_and_evaluate(
    model_name: str,
    settings: dict,
    *,
    patch_index: Path | str,
    preprocessed_table: Path | str,
    workdir: Path | str,
    best_checkpoint: Path | str,
    metrics_csv: Path | str,
    patch_scores_csv: Path | str,
    seed: int,
) -> dict:
    """Train ``model_name`` on a patch index's selected patches; keep and save its best epoch.

    ``settings`` is the workflow config's ``train`` section (``TrainSettings``; keys left out take the
    schema's defaults). Writes the best epoch's model to ``best_checkpoint`` (``bacseg.models.checkpoint``),
    the per-epoch metrics to ``metrics_csv`` (rewritten every epoch), and the best epoch's per-patch
    confusion counts of the validation patches to ``patch_scores_csv``. Returns a summary: best epoch and
    its validation Dice, epochs and optimizer steps, seconds spent training (this call and any run it resumed).
    """
    config = TrainSettings.from_mapping(settings)
    workdir, metrics_csv = Path(workdir), Path(metrics_csv)
    patches = read_patch_sets(patch_index, preprocessed_table)
    train, validation = patches["train"], patches["validation"]
    claim_workdir(workdir, {"model_name": model_name, "seed": seed, "settings": config.as_dict(),
                            "patches": fingerprint(patches)})  # fmt: skip

    model = create_model(model_name, seed=seed)
    optimizer = create_optimizer(model, learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    progress = {"epoch": 0, "step": 0, "history": [], "best_epoch": None, "best_val_dice": None, "best_counts": None}
    best_model = module_state(model)
    steps_per_epoch = config.steps_per_epoch or -(-len(train) // config.batch_size)
    with EpochCheckpoints(workdir) as checkpoints:
        resumed_from = checkpoints.latest_epoch()
        if resumed_from is not None:
            best_model, progress = checkpoints.restore(resumed_from, model, optimizer)
        for epoch in range(progress["epoch"] + 1, config.epochs + 1):
            started = time.perf_counter()
            description = f"{model_name} epoch {epoch} of {config.epochs}"  # "1/2" would read as a path, redacted
            losses = _train_epoch(model, optimizer, train, config, steps_per_epoch, seed, epoch, progress["step"],
                                  description)  # fmt: skip
            recalibrate_batch_norm(model, _recalibration_batches(train, config, seed, epoch),
                                   which=config.batch_norm_recalibrate)
            val_loss, val_dice, counts = validate(model, validation, config)
            if not (np.isfinite(losses).all() and math.isfinite(val_loss)):
                bad_step = progress["step"] + 1 + int(np.argmax(~np.isfinite(losses)))
                where = f"at step {bad_step}" if not np.isfinite(losses).all() else "in validation"
                raise TrainingDiverged(f"{model_name}: loss is NaN/inf at epoch {epoch} ({where}); the checkpoint "
                                       f"of epoch {progress['epoch']} in {checkpoints.directory} is kept")
            progress["epoch"], progress["step"] = epoch, progress["step"] + len(losses)
            progress["history"].append({
                "epoch": epoch, "step": progress["step"], "train_loss": float(losses.mean()), "val_loss": val_loss,
                "val_dice": val_dice, "seconds": round(time.perf_counter() - started, 3),
            })  # fmt: skip
            if _better(val_dice, progress["best_val_dice"]):
                best_model = module_state(model)
                progress.update(best_epoch=epoch, best_val_dice=val_dice, best_counts=counts.to_dict("list"))
            checkpoints.save(epoch, model, optimizer, best_model, progress)
            _write_csv(pd.DataFrame(progress["history"], columns=METRICS_COLUMNS), metrics_csv)
            LOG.info(f"{description}: train loss {losses.mean():.4f}, validation loss {val_loss:.4f}, Dice "
                     f"{val_dice:.4f} (best {progress['best_val_dice']:.4f} at epoch {progress['best_epoch']}), "
                     f"{progress['history'][-1]['seconds']:.1f} s")

    load_module_state(model, best_model)
    metadata = CheckpointMetadata(
        model_name=model_name, num_classes=1, in_channels=3, output_activation=config.output_activation,
        source=f"trained: bacseg.training, epoch {progress['best_epoch']} of {config.epochs}, seed {seed}",
        normalization=config.normalization,
        extra={"epoch": progress["best_epoch"], "val_dice": progress["best_val_dice"], "settings": config.as_dict(),
               "seed": seed, "steps": progress["step"]},
    )  # fmt: skip
    save_checkpoint(best_checkpoint, model, metadata)
    _write_csv(pd.DataFrame(progress["best_counts"], columns=PATCH_SCORE_COLUMNS), Path(patch_scores_csv))
    _write_csv(pd.DataFrame(progress["history"], columns=METRICS_COLUMNS), metrics_csv)
    return {
        "model_name": model_name, "best_epoch": progress["best_epoch"], "best_val_dice": progress["best_val_dice"],
        "epochs": config.epochs, "steps": progress["step"], "resumed_from_epoch": resumed_from,
        "train_patches": len(train), "validation_patches": len(validation),
        "seconds": round(sum(row["seconds"] for row in progress["history"]), 3),
    }  # fmt: skip
