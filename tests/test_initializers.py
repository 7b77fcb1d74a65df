"""Size-class draws give exactly jax's initialisations: the same parameters as an eager build with plain draws."""

import jax
import numpy as np
import pytest
from flax import nnx

from bacseg.models import create_model
from bacseg.models.initializers import normal_init, torch_bias_init, variance_scaling

SHAPES = [(7, 3), (3, 3, 1, 19), (1, 1, 35, 64), (3, 3, 64, 128), (5, 5, 3, 11)]


@pytest.mark.parametrize("shape", SHAPES)
def test_draws_equal_jax_initializers(shape):
    key = jax.random.key(3)
    jax_init = jax.nn.initializers
    pairs = [
        (variance_scaling(1 / 3, "fan_in", "uniform"), jax_init.variance_scaling(1 / 3, "fan_in", "uniform")),
        (variance_scaling(2.0, "fan_out", "normal"), jax_init.variance_scaling(2.0, "fan_out", "normal")),
        (normal_init(0.02), jax_init.normal(0.02)),
    ]
    for ours, reference in pairs:
        np.testing.assert_array_equal(np.asarray(ours(key, shape)), np.asarray(reference(key, shape)))
    bound = 1.0 / np.sqrt(shape[0])
    np.testing.assert_array_equal(
        np.asarray(torch_bias_init(shape[0])(key, shape)),
        np.asarray(jax.random.uniform(key, shape, minval=-bound, maxval=bound)),
    )


def state_arrays(model: nnx.Module) -> list[np.ndarray]:
    leaves = jax.tree.leaves(nnx.state(model, nnx.Param, nnx.BatchStat))
    return [np.asarray(leaf) for leaf in leaves]


@pytest.mark.parametrize("name", ["SCU-Net", "LinkNet"])
def test_network_parameters_equal_a_build_with_plain_draws(name):
    # Traced, the initialisers fall back to plain jax.random draws: the reference build. (Not EDANet: traced, its
    # BatchNorm scales 1 + 0.02 * normal come out one rounding off the eager values.)
    plain = nnx.jit(lambda: create_model(name, seed=5))()
    for ours, reference in zip(state_arrays(create_model(name, seed=5)), state_arrays(plain), strict=True):
        np.testing.assert_array_equal(ours, reference)
