"""The course's pass over a submission folder (grading/submission_files.py) on folders made
here: the count limit, and what the log and the report say of a crowd. The doors themselves
(command line, collect, Dask) are tested in test_doors.py and test_robustness.py."""
import os

from grading import submission_files

NOTEBOOK = "vae_olivetti.ipynb"


def folder_with(tmp_path, extra_files):
    (tmp_path / NOTEBOOK).write_text("{}")
    for k in range(extra_files):
        fd = os.open(tmp_path / f"extra_{k}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
    return tmp_path


def test_a_folder_within_the_count_limit_keeps_every_file(tmp_path):
    found = submission_files.read_submission(folder_with(tmp_path, 9), max_files=10,
                                             notebooks=(NOTEBOOK,))
    assert len(found.files) == 10 and found.left_out == [], (
        f"expected 10 files and nothing left out, found {len(found.files)}, {found.left_out}")


def test_a_folder_over_the_count_limit_keeps_only_its_notebook(tmp_path):
    found = submission_files.read_submission(folder_with(tmp_path, 10), max_files=10,
                                             notebooks=(NOTEBOOK,))
    assert list(found.files) == [NOTEBOOK], f"expected the notebook alone, found {found.files}"
    assert len(found.left_out) == 10, f"expected 10 extra files left out: {found.left_out}"


def test_a_crowd_is_a_few_lines_in_the_report_not_one_per_file(tmp_path):
    found = submission_files.read_submission(folder_with(tmp_path, 5000),
                                             notebooks=(NOTEBOOK,))
    expected = ["left out extra_0.txt, extra_1.txt, extra_10.txt and 4,997 more: the folder "
                "holds more than 1,000 files: only its notebooks are graded"]
    assert found.notes() == expected, f"expected {expected}, found {found.notes()}"


def test_the_count_limit_is_configurable_like_the_byte_limit():
    from traitlets.config import Config

    limits = submission_files.configured_limits(Config(
        {"SubmissionFiles": {"max_files": 50, "max_bytes": 1000}}))
    assert limits == {"max_files": 50, "max_bytes": 1000}, limits
