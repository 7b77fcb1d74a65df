"""Behaviour specific to ContextNet, DABNet, EDANet, FPENet, CGNet, DeepLabV3 and the context-guided blocks.

The generic zoo test covers every model's parameter count, output shapes and training; this file pins what
those checks cannot see: PyTorch semantics of the shared CGNet-family blocks (SCU-Net depends on them too),
each reference's own initialisation scheme, and structural facts of DeepLabV3's backbone and head.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from bacseg.models import count_params
from bacseg.models.cg_blocks import (
    BNPReLU,
    ContextGuidedBlock,
    ContextGuidedBlockDown,
    ConvBNPReLU,
    InputInjection,
    avg_pool_3x3_stride2,
)
from bacseg.models.cgnet import CGNet
from bacseg.models.deeplabv3 import ImagePooling
from bacseg.models.edanet import EDAModule, EDANet
from bacseg.models.fpenet import FPENet
from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.mobilenetv3 import MobileNetV3LargeFeatures, make_divisible


def _x(shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


@nnx.jit
def _apply(module, x):
    """One compiled call instead of hundreds of eagerly dispatched ops."""
    return module(x)


def _kernels(model, layer_types=(nnx.Conv, DepthwiseConv)):
    return [layer.kernel[...] for _, layer in nnx.iter_modules(model) if isinstance(layer, layer_types)]


def _standardised_std(kernels, fan) -> float:
    """Pooled std of kernel / sqrt(2 / fan(kernel)): 1 for kaiming_normal_ with gain sqrt(2)."""
    z = np.concatenate([np.ravel(k) / np.sqrt(2.0 / fan(k.shape)) for k in kernels])
    return float(np.sqrt(np.mean(z**2)))


def _fan_in(shape):
    return int(np.prod(shape[:-1]))


def _fan_out(shape):
    return int(np.prod(shape[:-2]) * shape[-1])


# --- context-guided blocks (CGNet, SCU-Net's encoder, DABNet) ---------------------------------------------


def test_input_injection_divides_by_nine_counting_the_zero_padding():
    y = np.asarray(avg_pool_3x3_stride2(jnp.ones((1, 5, 5, 1))))[0, :, :, 0]
    # 5 -> 3 cells; a corner window covers 4 real cells, an edge window 6, the centre 9: divisor always 9.
    np.testing.assert_allclose(y, np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9, rtol=1e-6)
    assert InputInjection(3)(jnp.ones((2, 20, 20, 3))).shape == (2, 3, 3, 3)


def test_context_guided_residual_adds_exactly_the_input():
    x = _x((2, 8, 8, 16))
    with_residual = ContextGuidedBlock(16, 16, dilation=2, reduction=4, rngs=nnx.Rngs(3))
    without = ContextGuidedBlock(16, 16, dilation=2, reduction=4, residual=False, rngs=nnx.Rngs(3))
    with_residual.eval(), without.eval()
    np.testing.assert_allclose(_apply(with_residual, x) - _apply(without, x), x, atol=1e-5)


def test_context_guided_residual_needs_equal_widths():
    with pytest.raises(ValueError, match="in_channels == out_channels"):
        ContextGuidedBlock(16, 32, dilation=2, reduction=4, rngs=nnx.Rngs(0))


def test_context_guided_blocks_have_scunet_released_counts():
    rngs = nnx.Rngs(0)
    # ../shared/reference/scunet_architecture.md: CGDown(19->32, d2, r8) 8,676; CGDown(35->64, d4, r16) 30,660; BPD(19) 57.
    assert count_params(ContextGuidedBlockDown(19, 32, dilation=2, reduction=8, rngs=rngs)) == 8676
    assert count_params(ContextGuidedBlockDown(35, 64, dilation=4, reduction=16, rngs=rngs)) == 30660
    assert count_params(BNPReLU(19, dropout_rate=0.5, rngs=rngs)) == 57
    assert count_params(ConvBNPReLU(3, 16, 3, per_channel_prelu=False, rngs=rngs)) == 3 * 16 * 9 + 2 * 16 + 1


def test_context_guided_down_halves_resolution():
    block = ContextGuidedBlockDown(19, 32, dilation=2, reduction=8, rngs=nnx.Rngs(0))
    assert _apply(block, _x((1, 10, 10, 19))).shape == (1, 5, 5, 32)


def test_bn_prelu_dropout_zeroes_and_rescales_in_training_only():
    x = _x((4, 16, 16, 8))
    dropped = BNPReLU(8, dropout_rate=0.5, rngs=nnx.Rngs(1))
    plain = BNPReLU(8, rngs=nnx.Rngs(1))
    dropped.train(), plain.train()
    y, ref = np.asarray(_apply(dropped, x)), np.asarray(_apply(plain, x))
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2 * ref[kept], rtol=1e-5)
    dropped.eval(), plain.eval()
    np.testing.assert_array_equal(np.asarray(_apply(dropped, x)), np.asarray(_apply(plain, x)))


# --- the references' own initialisations ------------------------------------------------------------------


def test_cgnet_convs_are_kaiming_normal_fan_in_and_its_linears_keep_torch_default():
    model = CGNet(rngs=nnx.Rngs(0))
    assert _standardised_std(_kernels(model), _fan_in) == pytest.approx(1.0, abs=0.03)
    for kernel in _kernels(model, (nnx.Linear,)):
        assert np.abs(kernel).max() <= 1 / np.sqrt(kernel.shape[0])  # kaiming_uniform(a=sqrt 5) bound


def test_edanet_init_is_normal_002_kernels_and_normal_1_002_bn_scales():
    model = EDANet(rngs=nnx.Rngs(0))
    kernels = np.concatenate([np.ravel(k) for k in _kernels(model)])
    assert kernels.std() == pytest.approx(0.02, rel=0.03)
    scales = np.concatenate([np.ravel(m.scale[...]) for _, m in nnx.iter_modules(model) if isinstance(m, nnx.BatchNorm)])
    assert scales.mean() == pytest.approx(1.0, abs=0.005)
    assert scales.std() == pytest.approx(0.02, rel=0.15)


def test_fpenet_convs_are_kaiming_normal_fan_out():
    assert _standardised_std(_kernels(FPENet(rngs=nnx.Rngs(0))), _fan_out) == pytest.approx(1.0, abs=0.03)


def test_mobilenetv3_init_is_torchvision_and_output_stride_is_16():
    backbone = MobileNetV3LargeFeatures(rngs=nnx.Rngs(0))
    # torchvision re-initialises every Conv2d of MobileNetV3, squeeze-excitation's included (here Linear layers).
    kernels = _kernels(backbone, (nnx.Conv, DepthwiseConv, nnx.Linear))
    assert _standardised_std(kernels, _fan_out) == pytest.approx(1.0, abs=0.03)
    biases = [m.bias[...] for _, m in nnx.iter_modules(backbone) if isinstance(m, nnx.Linear)]
    assert biases and all(not np.any(b) for b in biases)
    graph, state = nnx.split(backbone)
    out = jax.eval_shape(lambda state, x: nnx.merge(graph, state)(x), state, jax.ShapeDtypeStruct((1, 64, 64, 3), jnp.float32))
    assert out.shape == (1, 4, 4, 960)


# --- structure ----------------------------------------------------------------------------------------------


def test_mobilenetv3_squeeze_widths_follow_make_divisible():
    assert [make_divisible(c // 4) for c in (72, 120, 480, 672, 960)] == [24, 32, 120, 168, 240]


def test_deeplab_image_pooling_branch_is_constant_over_space():
    pooling = ImagePooling(8, 4, rngs=nnx.Rngs(0))
    pooling.eval()
    y = np.asarray(_apply(pooling, _x((2, 6, 5, 8))))
    assert y.shape == (2, 6, 5, 4)
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :1], y.shape))


def test_eda_module_appends_growth_channels_and_passes_the_input_through():
    module = EDAModule(12, dilation=2, rngs=nnx.Rngs(0))
    module.eval()
    x = _x((1, 8, 8, 12))
    y = _apply(module, x)
    assert y.shape == (1, 8, 8, 12 + 40)
    np.testing.assert_array_equal(np.asarray(y[..., 40:]), np.asarray(x))
