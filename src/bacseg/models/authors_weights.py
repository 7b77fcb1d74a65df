"""The authors' released PyTorch SCU-Net checkpoints, read into the Flax SCU-Net.

The released files (Emory-HITI/BAC_segmentation, MIT) are ``torch.save`` dicts whose ``model_state_dict``
holds 131 float64 tensors saved through DataParallel (``module.`` prefix). Of those, the unused
``level3_1`` block and the decoder's unused ``ConvTranspose2d`` layers are dropped; every other tensor
must land on exactly one Flax variable of the right shape, or the conversion fails naming the file.
Layouts: conv weights (out, in, kh, kw) -> kernels (kh, kw, in, out); linear (out, in) -> (in, out);
BatchNorm weight/bias/running_mean/running_var -> scale/bias/mean/var.
"""

from __future__ import annotations

import re
from functools import reduce
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from bacseg.models.checkpoint import CheckpointMetadata, save_checkpoint
from bacseg.models.depthwise import DepthwiseConv
from bacseg.models.layers import PReLU
from bacseg.models.scunet import SCUNet

# Tensors of the released class that its forward pass never uses.
_UNUSED = re.compile(r"^(level3_1\.|up[34]\.up\.)")

# Authors' module path -> the Flax SCUNet's, applied in order.
_DOUBLE_CONV_PARTS = ("conv1", "bn1", "act1", "conv2", "bn2", "act2")
_RENAMES = (
    (r"^level1_(\d)\.", r"level1.layers.\1."),
    (r"^b1\.", "level1_dropout."),
    (r"^b2\.", "level2_dropout."),
    (r"^level2_0\.", "level2."),
    (r"^level3_0\.", "level3."),
    (r"^(level[23])\.(bn|act)\.", r"\1.joint_bn_prelu.\2."),
    (r"\.conv1x1\.", ".downsample."),
    (r"\.F_loc\.conv\.", ".context.local."),
    (r"\.F_sur\.conv\.", ".context.surrounding."),
    (r"\.reduce\.conv\.", ".reduce."),
    (r"\.F_glo\.fc\.0\.", ".global_context.reduce."),
    (r"\.F_glo\.fc\.2\.", ".global_context.expand."),
    (r"^up3\.", "up1."),
    (r"^up4\.", "up2."),
    (r"\.conv\.conv\.(\d)\.", lambda m: f".conv.{_DOUBLE_CONV_PARTS[int(m[1])]}."),
    (r"^outc\.conv\.", "head."),
)

_BATCH_NORM_LEAVES = {"weight": "scale", "bias": "bias", "running_mean": "mean", "running_var": "var"}


def _load(path: str | Path) -> dict:
    import torch  # only reading the released files needs PyTorch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"authors' SCU-Net checkpoint not found: {path}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path}: not a readable PyTorch checkpoint ({error})") from error
    if not isinstance(saved, dict):
        raise ValueError(f"{path}: expected a state_dict or a dict holding one, got {type(saved).__name__}")
    return saved


def read_authors_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The used tensors of a released checkpoint, keyed as in the authors' class (no ``module.`` prefix).

    These are also the keys of ``scunet_torch.SCUNetTorch``'s state_dict.
    """
    saved = _load(path)
    state = saved.get("model_state_dict", saved)
    if not isinstance(state, dict) or not state or not all(hasattr(v, "numpy") for v in state.values()):
        raise ValueError(f"{path}: expected a state_dict of tensors, or a dict with one under 'model_state_dict'")
    tensors = {key.removeprefix("module."): value.numpy() for key, value in state.items()}
    return {key: value for key, value in tensors.items() if not _UNUSED.match(key)}


def checkpoint_info(path: str | Path) -> dict:
    """The scalars saved beside the weights (epoch, train/val loss, val Dice), for provenance."""
    return {key: value for key, value in _load(path).items() if isinstance(value, (int, float, str))}


def _flax_path(key: str) -> tuple[str, str]:
    """Authors' tensor name -> (Flax module path, authors' leaf name)."""
    module, leaf = key.rsplit(".", 1)
    module = f"{module}."
    for pattern, replacement in _RENAMES:
        module = re.sub(pattern, replacement, module)
    return module.rstrip("."), leaf


def _submodule(model: nnx.Module, path: str):
    return reduce(lambda node, part: node[int(part)] if part.isdigit() else getattr(node, part), path.split("."), model)


def _flax_leaf(module, leaf: str, tensor: np.ndarray) -> tuple[str, np.ndarray]:
    """Which variable of ``module`` a tensor fills, and the tensor in Flax's layout."""
    if isinstance(module, (nnx.Conv, DepthwiseConv)) and leaf in ("weight", "bias"):
        return ("kernel", tensor.transpose(2, 3, 1, 0)) if leaf == "weight" else ("bias", tensor)
    if isinstance(module, nnx.Linear) and leaf in ("weight", "bias"):
        return ("kernel", tensor.T) if leaf == "weight" else ("bias", tensor)
    if isinstance(module, nnx.BatchNorm) and leaf in _BATCH_NORM_LEAVES:
        return _BATCH_NORM_LEAVES[leaf], tensor
    if isinstance(module, PReLU) and leaf == "weight":
        return "weight", tensor
    raise KeyError(f"no Flax variable for {leaf!r} of a {type(module).__name__}")


