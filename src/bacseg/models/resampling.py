"""Fast CPU resampling with PyTorch's semantics: bilinear resize, max pooling, transposed conv.

Each is the ``torch.nn`` operator's maths written as shifted slices and small matmuls rather than the
gathers, ``select_and_scatter`` and zero-dilated convolutions whose backward passes XLA's CPU backend
runs several times slower (figures in each docstring). NHWC throughout.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from bacseg.models.initializers import torch_bias_init, torch_kernel_init


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
