"""SCU-Net's structure and behaviour: parameter count, shapes, train vs eval, the details that change numbers."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from flax import nnx

from bacseg.models import count_params, create_model
from bacseg.models.fused import Identity, inference_form
from bacseg.models.resampling import resize_bilinear
from bacseg.models.scunet import upsample2x


@pytest.fixture(scope="module")
def trained_like_model():
    """SCU-Net with BatchNorm statistics moved away from their initial values by train-mode passes."""
    model = create_model("SCU-Net", seed=3)
    images = jax.random.normal(jax.random.key(1), (2, 64, 64, 3)) * 2.0 + 0.5
    for _ in range(3):
        model(images)
    model.eval()
    return model


def batch_stats(model):
    return jax.tree_util.tree_leaves(nnx.state(model, nnx.BatchStat))


def test_parameter_count_is_the_papers(reference_dir):
    reference = {m["name"]: m for m in json.loads((reference_dir / "reference_models.json").read_text())["models"]}
    scunet = reference["SCUNet"]
    assert count_params(create_model("SCU-Net")) == scunet["param_count_classes1_used_in_forward_unique"] == 169_711
    assert count_params(create_model("SCU-Net", num_classes=2)) == scunet["param_count_classes2_torchsummary_style"]


@pytest.mark.parametrize("side", [128, 512])
def test_maps_an_rgb_patch_to_one_raw_channel(side):
    model = create_model("SCU-Net")
    model.eval()
    assert model(jnp.ones((1, side, side, 3))).shape == (1, side, side, 1)


def test_any_sides_that_are_multiples_of_8_in_train_mode():
    model = create_model("SCU-Net", num_classes=2, in_channels=1)
    assert model(jnp.ones((2, 40, 24, 1))).shape == (2, 40, 24, 2)
    with pytest.raises(ValueError, match="multiples of 8"):
        model(jnp.ones((1, 36, 40, 1)))


def test_dropout_and_batch_statistics_act_only_in_train_mode():
    model = create_model("SCU-Net", seed=0)
    images = jax.random.normal(jax.random.key(0), (2, 32, 32, 3))

    model.eval()
    before = batch_stats(model)
    np.testing.assert_array_equal(model(images), model(images))
    for old, new in zip(before, batch_stats(model)):
        np.testing.assert_array_equal(old, new)

    model.train()
    assert not np.allclose(model(images), model(images)), "dropout should make two train-mode passes differ"
    updated = [not np.allclose(old, new) for old, new in zip(before, batch_stats(model))]
    assert any(updated), "train mode must update BatchNorm statistics"

    model.set_attributes(deterministic=True)  # train-mode BatchNorm, dropout off: the randomness was dropout's
    np.testing.assert_allclose(model(images), model(images), atol=1e-6)


def test_input_injection_divides_by_9_at_the_borders():
    pooled = create_model("SCU-Net").inject_half(jnp.ones((1, 8, 8, 1)))[0, :, :, 0]
    assert pooled.shape == (4, 4)
    assert pooled[0, 0] == pytest.approx(4 / 9)  # top-left window: 4 real cells, 5 padded zeros
    assert pooled[0, 2] == pytest.approx(6 / 9)  # top edge
    assert pooled[2, 2] == pytest.approx(1.0)  # interior


def test_upsampling_aligns_corners():
    x = jax.random.uniform(jax.random.key(0), (1, 5, 7, 2))
    y = upsample2x(x)
    assert y.shape == (1, 10, 14, 2)
    np.testing.assert_array_equal(y[:, [0, -1]][:, :, [0, -1]], x[:, [0, -1]][:, :, [0, -1]])
    nchw = torch.from_numpy(np.array(x)).permute(0, 3, 1, 2)
    reference = F.interpolate(nchw, scale_factor=2, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(y, reference.permute(0, 2, 3, 1).numpy(), atol=1e-6)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize(("size", "out"), [((4, 6), (8, 24)), ((1, 3), (16, 3)), ((6, 6), (9, 4))])
def test_resize_bilinear_matches_pytorch(size, out, align_corners):
    """Integer factors take the shifted-slice path, other sizes the interpolation matrix: both exact."""
    x = np.random.default_rng(0).random((2, *size, 3), dtype=np.float32)
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    reference = F.interpolate(nchw, size=out, mode="bilinear", align_corners=align_corners)
    y = resize_bilinear(jnp.asarray(x), out, align_corners=align_corners)
    np.testing.assert_allclose(y, reference.permute(0, 2, 3, 1).numpy(), atol=1e-6)


def test_inference_form_gives_the_same_output(trained_like_model):
    fused = inference_form(trained_like_model)
    images = jax.random.normal(jax.random.key(2), (2, 64, 64, 3))
    expected = trained_like_model(images)
    np.testing.assert_allclose(fused(images), expected, atol=1e-5 * float(jnp.abs(expected).max()))
    assert fused.head_before_upsample and isinstance(fused.up1.conv.bn1, Identity)
    assert not trained_like_model.head_before_upsample and isinstance(trained_like_model.up1.conv.bn1, nnx.BatchNorm)
