"""Job logs are shareable: no path (which may name a patient) reaches the log file; stderr keeps the traceback."""

import logging
import re

import pytest

from bacseg.logs import logged_job, redact_paths

PATIENT = "SMITH_JANE_19400101"


def test_a_failure_reaches_the_log_file_as_one_redacted_line(tmp_path, capsys):
    missing = tmp_path / PATIENT / "ZZ123456.dcm"
    log_file = tmp_path / "logs" / "job.log"
    with pytest.raises(FileNotFoundError), logged_job(log_file) as log:
        log.info("reading %s", missing)
        missing.read_bytes()
    written = log_file.read_text()
    assert PATIENT not in written and "ZZ123456" not in written and "Traceback" not in written
    assert "reading <path>" in written
    failure = r"job failed: FileNotFoundError at \w+\.py:\d+ in \w+: .*No such file or directory: <path>"
    assert re.search(failure, written)
    console = capsys.readouterr().err
    assert "Traceback" in console and str(missing) in console, "stderr keeps the whole story for debugging"


def test_other_libraries_reach_stderr_only(tmp_path, capsys):
    with logged_job(tmp_path / "job.log"):
        logging.getLogger("pydicom").warning("file %s truncated", PATIENT)
    assert (tmp_path / "job.log").read_text() == ""
    assert PATIENT in capsys.readouterr().err


@pytest.mark.parametrize("message, expected", [
    ("No such file: '/data/SMITH JANE/ZZ 1.dcm'", "No such file: <path>"),
    ('cannot read "SMITH JANE.dcm"', "cannot read <path>"),
    ("bad file C:\\PACS\\SMITH\\1.DCM, skipped", "bad file <path> skipped"),
    ("relative SMITH_JANE/ZZ1 and ZZ123456.dcm: gone", "relative <path> and <path> gone"),
    ("image A-S0001-003: size 4096x3328, cutoff 0.5 in bacseg.preprocess", None),
    ("an 'ordinary' quote stays", None),
])  # fmt: skip
def test_path_like_words_and_quoted_strings_are_redacted(message, expected):
    assert redact_paths(message) == (message if expected is None else expected)
