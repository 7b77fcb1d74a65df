"""train_and_evaluate on a tiny synthetic cohort A (scale 0.125, 64 px patches) with SCU-Net.

Outputs and their agreement with the saved checkpoint; the same weights from the same seed; a run
killed with SIGKILL and started again ends bit for bit where an uninterrupted one does; bad input
(other settings, a damaged checkpoint, a NaN loss, no training patches) stops with a named error.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
import pandas as pd
import pytest
from flax import nnx

import bacseg.training.train as train_module
from bacseg.ingest import IngestOptions, IngestOutputs, ingest, read_source_files
from bacseg.models.checkpoint import load_model
from bacseg.patches import PatchParams, write_patch_index
from bacseg.preprocess import PreprocessOutputs, PreprocessParams, preprocess_manifest
from bacseg.training import train_and_evaluate
from bacseg.training.input_pipeline import PatchLoader, read_patch_sets
from bacseg.training.settings import TrainSettings
from bacseg.training.state import CheckpointError
from test_training_pipeline import settings_mapping

MODEL = "SCU-Net"
SHORT = settings_mapping(epochs=2, steps_per_epoch=3)  # 6 steps of 4 patches of 64x64


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Cohort A, 8 subjects at scale 0.125: about 150 training and 80 validation patches of 64 px."""
    root = tmp_path_factory.mktemp("cohort")
    (root / "config.yaml").write_text("synthetic:\n  A:\n    n_subjects: 8\n    scale: 0.125\n")
    synth = [str(Path(sys.executable).with_name("bacseg")), "synth", "--cohort", "A", "--out", str(root / "synthetic"),
             "--seed", "0", "--config", str(root / "config.yaml")]  # fmt: skip
    subprocess.run(synth, check=True, capture_output=True, timeout=300)
    ingested = IngestOutputs.in_folders(root / "data", root / "private")
    ingest(root / "synthetic" / "dicom", ingested, mdai_export=root / "synthetic" / "annotations.json",
           options=IngestOptions(cohort="A", val_fraction=0.34, seed=0))  # fmt: skip
    preprocess_manifest(ingested.manifest, read_source_files(ingested.source_files),
                        PreprocessOutputs.in_folder(root / "preprocessed"), annotations=ingested.annotations)
    table = root / "preprocessed" / "preprocessed.csv"
    write_patch_index(table, root / "index.csv", root / "counts.json", PatchParams(size=64, overlap=8))
    return {"patch_index": root / "index.csv", "preprocessed_table": table}


def run(cohort, out, settings=SHORT, seed=0, model=MODEL) -> dict:
    return train_and_evaluate(model, settings, **cohort, seed=seed, **outputs(out))


def outputs(out) -> dict:
    return {"workdir": out / "work", "best_checkpoint": out / "best", "metrics_csv": out / "metrics.csv",
            "patch_scores_csv": out / "patches.csv"}  # fmt: skip


def weights(checkpoint_dir) -> list[np.ndarray]:
    model, _ = load_model(checkpoint_dir)
    return [np.asarray(leaf) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param, nnx.BatchStat))]


def last_epoch_state(out) -> list[np.ndarray]:
    """Model and optimizer state of the last epoch as the work directory holds it."""
    checkpoints = out / "work" / "checkpoints"
    (epoch,) = [p for p in checkpoints.iterdir() if p.name.isdigit()]
    with ocp.StandardCheckpointer() as checkpointer:
        items = [checkpointer.restore(epoch / item) for item in ("model", "optimizer")]
    return [np.asarray(leaf) for leaf in jax.tree.leaves(items)]


