"""Logging for workflow jobs and the CLI: one log file per job, errors written there before they surface.

A job's log file is shareable (it sits under results/logs), a file path may name a patient
(``SMITH_JANE_19400101/ZZ123456.dcm``), and an unexpected exception may quote one (``FileNotFoundError``,
pydicom's errors). So the two destinations get different things:

- stderr (Snakemake's console, not kept under results/): every record, from any library, with the full
  traceback, for debugging.
- the log file: ``bacseg`` records only, with every path-like token replaced by ``<path>`` (``redact_paths``),
  and a failure as one line: the exception type, where it was raised (source file name, line, function)
  and its redacted message; never a traceback, whose frames show values and the lines around them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import traceback
from pathlib import Path
from typing import Iterator

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "<path>"
# A token is path-like when it holds a path separator or ends in a file extension this project meets.
_PATH_LIKE = re.compile(r"[/\\]|\.(?:dcm|dicom|ima|img|png|jpe?g|json|csv|npy|npz|ya?ml|txt|pt|pth|zip|gz)$",
                        re.IGNORECASE)  # fmt: skip
_QUOTED = re.compile(r"""(['"])(.*?)\1""")
_TOKEN = re.compile(r"\S+")
_PUNCTUATION = "'\"()[]{}<>,;:!?"


def redact_paths(message: str) -> str:
    """``message`` with each path-like quoted string (paths may hold spaces) and each path-like word -> <path>."""
    message = _QUOTED.sub(lambda quoted: REDACTED if _PATH_LIKE.search(quoted[2]) else quoted[0], message)
    return _TOKEN.sub(lambda word: REDACTED if _PATH_LIKE.search(word[0].strip(_PUNCTUATION)) else word[0], message)


def failure_summary(error: BaseException) -> str:
    """One redacted line for the log file: type, place raised, message."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return redact_paths(f"{type(error).__name__}{where}: {error}")


class ShareableFormatter(logging.Formatter):
    """The log file's format: messages with paths redacted, an exception as ``failure_summary``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {redact_paths(record.getMessage())}"
        if record.exc_info and record.exc_info[1] is not None:
            line += f": {failure_summary(record.exc_info[1])} (traceback: the job's stderr)"
        return line


class RedactPaths(logging.Filter):
    """Replaces paths in a logger's records (``redact_paths``), for libraries that quote the file they read:
    pydicom warns "End of file reached ... in file <the patient's path>", on whatever handler is listening."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_paths(record.getMessage()), None
        return True


@contextlib.contextmanager
def logged_job(log_path: str | Path | None) -> Iterator[logging.Logger]:
    """Send the ``bacseg`` loggers to ``log_path`` (shareable: see the module docstring) and every logger to
    stderr; log any exception, then re-raise it."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_path, mode="w")
        to_file.addFilter(logging.Filter("bacseg"))
        to_file.setFormatter(ShareableFormatter())
        handlers.append(to_file)
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=handlers, force=True)
    # orbax logs every checkpoint step at INFO through absl (a screenful per epoch): its warnings suffice.
    logging.getLogger("absl").setLevel(logging.WARNING)
    logger = logging.getLogger("bacseg")
    try:
        yield logger
    except Exception:
        logger.exception("job failed")
        raise
