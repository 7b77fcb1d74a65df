"""Process-wide JAX set-up, called once by the CLI, the workflow scripts and the tests."""

from __future__ import annotations

import os

# jaxlib 0.10 hands CPU convolutions and matmuls to YNNPACK by default. On this project's 2-core CPUs that
# measured slower than XLA's Eigen path: 1.3-1.5x for SCU-Net inference (benchmarks/bench_scunet_inference.py),
# 1.7-2.3x for a U-Net or SegNet training gradient (LinkNet: no difference). An empty fusion-type list turns it off.
YNNPACK_OFF_FLAG = "--xla_cpu_experimental_ynn_fusion_type="


def configure_jax(cache_dir: str | None = None, *, ynnpack: bool = False) -> None:
    """Persistent compilation cache, and XLA's CPU convolutions on Eigen rather than YNNPACK.

    Call before the first JAX computation: XLA reads its flags when the backend starts. The cache
    directory comes from ``cache_dir``, else ``$JAX_COMPILATION_CACHE_DIR``, else ``~/.cache/bacseg/jax``.
    ``ynnpack=True`` keeps jaxlib's default backend choice.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if not ynnpack and "xla_cpu_experimental_ynn_fusion_type" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {YNNPACK_OFF_FLAG}".strip()

    import jax

    cache_dir = cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.expanduser("~/.cache/bacseg/jax")
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
