"""Layers shared by the networks, with PyTorch's semantics (the reference implementations are PyTorch).

Conventions: tensors are NHWC; padding, dilation and initialisation follow ``torch.nn`` so that a
network here has exactly the parameters of its reference, and weights can be ported one to one.
The fast CPU kernels they stand on live beside them: ``depthwise`` (the depthwise conv and the
gradient barrier) and ``resampling`` (resize, pooling, transposed conv).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.depthwise import DepthwiseConv, IntPair, gradient_barrier, pair
from bacseg.models.initializers import torch_bias_init, torch_kernel_init
from bacseg.models.resampling import max_pool2d


def conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: IntPair,
    *,
    stride: IntPair = 1,
    padding: IntPair | None = None,
    dilation: IntPair = 1,
    groups: int = 1,
    bias: bool = True,
    rngs: nnx.Rngs,
) -> nnx.Conv:
    """``torch.nn.Conv2d`` as an ``nnx.Conv`` (explicit symmetric padding; default = "same" for odd kernels)."""
    kh, kw = pair(kernel_size)
    dh, dw = pair(dilation)
    ph, pw = pair(padding) if padding is not None else ((kh - 1) // 2 * dh, (kw - 1) // 2 * dw)
    fan_in = in_channels // groups * kh * kw
    return nnx.Conv(
        in_channels,
        out_channels,
        (kh, kw),
        strides=pair(stride),
        padding=((ph, ph), (pw, pw)),
        kernel_dilation=(dh, dw),
        feature_group_count=groups,
        use_bias=bias,
        kernel_init=torch_kernel_init,
        bias_init=torch_bias_init(fan_in),
        rngs=rngs,
    )


def linear(in_features: int, out_features: int, *, bias: bool = True, rngs: nnx.Rngs) -> nnx.Linear:
    """``torch.nn.Linear`` as an ``nnx.Linear``."""
    return nnx.Linear(
        in_features,
        out_features,
        use_bias=bias,
        kernel_init=torch_kernel_init,
        bias_init=torch_bias_init(in_features),
        rngs=rngs,
    )


class BatchNorm2d(nnx.BatchNorm):
    """``torch.nn.BatchNorm2d`` as PyTorch trains it, over the channel (last) axis of NHWC inputs.

    Train mode normalises with the batch mean and the biased batch variance, and updates the running
    statistics as ``new = (1 - momentum) old + momentum batch`` (PyTorch's momentum convention, default 0.1)
    with the UNBIASED batch variance (times n / (n - 1), n the values per channel); ``nnx.BatchNorm`` would
    store the biased one. Eval mode uses the running statistics.
    A subclass of ``nnx.BatchNorm`` with its variables (scale, bias, mean, var, epsilon), so weight import,
    BatchNorm folding and checkpoints treat both alike. The output's cotangent is made a buffer
    (``depthwise.gradient_barrier``; up to 3x faster training steps here, nothing changes in the values).
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, rngs: nnx.Rngs):
        super().__init__(num_features, momentum=1.0 - momentum, epsilon=eps, rngs=rngs)  # Flax's decay convention

    def __call__(self, x: jax.Array, use_running_average: bool | None = None) -> jax.Array:
        use_running_average = self.use_running_average if use_running_average is None else use_running_average
        if use_running_average:
            mean, var = self.mean[...], self.var[...]
        else:
            n = x.size // x.shape[-1]
            if n < 2:
                raise ValueError(f"BatchNorm in train mode needs more than 1 value per channel, got input {x.shape}")
            axes = tuple(range(x.ndim - 1))
            mean = jnp.mean(x, axes)
            var = jnp.mean(jnp.square(x - mean), axes)
            decay = self.momentum
            self.mean[...] = jax.lax.stop_gradient(decay * self.mean[...] + (1 - decay) * mean)
            self.var[...] = jax.lax.stop_gradient(decay * self.var[...] + (1 - decay) * var * (n / (n - 1)))
        gain = self.scale[...] * jax.lax.rsqrt(var + self.epsilon)
        return gradient_barrier((x - mean) * gain + self.bias[...])


def batch_norm(num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, rngs: nnx.Rngs) -> BatchNorm2d:
    """``torch.nn.BatchNorm2d(num_features, eps, momentum)`` with PyTorch's training rule (``BatchNorm2d``)."""
    return BatchNorm2d(num_features, eps=eps, momentum=momentum, rngs=rngs)