def assert_bitwise_equal(first: list[np.ndarray], second: list[np.ndarray]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_patch_sets_are_the_selected_rows_of_each_split(cohort):
    index = pd.read_csv(cohort["patch_index"], dtype={"image_id": str})
    sets = read_patch_sets(**cohort)
    loader = PatchLoader(cohort["preprocessed_table"].parent)
    for split, patches in sets.items():
        rows = index[(index["split"] == split) & index["selected"]]
        assert len(patches) == len(rows) > 20
        assert patches.tiles.shape == (len(rows), 64, 64) and patches.tiles.dtype == np.uint8
        assert patches.masks.dtype == bool and patches.masks.any(axis=(1, 2)).all(), "selected = calcified"
        tile, mask = loader(rows.iloc[-1])
        np.testing.assert_array_equal(patches.tiles[-1], tile)
        np.testing.assert_array_equal(patches.masks[-1], mask)


def test_training_writes_the_best_epoch_and_its_scores(cohort, tmp_path):
    summary = run(cohort, tmp_path, settings_mapping(epochs=3, steps_per_epoch=3))
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert list(metrics.columns) == ["epoch", "step", "train_loss", "val_loss", "val_dice", "seconds"]
    assert metrics["epoch"].tolist() == [1, 2, 3] and metrics["step"].tolist() == [3, 6, 9]
    best = int(metrics["val_dice"].idxmax())
    assert summary["best_epoch"] == metrics["epoch"][best] and summary["best_val_dice"] == metrics["val_dice"][best]
    assert summary["steps"] == 9 and summary["resumed_from_epoch"] is None
    scores = pd.read_csv(tmp_path / "patches.csv", dtype={"image_id": str})
    assert list(scores.columns) == ["image_id", "y", "x", "tp", "fp", "tn", "fn"]
    assert len(scores) == summary["validation_patches"]
    assert (scores[["tp", "fp", "tn", "fn"]].sum(axis=1) == 64 * 64).all()

    model, metadata = load_model(tmp_path / "best")
    assert (metadata.model_name, metadata.output_activation, metadata.normalization) == (MODEL, "sigmoid",
                                                                                         "patch_zero_mean")
    assert metadata.extra["epoch"] == summary["best_epoch"] and metadata.extra["seed"] == 0
    assert metadata.source.startswith("trained: ")
    settings = TrainSettings.from_mapping(metadata.extra["settings"])
    val_loss, val_dice, counts = train_module.validate(model, read_patch_sets(**cohort)["validation"], settings)
    assert val_dice == pytest.approx(summary["best_val_dice"], abs=1e-12), "the checkpoint is the best epoch's model"
    assert val_loss == pytest.approx(metrics["val_loss"][best], rel=1e-6)
    pd.testing.assert_frame_equal(counts, scores)


def test_the_same_seed_gives_the_same_weights_and_another_seed_others(cohort, tmp_path):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        run(cohort, tmp_path / name, seed=seed)
    assert_bitwise_equal(weights(tmp_path / "a" / "best"), weights(tmp_path / "b" / "best"))
    assert_bitwise_equal(last_epoch_state(tmp_path / "a"), last_epoch_state(tmp_path / "b"))
    other_seed = zip(weights(tmp_path / "a" / "best"), weights(tmp_path / "c" / "best"))
    assert not all(np.array_equal(x, y) for x, y in other_seed)


def test_recalibrating_batch_norm_changes_its_statistics_only_and_zero_batches_keeps_the_averages(cohort, tmp_path):
    """batch_norm_batches 0 (the authors' recipe) trains on the running averages; with batches, the same seed gives
    the same weights and only BatchNorm's statistics differ (validation reads them; training does not). SCU-Net's
    norms all have PyTorch's default momentum, so recalibrating the lagging ones alone (the default) keeps them."""
    runs = {"kept": (0, "all"), "all": (2, "all"), "lagging": (2, "lagging")}
    for name, (batches, which) in runs.items():
        run(cohort, tmp_path / name, settings_mapping(epochs=1, steps_per_epoch=3, batch_norm_batches=batches,
                                                      batch_norm_recalibrate=which))  # fmt: skip
    models = {name: load_model(tmp_path / name / "best")[0] for name in runs}
    params = [jax.tree.leaves(nnx.state(m, nnx.Param)) for m in models.values()]
    for other in params[1:]:
        assert_bitwise_equal(*([np.asarray(leaf) for leaf in leaves] for leaves in (params[0], other)))
    statistics = {name: jax.tree.leaves(nnx.state(m, nnx.BatchStat)) for name, m in models.items()}
    assert statistics["kept"] and not any(np.array_equal(a, b) for a, b in zip(statistics["kept"], statistics["all"]))
    assert_bitwise_equal([np.asarray(a) for a in statistics["kept"]], [np.asarray(a) for a in statistics["lagging"]])


CHILD = """
import json, os, signal, sys
from bacseg.runtime import configure_jax
configure_jax()
import bacseg.training.train as train
kill_after_steps = int(sys.argv[2])
if kill_after_steps:
    real_step, calls = train.train_step_on_tiles, []
    def step_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) > kill_after_steps:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_step(*args, **kwargs)
    train.train_step_on_tiles = step_then_die
print(json.dumps(train.train_and_evaluate(**json.loads(sys.argv[1]))))
"""


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_to_exactly_the_uninterrupted_weights(cohort, tmp_path):
    settings = settings_mapping(epochs=3, steps_per_epoch=3)
    killed = tmp_path / "killed"
    arguments = {"model_name": MODEL, "settings": settings, "seed": 0,
                 **{k: str(v) for k, v in {**cohort, **outputs(killed)}.items()}}  # fmt: skip

    def child(kill_after_steps: int) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", CHILD, json.dumps(arguments), str(kill_after_steps)]
        return subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ)

    first = child(kill_after_steps=5)  # epoch 1 saved, epoch 2 two steps in
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    assert pd.read_csv(killed / "metrics.csv")["epoch"].tolist() == [1]
    assert not (killed / "best").exists()
    second = child(kill_after_steps=0)
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["resumed_from_epoch"] == 1 and summary["steps"] == 9

    uninterrupted = tmp_path / "uninterrupted"
    run(cohort, uninterrupted, settings)
    assert_bitwise_equal(weights(killed / "best"), weights(uninterrupted / "best"))
    assert_bitwise_equal(last_epoch_state(killed), last_epoch_state(uninterrupted))
    columns = ["epoch", "step", "train_loss", "val_loss", "val_dice"]
    pd.testing.assert_frame_equal(pd.read_csv(killed / "metrics.csv")[columns],
                                  pd.read_csv(uninterrupted / "metrics.csv")[columns])  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_csv(killed / "patches.csv"), pd.read_csv(uninterrupted / "patches.csv"))


