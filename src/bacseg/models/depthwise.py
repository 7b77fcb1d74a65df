"""Fast CPU training kernels: the depthwise conv with its own backward pass, and the gradient barrier.

Measured on 2 cores (256x256, batch 8, Dice + AdamW, CGNet): XLA's autodiff of the depthwise conv written
as shifted multiply-adds costs 10-19x its forward pass, 7.7-14 s per CGNet step. Two causes, two fixes:
- its backward, derived by XLA, is slow: ``depthwise_conv2d`` gives it one written as shifted
  multiply-adds too (the input gradient is the same correlation, of the stride-dilated cotangent, with the
  flipped kernel; the kernel gradient is one reduction per tap): 14.4 -> 7.7 s;
- XLA:CPU fuses each cotangent, a long element-wise expression, into every one of its consumers (2 x 9
  taps here) and recomputes it there: ``gradient_barrier`` makes it a buffer, at the depthwise and
  BatchNorm outputs: 8.6 -> 2.9 s (the same run, machine loaded).
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

import jax
import jax.numpy as jnp
from flax import nnx

from bacseg.models.initializers import torch_bias_init, torch_kernel_init

IntPair = int | tuple[int, int]
Pair = tuple[int, int]


def pair(v: IntPair) -> Pair:
    return (v, v) if isinstance(v, int) else tuple(v)


@jax.custom_vjp
def gradient_barrier(x: jax.Array) -> jax.Array:
    """The identity, whose backward pass hands its cotangent on as a materialised buffer.

    ``jax.lax.optimization_barrier`` does not do it here (XLA:CPU still fused the cotangent into its
    consumers, measured). Operands of a conditional cannot be fused into the ops after it, so the cotangent
    passes through a ``lax.cond`` on a value of its own; both branches return it unchanged (NaN included).
    """
    return x


def _barrier_fwd(x: jax.Array) -> tuple[jax.Array, None]:
    return x, None


def _barrier_bwd(_, cotangent: jax.Array) -> tuple[jax.Array]:
    unchanged = jax.lax.cond(jnp.isnan(cotangent.ravel()[0]), lambda g: g * 1.0, lambda g: g, cotangent)
    return (unchanged,)


gradient_barrier.defvjp(_barrier_fwd, _barrier_bwd)


def _taps(x: jax.Array, kernel_hw: Pair, dilation: Pair, stride: Pair, out_hw: Pair) -> Iterator[tuple]:
    """((i, j), x[:, i*dh + q*sh, j*dw + r*sw]) for every kernel tap, q < out_h, r < out_w."""
    (kh, kw), (dh, dw), (sh, sw), (oh, ow) = kernel_hw, dilation, stride, out_hw
    for i in range(kh):
        for j in range(kw):
            end = (x.shape[0], i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, x.shape[3])
            yield (i, j), jax.lax.slice(x, (0, i * dh, j * dw, 0), end, (1, sh, sw, 1))


def _correlate(x: jax.Array, kernel: jax.Array, dilation: Pair, stride: Pair, out_hw: Pair) -> jax.Array:
    """Unpadded depthwise correlation of ``x`` with a (kh, kw, channels) kernel, as shifted multiply-adds."""
    y = None
    for (i, j), tap in _taps(x, kernel.shape[:2], dilation, stride, out_hw):
        term = tap * kernel[i, j]
        y = term if y is None else y + term
    return y


def _pad(x: jax.Array, padding: Pair) -> jax.Array:
    ph, pw = padding
    return jnp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))


def _out_hw(x: jax.Array, kernel: jax.Array, stride: Pair, padding: Pair, dilation: Pair) -> Pair:
    sizes = zip(x.shape[1:3], kernel.shape[:2], stride, padding, dilation)
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in sizes)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def depthwise_conv2d(x: jax.Array, kernel: jax.Array, stride: Pair, padding: Pair, dilation: Pair) -> jax.Array:
    """``F.conv2d(x, w, groups=channels)`` for NHWC ``x`` and a (kh, kw, channels) kernel, without bias."""
    return _correlate(_pad(x, padding), kernel, dilation, stride, _out_hw(x, kernel, stride, padding, dilation))


def _depthwise_fwd(x, kernel, stride, padding, dilation):
    return depthwise_conv2d(x, kernel, stride, padding, dilation), (x, kernel)


def _depthwise_bwd(stride, padding, dilation, residuals, cotangent):
    x, kernel = residuals
    (kh, kw), (dh, dw), (sh, sw), (ph, pw) = kernel.shape[:2], dilation, stride, padding
    out_hw = cotangent.shape[1:3]
    taps = _taps(_pad(x, padding), (kh, kw), dilation, stride, out_hw)
    kernel_grad = jnp.stack([jnp.sum(tap * cotangent, axis=(0, 1, 2)) for _, tap in taps]).reshape(kernel.shape)
    # Input row p (padded) received cotangent row q through tap i where p = i*dh + q*sh: spread the
    # cotangent to stride sh, pad it by dh*(kh-1) in front, correlate with the flipped kernel, keep rows
    # ph..ph+h of the padded input's gradient (likewise for columns).
    h, w = x.shape[1:3]
    spread_h, spread_w = (out_hw[0] - 1) * sh + 1, (out_hw[1] - 1) * sw + 1
    spread = jax.lax.pad(
        cotangent,
        jnp.zeros((), cotangent.dtype),
        (
            (0, 0, 0),
            (dh * (kh - 1) - ph, h + ph - spread_h, sh - 1),
            (dw * (kw - 1) - pw, w + pw - spread_w, sw - 1),
            (0, 0, 0),
        ),
    )
    input_grad = _correlate(spread, kernel[::-1, ::-1], dilation, (1, 1), (h, w))
    return input_grad, kernel_grad


depthwise_conv2d.defvjp(_depthwise_fwd, _depthwise_bwd)


class DepthwiseConv(nnx.Module):
    """Depthwise conv (groups == channels): ``depthwise_conv2d``, its output behind a ``gradient_barrier``.

    XLA's CPU backend runs grouped convolutions an order of magnitude slower than PyTorch; a sum of
    kh*kw shifted, per-channel-scaled slices is the same maths and runs fast. The kernel is stored as
    (kh, kw, 1, channels), the layout of an ``nnx.Conv`` with ``feature_group_count=channels``, so
    weights port the same way as any other conv.
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
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride)
        self.dilation = pair(dilation)
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        self.padding = pair(padding) if padding is not None else ((kh - 1) // 2 * dh, (kw - 1) // 2 * dw)
        self.kernel = nnx.Param(torch_kernel_init(rngs.params(), (kh, kw, 1, channels)))
        self.bias = nnx.Param(torch_bias_init(kh * kw)(rngs.params(), (channels,))) if bias else None

    def __call__(self, x: jax.Array) -> jax.Array:
        y = depthwise_conv2d(x, self.kernel[...][:, :, 0], self.stride, self.padding, self.dilation)
        if self.bias is not None:
            y = y + self.bias[...]
        return gradient_barrier(y)
