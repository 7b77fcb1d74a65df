"""The depthwise conv's hand-written backward pass and the gradient barrier change no value.

Gradients are compared in float64 with XLA's own derivative of the same forward sum, and with
``lax.conv_general_dilated`` (groups = channels) as an independent reference, over strides, dilations,
paddings and odd sizes.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bacseg.models.depthwise import _correlate, _out_hw, _pad, depthwise_conv2d, gradient_barrier

# (kernel, stride, padding, dilation, input height x width)
CASES = [
    ((3, 3), (1, 1), (1, 1), (1, 1), (9, 10)),
    ((3, 3), (2, 2), (1, 1), (1, 1), (9, 10)),
    ((3, 3), (1, 1), (4, 4), (4, 4), (12, 11)),
    ((3, 1), (1, 1), (1, 0), (1, 1), (8, 7)),
    ((1, 3), (1, 1), (0, 2), (1, 2), (8, 7)),
    ((5, 5), (2, 2), (2, 2), (1, 1), (10, 11)),
    ((3, 3), (2, 2), (0, 0), (1, 1), (9, 8)),
]


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


def xla_derived(x, kernel, stride, padding, dilation):
    return _correlate(_pad(x, padding), kernel, dilation, stride, _out_hw(x, kernel, stride, padding, dilation))


def grouped_conv(x, kernel, stride, padding, dilation):
    return jax.lax.conv_general_dilated(
        x, kernel[:, :, None, :], stride, [(p, p) for p in padding], rhs_dilation=dilation,
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=x.shape[-1],
    )


@pytest.mark.parametrize("kernel_hw, stride, padding, dilation, size", CASES)
def test_gradients_equal_the_derived_and_the_grouped_conv_ones(kernel_hw, stride, padding, dilation, size):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(2, *size, 4)))
    kernel = jnp.asarray(rng.normal(size=(*kernel_hw, 4)))

    def gradients(conv):
        return jax.grad(lambda x, k: jnp.sum(jnp.sin(conv(x, k, stride, padding, dilation))), argnums=(0, 1))(x, kernel)

    ours = gradients(depthwise_conv2d)
    for reference in (gradients(xla_derived), gradients(grouped_conv)):
        for a, b in zip(ours, reference):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        np.asarray(depthwise_conv2d(x, kernel, stride, padding, dilation)),
        np.asarray(grouped_conv(x, kernel, stride, padding, dilation)), rtol=1e-12, atol=1e-12,
    )


def test_gradient_barrier_passes_every_cotangent_unchanged_nan_included():
    x = jnp.asarray([1.0, 2.0, 3.0])
    cotangent = jnp.asarray([jnp.nan, -2.0, 0.5])
    _, pullback = jax.vjp(gradient_barrier, x)
    np.testing.assert_array_equal(np.asarray(pullback(cotangent)[0]), np.asarray(cotangent))
    np.testing.assert_array_equal(np.asarray(jax.jit(pullback)(cotangent[::-1])[0]), np.asarray(cotangent[::-1]))
