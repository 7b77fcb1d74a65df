"""The model zoo at a glance: what `bacseg models` prints and Figure 2 draws."""

from __future__ import annotations

from typing import Any

from bacseg.models import model_names, parameter_counts
from bacseg.provenance import package_versions


def models_summary() -> dict[str, Any]:
    """Every registered network (SCU-Net first) with its trainable parameter count for one class."""
    counts = parameter_counts(num_classes=1, in_channels=3)
    scunet = counts.get("SCU-Net")
    models = [
        {"name": name, "parameters": counts[name], "times_scunet": round(counts[name] / scunet, 2) if scunet else None}
        for name in model_names()
    ]
    versions = package_versions()
    selected_versions = {k: versions[k] for k in ("bacseg", "jax", "flax")}
    return {"num_classes": 1, "in_channels": 3, "models": models, "versions": selected_versions}
