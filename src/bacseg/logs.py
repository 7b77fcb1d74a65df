"""Logging for workflow jobs and the CLI: one log file per job, errors written there before they surface."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Iterator

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def logged_job(log_path: str | Path | None) -> Iterator[logging.Logger]:
    """Send the ``bacseg`` loggers to ``log_path`` (and stderr); log any exception, then re-raise it.

    Other libraries' messages reach stderr only: the log file is shareable, and some quote file paths
    (pydicom's warnings name the file), which may carry patient names.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_path, mode="w")
        to_file.addFilter(logging.Filter("bacseg"))
        handlers.append(to_file)
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    logger = logging.getLogger("bacseg")
    try:
        yield logger
    except Exception:
        logger.exception("job failed")
        raise
