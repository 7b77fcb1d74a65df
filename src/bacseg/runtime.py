"""Process-wide JAX set-up, called once by the CLI, the workflow scripts and the tests."""

from __future__ import annotations

import os


def configure_jax(cache_dir: str | None = None) -> None:
    """Persistent compilation cache, so a Snakemake job or test session reuses compiled programs.

    Call before the first JAX computation. The cache directory comes from ``cache_dir``, else
    ``$JAX_COMPILATION_CACHE_DIR``, else ``~/.cache/bacseg/jax``.
    """
    import jax

    cache_dir = cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.expanduser("~/.cache/bacseg/jax")
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
