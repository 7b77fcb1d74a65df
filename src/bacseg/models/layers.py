"""Layers shared by the networks, with PyTorch's semantics (the reference implementations are PyTorch).

Conventions: tensors are NHWC; padding, dilation and initialisation follow ``torch.nn`` so that a
network here has exactly the parameters of its reference, and weights can be ported one to one.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

IntPair = int | tuple[int, int]


def _pair(v: IntPair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


# PyTorch's default initialisation of Conv/Linear: kaiming_uniform(a=sqrt(5)) on the weight,
# U(+-1/sqrt(fan_in)) on the bias.
torch_kernel_init = nnx.initializers.variance_scaling(1.0 / 3.0, "fan_in", "uniform")


def torch_bias_init(fan_in: int):
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


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
    kh, kw = _pair(kernel_size)
    dh, dw = _pair(dilation)
    ph, pw = _pair(padding) if padding is not None else ((kh - 1) // 2 * dh, (kw - 1) // 2 * dw)
    fan_in = in_channels // groups * kh * kw
    return nnx.Conv(
        in_channels,
        out_channels,
        (kh, kw),
        strides=_pair(stride),
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
    BatchNorm folding and checkpoints treat both alike.
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
        return (x - mean) * gain + self.bias[...]


def batch_norm(num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, rngs: nnx.Rngs) -> BatchNorm2d:
    """``torch.nn.BatchNorm2d(num_features, eps, momentum)`` with PyTorch's training rule (``BatchNorm2d``)."""
    return BatchNorm2d(num_features, eps=eps, momentum=momentum, rngs=rngs)


class PReLU(nnx.Module):
    """``torch.nn.PReLU``: one slope per channel, or a single shared slope when ``num_parameters=1``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        self.weight = nnx.Param(jnp.full((num_parameters,), init, jnp.float32))

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.where(x >= 0, x, self.weight[...] * x)


class DepthwiseConv(nnx.Module):
    """Depthwise conv (groups == channels) written as shifted multiply-adds.

    XLA's CPU backend runs grouped convolutions an order of magnitude slower than PyTorch; a sum of
    kh*kw shifted, per-channel-scaled slices is the same maths and runs fast (forward and backward).
    The kernel is stored as (kh, kw, 1, channels), the layout of an ``nnx.Conv`` with
    ``feature_group_count=channels``, so weights port the same way as any other conv.
    """

    def __init__(
        self,
        channels: int,
        kernel_size: IntPair,
        *,
        stride: IntPair = 1,
        padding: IntPair | None = None,
        dilation: IntPair = 1,
        bias: bool = False,
        rngs: nnx.Rngs,
    ):
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.dilation = _pair(dilation)
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        self.padding = _pair(padding) if padding is not None else ((kh - 1) // 2 * dh, (kw - 1) // 2 * dw)
        self.kernel = nnx.Param(torch_kernel_init(rngs.params(), (kh, kw, 1, channels)))
        self.bias = nnx.Param(torch_bias_init(kh * kw)(rngs.params(), (channels,))) if bias else None

    def __call__(self, x: jax.Array) -> jax.Array:
        (kh, kw), (sh, sw), (dh, dw), (ph, pw) = self.kernel_size, self.stride, self.dilation, self.padding
        _, h, w, _ = x.shape
        out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        xp = jnp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        kernel = self.kernel[...]
        y = None
        for i in range(kh):
            for j in range(kw):
                tap = jax.lax.slice(
                    xp,
                    (0, i * dh, j * dw, 0),
                    (xp.shape[0], i * dh + (out_h - 1) * sh + 1, j * dw + (out_w - 1) * sw + 1, xp.shape[3]),
                    (1, sh, sw, 1),
                )
                term = tap * kernel[i, j, 0]
                y = term if y is None else y + term
        if self.bias is not None:
            y = y + self.bias[...]
        return y


def _interpolation_matrix(n_in: int, n_out: int, align_corners: bool) -> np.ndarray:
    """(n_out, n_in) matrix of PyTorch's 1-D linear interpolation weights."""
    out = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = out * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros_like(out)
    else:
        src = np.maximum((out + 0.5) * (n_in / n_out) - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(int), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), hi), frac)
    return m