def test_a_save_cut_short_is_dropped_and_the_run_resumes_from_the_epoch_before(cohort, tmp_path, monkeypatch):
    settings = settings_mapping(epochs=2, steps_per_epoch=2)
    real_step = train_module.train_step_on_tiles

    def interrupted_in_epoch_2(*args, **kwargs):
        if args[5] >= 2:  # the global step
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_step_on_tiles", interrupted_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run(cohort, tmp_path, settings)
    monkeypatch.undo()
    half_written = tmp_path / "work" / "checkpoints" / "2.orbax-checkpoint-tmp-1764633600"
    (half_written / "model").mkdir(parents=True)
    (half_written / "model" / "manifest.ocdbt").write_bytes(b"\x00" * 10)
    summary = run(cohort, tmp_path, settings)
    assert summary["resumed_from_epoch"] == 1 and summary["steps"] == 4
    assert not half_written.exists()


def test_resuming_with_other_settings_names_them(cohort, tmp_path):
    run(cohort, tmp_path, settings_mapping(epochs=1, steps_per_epoch=2))
    with pytest.raises(ValueError, match=r"different settings\.epochs, settings\.learning_rate"):
        run(cohort, tmp_path, settings_mapping(epochs=2, steps_per_epoch=2, learning_rate=1e-4))


def test_a_damaged_checkpoint_is_reported_naming_its_directory(cohort, tmp_path):
    run(cohort, tmp_path, settings_mapping(epochs=1, steps_per_epoch=2))
    epoch_dir = tmp_path / "work" / "checkpoints" / "1"
    for path in (epoch_dir / "optimizer").rglob("*"):
        if path.is_file() and "manifest" in path.name:
            path.unlink()
    (tmp_path / "best").rename(tmp_path / "best_first")
    with pytest.raises(CheckpointError, match=f"{epoch_dir}: the checkpoint of epoch 1 is incomplete or damaged"):
        run(cohort, tmp_path, settings_mapping(epochs=1, steps_per_epoch=2))


def test_a_nan_loss_stops_naming_model_and_epoch_and_keeps_the_last_good_epoch(cohort, tmp_path, monkeypatch):
    real_step, calls = train_module.train_step_on_tiles, []

    def nan_from_epoch_2(*args, **kwargs):
        calls.append(1)
        loss = real_step(*args, **kwargs)
        return loss * np.nan if len(calls) > 3 else loss

    monkeypatch.setattr(train_module, "train_step_on_tiles", nan_from_epoch_2)
    with pytest.raises(train_module.TrainingDiverged, match=r"SCU-Net: loss is NaN/inf at epoch 2 \(at step 4\)"):
        run(cohort, tmp_path, settings_mapping(epochs=3, steps_per_epoch=3))
    assert pd.read_csv(tmp_path / "metrics.csv")["epoch"].tolist() == [1]
    assert [p.name for p in (tmp_path / "work" / "checkpoints").iterdir() if p.name.isdigit()] == ["1"]


def test_an_index_without_training_patches_is_a_clear_error(cohort, tmp_path):
    index = pd.read_csv(cohort["patch_index"])
    index.loc[index["split"] == "train", "selected"] = False
    index.to_csv(tmp_path / "index.csv", index=False)
    with pytest.raises(ValueError, match=f"{tmp_path / 'index.csv'}: no train patches"):
        run({**cohort, "patch_index": tmp_path / "index.csv"}, tmp_path)


@pytest.mark.slow
def test_scunet_learns_the_tiny_cohort(cohort, tmp_path):
    """144 steps of batch 8 (8 epochs) take the validation Dice well above its first epoch's."""
    summary = run(cohort, tmp_path, settings_mapping(epochs=8, batch_size=8, steps_per_epoch=18))
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert summary["best_val_dice"] > metrics["val_dice"][0] + 0.2, metrics
    assert metrics["val_loss"].iloc[-1] < metrics["val_loss"][0] - 0.2, metrics
