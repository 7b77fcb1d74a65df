"""Behaviour of SegNet, U-Net, LinkNet, ERFNet, ESNet and FastSCNN that the generic model-zoo tests do not see.

The PyTorch operators these networks are built from (max pooling with indices and max-unpooling, transposed
convs, Dropout2d, adaptive average pooling) are compared with torch itself; the reference networks as a whole
were compared by porting their weights (see the models' docstrings and the commit log).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from bacseg.models import create_model
from bacseg.models.esnet import ParallelFactorizedUnit
from bacseg.models.fastscnn import adaptive_avg_pool
from bacseg.models.layers import channel_dropout
from bacseg.models.resampling import ConvTranspose2d, max_pool2d
from bacseg.models.segnet import max_pool_with_switches, max_unpool

torch = pytest.importorskip("torch")
F = torch.nn.functional


def to_torch(x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def from_torch(t) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


def test_max_unpool_puts_each_value_where_its_window_maximum_was():
    x = jnp.asarray([[1.0, 5.0, 0.0, 0.0], [2.0, 3.0, 0.0, 7.0]]).reshape(1, 2, 4, 1)
    pooled, switches = max_pool_with_switches(x)
    np.testing.assert_array_equal(np.asarray(pooled).ravel(), [5.0, 7.0])
    unpooled = max_unpool(jnp.asarray([10.0, 20.0]).reshape(1, 1, 2, 1), switches)
    np.testing.assert_array_equal(np.asarray(unpooled)[0, :, :, 0], [[0, 10, 0, 0], [0, 0, 0, 20]])


def test_max_pool_and_unpool_match_torch_with_ties_and_odd_sizes():
    # Small integers after a ReLU: many windows hold tied maxima (often all zeros); torch keeps the first
    # in row-major order, and the odd last row/column is dropped by pooling and left zero by unpooling.
    # The gradient of the pooled map goes to that same first maximum only.
    x = np.maximum(np.random.default_rng(0).integers(-2, 3, size=(2, 7, 9, 3)), 0).astype(np.float32)
    decoded = np.random.default_rng(1).standard_normal((2, 3, 4, 3)).astype(np.float32)
    x_torch = to_torch(x).requires_grad_()
    ref_pooled, indices = F.max_pool2d(x_torch, 2, 2, return_indices=True)
    ref_unpooled = F.max_unpool2d(to_torch(decoded), indices, 2, 2, output_size=(7, 9))
    (ref_pooled * to_torch(decoded)).sum().backward()

    pooled, switches = max_pool_with_switches(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(pooled), from_torch(ref_pooled))
    np.testing.assert_array_equal(np.asarray(max_unpool(jnp.asarray(decoded), switches)), from_torch(ref_unpooled))
    grad = jax.grad(lambda v: jnp.sum(max_pool_with_switches(v)[0] * decoded))(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(grad), from_torch(x_torch.grad))


def test_max_unpool_gradient_reaches_only_the_switched_positions():
    x = jnp.asarray(np.random.default_rng(2).standard_normal((1, 4, 4, 2)), jnp.float32)
    _, switches = max_pool_with_switches(x)
    weights = jnp.arange(32.0).reshape(1, 4, 4, 2)
    grad = jax.grad(lambda y: jnp.sum(max_unpool(y, switches) * weights))(jnp.ones((1, 2, 2, 2)))
    # Each pooled value's gradient is the weight at its window's argmax.
    expected = jnp.sum((switches * weights).reshape(1, 2, 2, 2, 2, 2), axis=(2, 4))
    np.testing.assert_array_equal(np.asarray(grad), np.asarray(expected))


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"),
    [(2, 2, 0), (3, 2, 1), (3, 3, 1)],  # SegNet's, LinkNet's stem pool, and an overlapping odd case
)
def test_max_pool2d_matches_torch(kernel, stride, padding):
    x = np.random.default_rng(3).standard_normal((2, 9, 8, 3)).astype(np.float32)
    expected = from_torch(F.max_pool2d(to_torch(x), kernel, stride, padding))
    pooled = max_pool2d(jnp.asarray(x), kernel, stride=stride, padding=padding)
    np.testing.assert_array_equal(np.asarray(pooled), expected)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "output_padding"),
    [(3, 2, 1, 1), (2, 2, 0, 0), (3, 1, 1, 0)],  # up-samplers of ERFNet/ESNet/LinkNet, output convs, LinkNet decoder1
)
def test_conv_transpose_matches_torch(kernel, stride, padding, output_padding):
    layer = ConvTranspose2d(
        5, 4, kernel, stride=stride, padding=padding, output_padding=output_padding, rngs=nnx.Rngs(0)
    )
    reference = torch.nn.ConvTranspose2d(5, 4, kernel, stride, padding, output_padding)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(np.asarray(layer.kernel[...]).transpose(2, 3, 0, 1).copy()))
        reference.bias.copy_(torch.from_numpy(np.asarray(layer.bias[...]).copy()))
    x = np.random.default_rng(4).standard_normal((2, 5, 6, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(layer(jnp.asarray(x))), from_torch(reference(to_torch(x))), atol=1e-5)


def test_conv_transpose_initialisation_uses_pytorchs_fan_in_of_the_output_channels():
    # PyTorch draws a transposed conv's weight (in, out, k, k) with fan_in = out * k * k.
    layer = ConvTranspose2d(64, 16, 3, stride=2, rngs=nnx.Rngs(0))
    bound = 1.0 / np.sqrt(16 * 9)
    kernel = np.abs(np.asarray(layer.kernel[...]))
    assert 0.95 * bound < kernel.max() <= bound
    assert np.abs(np.asarray(layer.bias[...])).max() <= bound


def test_channel_dropout_drops_whole_channels_in_training_only():
    dropout = channel_dropout(0.5, rngs=nnx.Rngs(0))
    x = jnp.ones((4, 5, 5, 16))
    y = np.asarray(dropout(x))
    per_channel = y.reshape(4, 25, 16)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))  # constant over each channel's pixels
    assert set(np.unique(y)) == {0.0, 2.0}
    dropout.eval()
    np.testing.assert_array_equal(np.asarray(dropout(x)), np.asarray(x))


@pytest.mark.parametrize(("size", "bins"), [(16, 6), (16, 3), (4, 6), (5, 2), (7, 1)])
def test_adaptive_avg_pool_matches_torch(size, bins):
    # 4 -> 6 is FastSCNN's pyramid pooling on 128x128 patches: bins overlap and repeat inputs.
    x = np.random.default_rng(5).standard_normal((1, size, size + 1, 3)).astype(np.float32)
    expected = from_torch(F.adaptive_avg_pool2d(to_torch(x), bins))
    np.testing.assert_allclose(np.asarray(adaptive_avg_pool(jnp.asarray(x), bins)), expected, atol=1e-6)


def test_esnet_pfcu_branches_share_one_batchnorm():
    unit = ParallelFactorizedUnit(8, rngs=nnx.Rngs(0))
    batch_norms = [m for _, m in nnx.iter_modules(unit) if isinstance(m, nnx.BatchNorm)]
    assert len(batch_norms) == 2  # the trunk's and the one the three dilated branches share
    # Zeroing the shared BatchNorm's affine parameters silences all three branches: output = ReLU(input).
    unit.branch_bn.scale[...] = jnp.zeros(8)
    unit.branch_bn.bias[...] = jnp.zeros(8)
    unit.eval()
    x = jnp.asarray(np.random.default_rng(6).standard_normal((1, 12, 12, 8)), jnp.float32)
    np.testing.assert_array_equal(np.asarray(unit(x)), np.asarray(jax.nn.relu(x)))


@pytest.mark.parametrize(("name", "side"), [("ERFNet", 100), ("ESNet", 100), ("LinkNet", 102)])
def test_networks_whose_output_size_would_drift_reject_unsupported_sides(name, side):
    with pytest.raises(ValueError, match=f"{name} needs input sides that are multiples of"):
        create_model(name)(jnp.zeros((1, side, side, 3)))