def _upsampling_taps(n_in: int, factor: int, align_corners: bool) -> dict[int, np.ndarray]:
    """Integer upsampling as taps: ``out[factor*k + p] = sum_t taps[t][k, p] * x[k + t]``, t in {-1, 0, 1}.

    In both corner conventions output ``factor*k + p`` samples the input at a point within
    (k - 1, k + 1), so three taps hold the whole interpolation matrix.
    """
    m = _interpolation_matrix(n_in, n_in * factor, align_corners).reshape(n_in, factor, n_in)  # [k, p, source]
    k = np.arange(n_in)
    taps = {}
    for t in (-1, 0, 1):
        inside = (k + t >= 0) & (k + t < n_in)
        weights = np.zeros((n_in, factor))
        weights[inside] = m[k[inside], :, k[inside] + t]
        if weights.any():
            taps[t] = weights
    return taps


def _resize_axis(x: jax.Array, axis: int, n_out: int, align_corners: bool) -> jax.Array:
    n_in = x.shape[axis]
    if n_out == n_in:
        return x
    if n_out % n_in:
        matrix = jnp.asarray(_interpolation_matrix(n_in, n_out, align_corners), x.dtype)
        return jnp.moveaxis(jnp.tensordot(matrix, x, axes=(1, axis)), 0, axis)
    padding = [(0, 0)] * x.ndim
    padding[axis] = (1, 1)
    padded = jnp.pad(x, padding)
    taps = _upsampling_taps(n_in, n_out // n_in, align_corners)
    trailing = (1,) * (x.ndim - axis - 1)
    out = 0.0
    for t, weights in taps.items():
        shifted = jax.lax.slice_in_dim(padded, 1 + t, 1 + t + n_in, axis=axis)
        out = out + jnp.expand_dims(shifted, axis + 1) * jnp.asarray(weights.reshape(weights.shape + trailing), x.dtype)
    return out.reshape(x.shape[:axis] + (n_out,) + x.shape[axis + 1 :])


def resize_bilinear(x: jax.Array, size: Sequence[int], *, align_corners: bool) -> jax.Array:
    """``F.interpolate(mode="bilinear")`` for NHWC, either corner convention, one axis after the other.

    ``jax.image.resize`` only has half-pixel centres (align_corners=False). Upsampling by an integer
    factor is written as at most three shifted slices times per-position weights, interleaved by a
    reshape: no gather (whose backward pass is a scatter-add) and no mostly-zero matmul; on SCU-Net
    this measured faster than the matmul form in inference and training. Other sizes apply PyTorch's
    interpolation matrix as a matmul. Both are exact.
    """
    out_h, out_w = size
    return _resize_axis(_resize_axis(x, 1, out_h, align_corners), 2, out_w, align_corners)


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
    ``nnx.initializers.variance_scaling`` computes the same fan_in / fan_out as PyTorch for dense,
    grouped and depthwise kernels alike; ``variance_scaling(2.0, mode, "normal")`` is ``kaiming_normal_``.
    """
    for _, layer in nnx.iter_modules(module):
        if isinstance(layer, layer_types):
            layer.kernel.set_value(kernel_init(rngs.params(), layer.kernel.shape))
            if zero_bias and layer.bias is not None:
                layer.bias.set_value(jnp.zeros_like(layer.bias[...]))


def max_pool2d(x: jax.Array, kernel_size: int, *, stride: int | None = None, padding: int = 0) -> jax.Array:
    """``F.max_pool2d`` (floor mode, implicit -inf padding) as the running maximum of strided slices.

    Same values as ``lax.reduce_window``, but its backward pass is element-wise selects instead of
    ``select_and_scatter``, which measured 3-4x slower on this CPU.
    """
    stride = kernel_size if stride is None else stride
    b, h, w, c = x.shape
    out_h = (h + 2 * padding - kernel_size) // stride + 1
    out_w = (w + 2 * padding - kernel_size) // stride + 1
    if padding:
        x = jnp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)), constant_values=-jnp.inf)
    y = None
    for i in range(kernel_size):
        for j in range(kernel_size):
            end = (b, i + (out_h - 1) * stride + 1, j + (out_w - 1) * stride + 1, c)
            tap = jax.lax.slice(x, (0, i, j, 0), end, (1, stride, stride, 1))
            y = tap if y is None else jnp.maximum(y, tap)
    return y


def channel_dropout(rate: float, *, rngs: nnx.Rngs) -> nnx.Dropout:
    """``torch.nn.Dropout2d`` for NHWC: zeroes whole channels of each sample (one draw per sample and channel)."""
    return nnx.Dropout(rate, broadcast_dims=(1, 2), rngs=rngs)


def _shift(x: jax.Array, dh: int, dw: int, out_h: int, out_w: int) -> jax.Array:
    """``x[:, q + dh, r + dw]`` for q < out_h, r < out_w, with zeros where that index falls outside ``x``."""
    _, h, w, _ = x.shape
    pad_h = (max(0, -dh), max(0, out_h + dh - h))
    pad_w = (max(0, -dw), max(0, out_w + dw - w))
    x = jnp.pad(x, ((0, 0), pad_h, pad_w, (0, 0)))
    top, left = dh + pad_h[0], dw + pad_w[0]
    return x[:, top : top + out_h, left : left + out_w]


class ConvTranspose2d(nnx.Module):
    """``torch.nn.ConvTranspose2d`` (groups=1), computed phase by phase ("sub-pixel" form).

    Output pixel ``o = i * stride - padding + tap``; grouping the taps by ``o mod stride`` turns the
    transposed conv into ``stride**2`` small stride-1 convs on the undilated input, written as one
    matmul per tap on a shifted view, then interleaved. Same maths as a conv over the zero-dilated
    input, which XLA's CPU backend runs 2-5x slower in the backward pass (measured). The kernel is
    stored as (kh, kw, in, out) in PyTorch's orientation (torch weight (in, out, kh, kw) transposed
    by (2, 3, 0, 1), no flip), and initialised as PyTorch does, with fan_in = out * kh * kw.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        output_padding: int = 0,
        bias: bool = True,
        rngs: nnx.Rngs,
    ):
        if output_padding >= stride:
            raise ValueError(f"output_padding ({output_padding}) must be smaller than stride ({stride})")
        if kernel_size < stride:
            raise ValueError(f"kernel_size ({kernel_size}) < stride ({stride}) leaves output pixels without taps")
        self.kernel_size, self.stride, self.padding, self.output_padding = kernel_size, stride, padding, output_padding
        fan_in = out_channels * kernel_size * kernel_size
        # Drawn as (k, k, out, in) so that the initialiser's fan_in is out * k * k, then laid out (k, k, in, out).
        kernel = torch_kernel_init(rngs.params(), (kernel_size, kernel_size, out_channels, in_channels))
        self.kernel = nnx.Param(kernel.swapaxes(2, 3))
        self.bias = nnx.Param(torch_bias_init(fan_in)(rngs.params(), (out_channels,))) if bias else None

    def _phase_taps(self, phase: int) -> list[tuple[int, int]]:
        """(tap, input offset) pairs feeding output rows ``q * stride + phase`` from input rows ``q + offset``."""
        return [
            (tap, (phase + self.padding - tap) // self.stride)
            for tap in range(self.kernel_size)
            if (phase + self.padding - tap) % self.stride == 0
        ]

    def __call__(self, x: jax.Array) -> jax.Array:
        k, s = self.kernel_size, self.stride
        b, h, w, _ = x.shape
        out_h = (h - 1) * s - 2 * self.padding + k + self.output_padding
        out_w = (w - 1) * s - 2 * self.padding + k + self.output_padding
        rows_per_phase, cols_per_phase = -(-out_h // s), -(-out_w // s)
        kernel = self.kernel[...]
        phase_rows = []
        for phase_h in range(s):
            phase_row = []
            for phase_w in range(s):
                y = None
                for tap_h, dh in self._phase_taps(phase_h):
                    for tap_w, dw in self._phase_taps(phase_w):
                        shifted = _shift(x, dh, dw, rows_per_phase, cols_per_phase)
                        term = jnp.einsum("bhwi,io->bhwo", shifted, kernel[tap_h, tap_w])
                        y = term if y is None else y + term
                phase_row.append(y)
            phase_rows.append(jnp.stack(phase_row, axis=3))
        y = jnp.stack(phase_rows, axis=2).reshape(b, rows_per_phase * s, cols_per_phase * s, -1)[:, :out_h, :out_w]
        if self.bias is not None:
            y = y + self.bias[...]
        return y


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