def load_authors_weights(
    model: SCUNet, state: dict[str, np.ndarray], *, dtype=jnp.float32, source: str = "state_dict"
) -> None:
    """Copy an authors' state_dict (``read_authors_state_dict``) into ``model``, in place, cast to ``dtype``.

    float64 needs JAX's x64 mode (``jax.enable_x64``); without it JAX would silently round to float32.
    """
    if jnp.dtype(dtype) == jnp.float64 and not jax.config.jax_enable_x64:
        raise ValueError("float64 weights need JAX's x64 mode: wrap the call in `with jax.enable_x64(True):`")
    variables = dict(nnx.to_flat_state(nnx.state(model, (nnx.Param, nnx.BatchStat))))
    filled = set()
    for key, tensor in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        module_path, leaf = _flax_path(key)
        try:
            name, value = _flax_leaf(_submodule(model, module_path), leaf, tensor)
            path = tuple(int(p) if p.isdigit() else p for p in module_path.split(".")) + (name,)
            variable = variables[path]
        except (AttributeError, IndexError, KeyError) as error:
            raise ValueError(f"{source}: tensor {key!r} has no place in the Flax SCU-Net ({error})") from None
        if variable.shape != value.shape:
            raise ValueError(
                f"{source}: tensor {key!r} has shape {tensor.shape}; the model expects {variable.shape} in Flax layout"
            )
        variable.set_value(jnp.asarray(value, dtype))
        filled.add(path)
    missing = sorted(".".join(map(str, p)) for p in variables.keys() - filled)
    if missing:
        raise ValueError(f"{source}: no tensor for {len(missing)} SCU-Net variables: {', '.join(missing)}")


def scunet_from_authors_checkpoint(path: str | Path, *, dtype=jnp.float32) -> SCUNet:
    """A Flax SCU-Net in eval mode with the weights of a released checkpoint."""
    state = read_authors_state_dict(path)
    num_classes = state["outc.conv.weight"].shape[0] if "outc.conv.weight" in state else 1
    in_channels = state["level1_0.conv.weight"].shape[1] if "level1_0.conv.weight" in state else 3
    model = SCUNet(num_classes=num_classes, in_channels=in_channels, rngs=nnx.Rngs(0))
    load_authors_weights(model, state, dtype=dtype, source=str(path))
    model.eval()
    return model


def authors_model(pt_path: str | Path, *, output_activation: str = "none") -> tuple[SCUNet, CheckpointMetadata]:
    """A released checkpoint as a Flax SCU-Net and the metadata that says how to use it.

    ``output_activation``: "none" for the paper's checkpoint (trained by Dice on the raw output,
    ``SCUNet_dice_512_512_best_nosigmoid.pt``), "sigmoid" for the BCE one (it outputs logits).
    """
    model = scunet_from_authors_checkpoint(pt_path)
    metadata = CheckpointMetadata(
        model_name="SCU-Net",
        num_classes=model.head.out_features,
        in_channels=model.level1.layers[0].conv.in_features,
        output_activation=output_activation,
        source=f"authors' release: {Path(pt_path).name}",
        normalization="authors",
        extra=checkpoint_info(pt_path),
    )
    return model, metadata


def convert_authors_checkpoint(pt_path: str | Path, out_dir: str | Path, *, output_activation: str = "none") -> Path:
    """A released checkpoint -> the project's checkpoint format (float32) in ``out_dir`` (see ``authors_model``)."""
    return save_checkpoint(out_dir, *authors_model(pt_path, output_activation=output_activation))