class PReLU(nnx.Module):
    """``torch.nn.PReLU``: one slope per channel, or a single shared slope when ``num_parameters=1``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        self.weight = nnx.Param(jnp.full((num_parameters,), init, jnp.float32))

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.where(x >= 0, x, self.weight[...] * x)


class SqueezeExcite(nnx.Module):
    """Channel attention: global average pool -> Linear -> ReLU -> Linear -> gate, which rescales each channel.

    CGNet's ``FGlo`` (sigmoid gate, ``nn.Linear``) and MobileNetV3's squeeze-excitation (hard-sigmoid gate,
    1x1 ``nn.Conv2d``) are both this block: a 1x1 conv on the pooled 1x1 map is the same linear map with the
    same parameters, so one module serves both and their weights port with a reshape.
    """

    def __init__(self, channels: int, squeezed_channels: int, *, gate=jax.nn.sigmoid, rngs: nnx.Rngs):
        self.reduce = linear(channels, squeezed_channels, rngs=rngs)
        self.expand = linear(squeezed_channels, channels, rngs=rngs)
        self.gate = gate

    def __call__(self, x: jax.Array) -> jax.Array:
        scale = self.gate(self.expand(jax.nn.relu(self.reduce(jnp.mean(x, axis=(1, 2))))))
        return x * scale[:, None, None, :]


def reinit_kernels(
    module: nnx.Module,
    kernel_init,
    *,
    rngs: nnx.Rngs,
    zero_bias: bool = False,
    layer_types: tuple[type, ...] = (nnx.Conv, DepthwiseConv),
) -> None:
    """Redraw the kernels of every layer of ``layer_types`` inside ``module``, in place.

    Several reference networks re-initialise their convs after construction (``for m in self.modules():
    nn.init.kaiming_normal_(m.weight)``). Flax kernels are laid out (..., in, out), so
    ``initializers.variance_scaling`` computes the same fan_in / fan_out as PyTorch for dense,
    grouped and depthwise kernels alike; ``variance_scaling(2.0, mode, "normal")`` is ``kaiming_normal_``.
    """
    for _, layer in nnx.iter_modules(module):
        if isinstance(layer, layer_types):
            layer.kernel.set_value(kernel_init(rngs.params(), layer.kernel.shape))
            if zero_bias and layer.bias is not None:
                layer.bias.set_value(jnp.zeros_like(layer.bias[...]))


def channel_dropout(rate: float, *, rngs: nnx.Rngs) -> nnx.Dropout:
    """``torch.nn.Dropout2d`` for NHWC: zeroes whole channels of each sample (one draw per sample and channel)."""
    return nnx.Dropout(rate, broadcast_dims=(1, 2), rngs=rngs)


class ConvBNReLU(nnx.Module):
    """``nn.Conv2d`` -> ``nn.BatchNorm2d`` -> ReLU, the unit most baselines are built from.

    Takes ``conv2d``'s arguments; note PyTorch's default ``bias=True`` even before a BatchNorm (SegNet,
    U-Net), which the parameter counts include.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntPair,
        *,
        stride: IntPair = 1,
        padding: IntPair | None = None,
        bias: bool = True,
        bn_eps: float = 1e-5,
        rngs: nnx.Rngs,
    ):
        self.conv = conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias, rngs=rngs)
        self.bn = batch_norm(out_channels, eps=bn_eps, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.relu(self.bn(self.conv(x)))


class ConvPoolDownsample(nnx.Module):
    """ENet-style downsampling: a 3x3 stride-2 conv concatenated [conv, pool] with a 2x2 max pool of the input.

    The conv makes ``out - in`` channels so the concatenation has ``out``; when ``out <= in`` there is no pool
    and the conv makes all ``out`` channels (DABNet's and EDANet's rule). Normalisation and activation, which
    differ between networks, are the caller's.
    """

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool, rngs: nnx.Rngs):
        self.with_pool = in_channels < out_channels
        conv_channels = out_channels - in_channels if self.with_pool else out_channels
        self.conv = conv2d(in_channels, conv_channels, 3, stride=2, bias=bias, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.conv(x)
        return jnp.concatenate([y, max_pool2d(x, 2)], axis=-1) if self.with_pool else y


def require_side_multiple(x: jax.Array, multiple: int, network: str) -> None:
    """Raise a clear error unless the input's height and width are multiples of ``multiple``.

    For networks whose output would otherwise come out a different size from the input (or fail deep
    inside with a shape error). Shapes are static, so this costs nothing under ``jit``.
    """
    h, w = x.shape[1:3]
    if h % multiple or w % multiple:
        raise ValueError(f"{network} needs input sides that are multiples of {multiple}, got {h}x{w}")
