"""The shared BatchNorm against ``torch.nn.BatchNorm2d``: train-mode outputs, running statistics, eval outputs.

The comparison in the paper is with PyTorch-trained networks, so the running statistics must evolve as
PyTorch's do (momentum 0.1, unbiased running variance); ``nnx.BatchNorm`` stores the biased variance.
"""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from bacseg.models.layers import batch_norm, conv2d

torch = pytest.importorskip("torch")

CHANNELS = 5


def to_torch(x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def from_torch(t) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


def batches(count: int, shape=(3, 4, 6, CHANNELS)) -> list[np.ndarray]:
    """Batches with different per-channel means and spreads, so the running statistics move every pass."""
    rng = np.random.default_rng(0)
    channels = shape[-1]
    return [(rng.normal(size=shape) * rng.uniform(0.5, 3.0, channels) + rng.normal(size=channels)).astype(np.float32)
            for _ in range(count)]


@pytest.mark.parametrize("eps, momentum", [(1e-5, 0.1), (1e-3, 0.01)])
def test_training_passes_match_torch_outputs_and_running_statistics(eps, momentum):
    ours = batch_norm(CHANNELS, eps=eps, momentum=momentum, rngs=nnx.Rngs(0))
    reference = torch.nn.BatchNorm2d(CHANNELS, eps=eps, momentum=momentum)
    ours.train()
    for x in batches(4):
        np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), from_torch(reference(to_torch(x))), atol=2e-5)
    np.testing.assert_allclose(np.asarray(ours.mean[...]), reference.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours.var[...]), reference.running_var.numpy(), rtol=1e-5)

    ours.eval()
    reference.eval()
    x = batches(5)[-1]
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), from_torch(reference(to_torch(x))), atol=2e-5)


def test_running_variance_is_the_unbiased_batch_variance():
    x = batches(1)[0]
    bn = batch_norm(CHANNELS, rngs=nnx.Rngs(0))
    bn.train()
    bn(jnp.asarray(x))
    unbiased = x.reshape(-1, CHANNELS).var(axis=0, ddof=1)
    np.testing.assert_allclose(np.asarray(bn.var[...]), 0.9 + 0.1 * unbiased, rtol=1e-5)


def test_train_mode_rejects_one_value_per_channel_as_torch_does():
    bn = batch_norm(CHANNELS, rngs=nnx.Rngs(0))
    bn.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(jnp.ones((1, 1, 1, CHANNELS)))


class ConvBN(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.conv = conv2d(3, CHANNELS, 3, rngs=rngs)
        self.bn = batch_norm(CHANNELS, rngs=rngs)

    def __call__(self, x):
        return self.bn(self.conv(x))


def test_sgd_steps_of_a_conv_bn_net_match_torch():
    ours = ConvBN(nnx.Rngs(0))
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, CHANNELS, 3, padding=1), torch.nn.BatchNorm2d(CHANNELS))
    with torch.no_grad():
        reference[0].weight.copy_(torch.from_numpy(np.array(ours.conv.kernel[...]).transpose(3, 2, 0, 1)))
        reference[0].bias.copy_(torch.from_numpy(np.array(ours.conv.bias[...])))
    target = np.random.default_rng(1).normal(size=(3, 4, 6, CHANNELS)).astype(np.float32)
    optimizer = nnx.Optimizer(ours, optax.sgd(0.1), wrt=nnx.Param)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)

    @nnx.jit
    def step(model, optimizer, x):
        grads = nnx.grad(lambda m: jnp.mean((m(x) - target) ** 2))(model)
        optimizer.update(model, grads)

    ours.train()
    for x in batches(3, shape=(3, 4, 6, 3)):
        step(ours, optimizer, jnp.asarray(x))
        reference_optimizer.zero_grad()
        torch.mean((reference(to_torch(x)) - to_torch(target)) ** 2).backward()
        reference_optimizer.step()

    np.testing.assert_allclose(np.asarray(ours.bn.scale[...]), reference[1].weight.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours.bn.mean[...]), reference[1].running_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours.bn.var[...]), reference[1].running_var.numpy(), rtol=1e-5)
    ours.eval()
    reference.eval()
    x = batches(4, shape=(3, 4, 6, 3))[-1]
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(x))), from_torch(reference(to_torch(x))), atol=1e-4)


class _NormThenDropout(nnx.Module):
    def __init__(self):
        self.norm = batch_norm(3, momentum=0.1, rngs=nnx.Rngs(0))
        self.dropout = nnx.Dropout(0.5, rngs=nnx.Rngs(1))

    def __call__(self, x):
        return self.dropout(self.norm(self.dropout(x)))


def test_recalibration_sets_running_statistics_to_the_batches_average_with_dropout_off():
    """Precise BatchNorm: mean and unbiased variance averaged over the batches, as update_bn's cumulative average;
    dropout off (else the statistics would be of dropped-out inputs); momentum kept; eval mode after."""
    from bacseg.training.batch_norm import recalibrate_batch_norm

    rng = np.random.default_rng(0)
    batches = [rng.normal(shift, scale, (4, 5, 5, 3)).astype(np.float32) for shift, scale in ((0, 1), (3, 2))]
    model = _NormThenDropout()
    recalibrate_batch_norm(model, batches)
    flat = [batch.reshape(-1, 3) for batch in batches]
    np.testing.assert_allclose(model.norm.mean[...], np.mean([b.mean(0) for b in flat], axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.norm.var[...], np.mean([b.var(0, ddof=1) for b in flat], axis=0), rtol=1e-5)
    assert model.norm.momentum == pytest.approx(0.9) and model.norm.use_running_average and model.dropout.deterministic


class _FastThenSlowNorm(nnx.Module):
    def __init__(self):
        self.fast = batch_norm(3, momentum=0.1, rngs=nnx.Rngs(0))
        self.slow = batch_norm(3, momentum=0.01, rngs=nnx.Rngs(0))

    def __call__(self, x):
        return self.slow(self.fast(x))


def test_recalibrating_the_lagging_norms_leaves_those_at_pytorchs_default_momentum_exactly_as_they_were():
    from bacseg.training.batch_norm import recalibrate_batch_norm

    rng = np.random.default_rng(0)
    batches = [rng.normal(3, 2, (4, 5, 5, 3)).astype(np.float32) for _ in range(2)]
    model = _FastThenSlowNorm()
    model.fast.mean[...], model.fast.var[...] = jnp.full(3, 0.25), jnp.full(3, 4.0)
    recalibrate_batch_norm(model, batches, which="lagging")
    np.testing.assert_array_equal(model.fast.mean[...], np.full(3, 0.25, np.float32))
    np.testing.assert_array_equal(model.fast.var[...], np.full(3, 4.0, np.float32))
    # The slow norm sees the fast one's output on batch statistics: zero mean, unit (biased) variance per batch.
    np.testing.assert_allclose(model.slow.mean[...], 0, atol=1e-5)
    np.testing.assert_allclose(model.slow.var[...], 100 / 99, rtol=1e-3)
    assert (model.fast.momentum, model.slow.momentum) == (pytest.approx(0.9), pytest.approx(0.99))
    with pytest.raises(ValueError, match="'some'"):
        recalibrate_batch_norm(model, batches, which="some")
