"""Name -> model constructor. The only list of network names the workflow and CLI use.

Each network module registers its Flax NNX class with ``@register("Name")``; importing
``bacseg.models`` imports every network module, so the registry is complete after that import.
"""

from __future__ import annotations

from typing import Callable

import jax
from flax import nnx

_REGISTRY: dict[str, Callable[..., nnx.Module]] = {}


def register(name: str):
    """Class decorator that files a network under ``name`` (the paper's spelling)."""

    def decorator(cls):
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = cls
        return cls

    return decorator


def model_names() -> list[str]:
    """Registered names (the paper's spelling), SCU-Net first, then alphabetical."""
    return sorted(_REGISTRY, key=lambda n: (n != "SCU-Net", n.lower()))


def create_model(name: str, *, num_classes: int = 1, in_channels: int = 3, seed: int = 0, **kwargs) -> nnx.Module:
    """Build a registered network with its parameters initialised from ``seed``.

    Built eagerly: ``models.initializers`` keeps that to a dozen small compiled programs shared by every
    network and seed (a ``jit`` over the constructor compiles one program per draw, longer than eager).
    """
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered models: {', '.join(model_names())}") from None
    return cls(num_classes=num_classes, in_channels=in_channels, rngs=nnx.Rngs(seed), **kwargs)


def count_params(model: nnx.Module) -> int:
    """Trainable parameters (nnx.Param leaves); BatchNorm running statistics are not counted."""
    return sum(x.size for x in jax.tree_util.tree_leaves(nnx.state(model, nnx.Param)))


def parameter_counts(**kwargs) -> dict[str, int]:
    """Trainable parameters of every registered network, from shapes alone (nothing is computed)."""
    return {name: count_params(nnx.eval_shape(lambda n=name: create_model(n, **kwargs))) for name in model_names()}
