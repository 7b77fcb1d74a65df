"""The authors' released weights in the Flax SCU-Net: parity with the released model, the PyTorch port, round trip."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx

from bacseg.models import create_model
from bacseg.models.authors_weights import (
    convert_authors_checkpoint,
    load_authors_weights,
    read_authors_state_dict,
    scunet_from_authors_checkpoint,
)
from bacseg.models.scunet_torch import SCUNetTorch
from bacseg.models.checkpoint import load_model

PAPER_CHECKPOINT = "SCUNet_dice_512_512_best_nosigmoid.pt"
# The parity input is the authors' inference normalisation of an 8-bit patch (latest AutoSeg.py).
NORMALIZE_MEAN, NORMALIZE_STD = 0.2813, 0.1256


@pytest.fixture(scope="module")
def paper_checkpoint(reference_dir):
    return reference_dir / "authors_scunet_weights" / PAPER_CHECKPOINT


@pytest.fixture(scope="module")
def parity(reference_dir):
    return dict(np.load(reference_dir / "scunet_parity_reference.npz"))


@pytest.fixture(scope="module")
def flax_model(paper_checkpoint):
    return scunet_from_authors_checkpoint(paper_checkpoint)


def ported(checkpoint) -> SCUNetTorch:
    """The project's PyTorch port with a released checkpoint's weights (strict: every key must match)."""
    model = SCUNetTorch()
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in read_authors_state_dict(checkpoint).items()})
    return model


@pytest.fixture(scope="module")
def torch_model(paper_checkpoint):
    return ported(paper_checkpoint).eval()


def nhwc(nchw: np.ndarray) -> jax.Array:
    return jnp.asarray(nchw.transpose(0, 2, 3, 1))


@nnx.jit
def forward(model, images):
    """One compiled program instead of op-by-op dispatch: the 512x512 cases run in seconds."""
    return model(images)


def test_paper_checkpoint_reproduces_the_released_output_in_float32(flax_model, parity):
    output = np.asarray(forward(flax_model, nhwc(parity["random_input"]))).transpose(0, 3, 1, 2)
    assert np.abs(output - parity["random_output_float32"]).max() <= 1e-4


def test_paper_checkpoint_reproduces_the_released_output_in_float64(paper_checkpoint, parity):
    grey = (parity["random_input_uint8"].astype(np.float64) / 255.0 - NORMALIZE_MEAN) / NORMALIZE_STD
    np.testing.assert_allclose(parity["random_input"], np.broadcast_to(grey, (1, 3, *grey.shape)), atol=1e-6)
    with jax.enable_x64(True):
        model = scunet_from_authors_checkpoint(paper_checkpoint, dtype=jnp.float64)
        output = np.asarray(forward(model, jnp.asarray(np.repeat(grey[None, :, :, None], 3, axis=-1))))
    assert output.dtype == np.float64
    assert np.abs(output[..., 0] - parity["random_output_float64"][:, 0]).max() <= 1e-8


def test_float64_weights_demand_x64(paper_checkpoint):
    with pytest.raises(ValueError, match="x64"):
        scunet_from_authors_checkpoint(paper_checkpoint, dtype=jnp.float64)


def test_pytorch_port_reproduces_the_released_output(torch_model, parity):
    with torch.no_grad():
        output = torch_model(torch.from_numpy(parity["random_input"])).numpy()
    assert np.abs(output - parity["random_output_float32"]).max() <= 1e-4


def test_flax_and_pytorch_agree_on_another_input(flax_model, torch_model):
    images = np.random.default_rng(7).normal(size=(2, 3, 96, 128)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(np.asarray(forward(flax_model, nhwc(images))).transpose(0, 3, 1, 2), expected, atol=1e-5)


def test_train_mode_batch_statistics_match_pytorch(paper_checkpoint):
    """Train-mode forward (dropout off in both): output and updated BatchNorm running means agree."""
    images = np.random.default_rng(8).normal(size=(2, 3, 64, 64)).astype(np.float32)
    reference = ported(paper_checkpoint).train()
    reference.b1.dp.eval(), reference.b2.dp.eval()
    with torch.no_grad():
        expected = reference(torch.from_numpy(images)).numpy()
    model = scunet_from_authors_checkpoint(paper_checkpoint)
    model.train()
    model.set_attributes(deterministic=True)
    np.testing.assert_allclose(np.asarray(forward(model, nhwc(images))).transpose(0, 3, 1, 2), expected, atol=1e-4)
    pairs = ((model.level3.joint_bn_prelu.bn, reference.level3_0.bn), (model.up2.conv.bn2, reference.up4.conv.conv[4]))
    for flax_bn, torch_bn in pairs:
        np.testing.assert_allclose(flax_bn.mean[...], torch_bn.running_mean.numpy(), atol=1e-5)


def test_round_trip_through_the_project_checkpoint(paper_checkpoint, flax_model, tmp_path):
    directory = convert_authors_checkpoint(paper_checkpoint, tmp_path / "scunet")
    model, metadata = load_model(directory)
    assert (metadata.model_name, metadata.output_activation, metadata.extra["epoch"]) == ("SCU-Net", "none", 58)
    assert PAPER_CHECKPOINT in metadata.source
    def saved(m):
        return jax.tree.leaves(nnx.state(m, (nnx.Param, nnx.BatchStat)))

    for loaded, original in zip(saved(model), saved(flax_model), strict=True):
        np.testing.assert_array_equal(loaded, original)
    assert model.level1_dropout.dropout.deterministic  # loaded for inference: eval mode


def test_every_released_checkpoint_loads(reference_dir):
    for path in sorted((reference_dir / "authors_scunet_weights").glob("*.pt")):
        state = read_authors_state_dict(path)
        assert not any(k.startswith("level3_1.") or ".up.weight" in k for k in state)
        scunet_from_authors_checkpoint(path)  # every remaining tensor finds its variable, and every variable a tensor


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        read_authors_state_dict(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        read_authors_state_dict(junk)
    with pytest.raises(FileNotFoundError, match="no metadata"):
        load_model(tmp_path)


def test_tensors_that_do_not_fit_are_named(paper_checkpoint):
    state = read_authors_state_dict(paper_checkpoint)
    model = create_model("SCU-Net")
    with pytest.raises(ValueError, match="'level1_0.conv.weight' has shape"):
        load_authors_weights(model, {**state, "level1_0.conv.weight": np.zeros((16, 1, 3, 3))}, source="x.pt")
    with pytest.raises(ValueError, match="'extra.weight' has no place"):
        load_authors_weights(model, {**state, "extra.weight": state["outc.conv.weight"]}, source="x.pt")
    del state["outc.conv.bias"]
    with pytest.raises(ValueError, match="x.pt: no tensor for 1 SCU-Net variables: head.bias"):
        load_authors_weights(model, state, source="x.pt")
