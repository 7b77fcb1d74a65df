"""A training run's resumable state in its work directory.

``<workdir>/run.json``: what the run is (model, seed, settings, a fingerprint of its patches). A run
started again in the same work directory with anything different is an error naming the differing keys,
not a silent fresh start: delete the directory to start over.

``<workdir>/checkpoints/<epoch>/``: an orbax ``CheckpointManager`` step after every epoch, the last one
kept, with the whole model state (parameters, BatchNorm statistics, dropout RNG keys and counts), the
optimizer state and step, the best epoch's model state, and the progress so far (JSON: epoch, step,
metrics history, best epoch and its per-patch counts). orbax writes each step to a temporary directory
and renames it when complete, so a run killed mid-save resumes from the previous epoch; a step that
cannot be read back (files missing or damaged) is a ``CheckpointError`` naming its directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import orbax.checkpoint as ocp
from flax import nnx

_ITEMS = ("model", "optimizer", "best_model", "progress")


class CheckpointError(RuntimeError):
    """A work directory's checkpoint cannot be read back."""


def _flatten(record: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        flat.update(_flatten(value, f"{name}.") if isinstance(value, dict) else {name: value})
    return flat


def claim_workdir(workdir: Path, run: dict) -> None:
    """Write ``run`` to ``workdir/run.json``, or check that the run already there is the same one."""
    path = workdir / "run.json"
    if path.exists():
        try:
            stored = _flatten(json.loads(path.read_text()))
        except json.JSONDecodeError as error:
            raise CheckpointError(f"{path}: not the JSON a training run writes ({error}); delete {workdir}") from None
        wanted = _flatten(json.loads(json.dumps(run)))
        differing = sorted(k for k in stored.keys() | wanted.keys() if stored.get(k, "unset") != wanted.get(k, "unset"))
        if differing:
            raise ValueError(
                f"{workdir} holds a training run with different {', '.join(differing)}; "
                "delete the directory to start over, or use the settings it was started with"
            )
        return
    workdir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(run, indent=1) + "\n")
    partial.replace(path)  # atomic: a run killed here leaves no half-written run.json


def _is_key(leaf) -> bool:
    return isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def module_state(module: nnx.Module) -> dict:
    """All of a module's variables as a pure dict, RNG keys as their raw data so orbax can store them."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, nnx.to_pure_dict(nnx.state(module)))


def load_module_state(module: nnx.Module, saved: dict) -> None:
    """Put ``module_state``'s output back into ``module``, RNG keys rewrapped as the module holds them."""
    state = nnx.state(module)
    current = nnx.to_pure_dict(state)
    restored = jax.tree.map(
        lambda now, new: jax.random.wrap_key_data(new, impl=jax.random.key_impl(now)) if _is_key(now) else new,
        current,
        saved,
    )
    nnx.replace_by_pure_dict(state, restored)
    nnx.update(module, state)


class EpochCheckpoints:
    """The orbax checkpoints of one work directory, one per finished epoch."""

    def __init__(self, workdir: Path):
        self.directory = (workdir / "checkpoints").absolute()
        # cleanup_tmp_directories: a save cut short by a kill leaves a temporary directory; drop it
        options = ocp.CheckpointManagerOptions(max_to_keep=1, enable_async_checkpointing=False,
                                               cleanup_tmp_directories=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=_ITEMS)

    def latest_epoch(self) -> int | None:
        return self._manager.latest_step()

    def save(self, epoch: int, model: nnx.Module, optimizer: nnx.Optimizer, best_model: dict, progress: dict) -> None:
        self._manager.save(
            epoch,
            args=ocp.args.Composite(
                model=ocp.args.StandardSave(module_state(model)),
                optimizer=ocp.args.StandardSave(module_state(optimizer)),
                best_model=ocp.args.StandardSave(best_model),
                progress=ocp.args.JsonSave(progress),
            ),
        )

    def restore(self, epoch: int, model: nnx.Module, optimizer: nnx.Optimizer) -> tuple[dict, dict]:
        """Fill ``model`` and ``optimizer`` from epoch ``epoch``; return (best model state, progress)."""
        model_target, optimizer_target = module_state(model), module_state(optimizer)
        try:
            saved = self._manager.restore(
                epoch,
                args=ocp.args.Composite(
                    model=ocp.args.StandardRestore(model_target),
                    optimizer=ocp.args.StandardRestore(optimizer_target),
                    best_model=ocp.args.StandardRestore(model_target),
                    progress=ocp.args.JsonRestore(),
                ),
            )
        except Exception as error:  # orbax raises many kinds; all mean the same thing to the user
            raise CheckpointError(
                f"{self.directory / str(epoch)}: the checkpoint of epoch {epoch} is incomplete or damaged "
                f"({type(error).__name__}: {str(error)[:300]}); delete {self.directory.parent} to start over"
            ) from error
        load_module_state(model, saved.model)
        load_module_state(optimizer, saved.optimizer)
        return saved.best_model, saved.progress

    def __enter__(self) -> EpochCheckpoints:
        return self

    def __exit__(self, *exc_info) -> None:
        self._manager.close()
