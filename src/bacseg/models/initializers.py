"""PyTorch's initialisations, drawn so that building a network compiles a dozen small programs, not hundreds.

Run eagerly, every ``jax.random`` draw of a new shape compiles its own program (0.2-0.4 s each on 2 cores,
2-62 s per network), and one ``jit`` over a whole constructor compiles longer still (FPENet 18 s, superlinear
in the number of draws). But threefry (partitionable, jax's default) derives each element from its flat
index alone, so the first n values of a flat draw of N >= n values ARE the draw of shape (n,), and of any
shape with n elements. Draws here are made flat at the next power of 4 and cut: one compiled program per
size class and distribution, shared by every network and seed (and kept by the persistent cache), and the
values equal ``jax.nn.initializers``' bit for bit (``tests/test_model_zoo.py`` checks whole networks).
Under tracing (``nnx.eval_shape``, ``jit``) the draw is the plain one.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def _size_class(n: int) -> int:
    return 4 ** math.ceil(math.log(max(n, 1), 4) - 1e-9)


@partial(jax.jit, static_argnames="size")
def _flat_uniform(key: jax.Array, size: int, low: jax.Array, high: jax.Array) -> jax.Array:
    return jax.random.uniform(key, (size,), jnp.float32, low, high)


@partial(jax.jit, static_argnames="size")
def _flat_normal(key: jax.Array, size: int) -> jax.Array:
    return jax.random.normal(key, (size,), jnp.float32)


def _cut(flat: jax.Array, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(flat)[: math.prod(shape)].reshape(shape)


def uniform(key: jax.Array, shape: tuple[int, ...], low: float, high: float) -> np.ndarray | jax.Array:
    """``jax.random.uniform(key, shape, float32, low, high)``."""
    if isinstance(key, jax.core.Tracer):
        return jax.random.uniform(key, shape, jnp.float32, low, high)
    return _cut(_flat_uniform(key, _size_class(math.prod(shape)), np.float32(low), np.float32(high)), shape)


def normal(key: jax.Array, shape: tuple[int, ...]) -> np.ndarray | jax.Array:
    """``jax.random.normal(key, shape, float32)``."""
    if isinstance(key, jax.core.Tracer):
        return jax.random.normal(key, shape, jnp.float32)
    return _cut(_flat_normal(key, _size_class(math.prod(shape))), shape)


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a (..., in, out) kernel: PyTorch's for dense, grouped and depthwise kernels alike."""
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def variance_scaling(scale: float, mode: str, distribution: str):
    """``jax.nn.initializers.variance_scaling(scale, mode, distribution)`` for ``fan_in``/``fan_out`` and
    ``uniform``/``normal``; ``variance_scaling(2.0, mode, "normal")`` is PyTorch's ``kaiming_normal_``."""
    fan_index = {"fan_in": 0, "fan_out": 1}[mode]

    def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
        variance = np.float32(scale / _fans(tuple(shape))[fan_index])
        if distribution == "uniform":
            return jnp.asarray(uniform(key, shape, -1.0, 1.0) * np.sqrt(np.float32(3) * variance), dtype)
        if distribution == "normal":
            return jnp.asarray(normal(key, shape) * np.sqrt(variance), dtype)
        raise ValueError(f"unsupported distribution {distribution!r}")

    return init


def normal_init(stddev: float):
    """``jax.nn.initializers.normal(stddev)``."""

    def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
        return jnp.asarray(normal(key, shape) * np.float32(stddev), dtype)

    return init


# PyTorch's default initialisation of Conv/Linear: kaiming_uniform(a=sqrt(5)) on the weight,
# U(+-1/sqrt(fan_in)) on the bias.
torch_kernel_init = variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def torch_bias_init(fan_in: int):
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0

    def init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
        return jnp.asarray(uniform(key, shape, -bound, bound), dtype)

    return init
