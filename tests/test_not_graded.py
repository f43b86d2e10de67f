"""What the grader calls a notebook it cannot read (grading/not_graded.py), on files made here.
The students themselves are graded in the session's shared runs: test_doors.py (command line,
grades.csv, the LMS file, the Spanish page) and test_robustness.py (Dask)."""

import nbformat
import pytest

import adversarial
from grading import course, not_graded


def notebook_bytes(notebook):
    return nbformat.writes(notebook).encode("utf-8")


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe{}", not_graded.NOT_UTF8),
    (b'{"cells": [', not_graded.NOT_JSON),
    (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", not_graded.TOO_DEEP),
    (b'{"x": ' + b"[" * 100 + b"]" * 100 + b"}", not_graded.TOO_DEEP),
    (b'{"cells": "no es una lista"}', not_graded.NOT_A_NOTEBOOK),
], ids=["not utf-8", "cut", "100,000 deep", "100 deep", "not a notebook"])
def test_a_file_no_reader_should_trust_is_unreadable_with_its_reason(content, expected):
    found = not_graded.unreadable(content)
    assert found == expected, f"expected {expected!r}, found {found!r}"


def test_a_notebook_with_a_widget_state_and_editors_keys_is_readable():
    found = not_graded.unreadable(notebook_bytes(adversarial.with_harmless_metadata()))
    assert found is None, f"expected a readable notebook, found {found!r}"


def test_the_students_page_says_in_spanish_why_and_what_to_do(tmp_path):
    not_graded.record(tmp_path, "ana", course.ASSIGNMENT,
                      f"the notebook cannot be read: {not_graded.NOT_JSON}")
    page = not_graded.feedback_page(tmp_path, "ana", course.ASSIGNMENT).read_text()
    for text in ("no se pudo leer", "no es JSON válido", "vuelve a entregarla"):
        assert text in page, f"expected {text!r} in the page:\n{page}"


def test_the_page_has_what_release_feedback_reads_beside_it_from_the_submission(tmp_path):
    submitted = tmp_path / "submitted" / "ana" / course.ASSIGNMENT
    submitted.mkdir(parents=True)
    (submitted / "timestamp.txt").write_text(course.TIMESTAMP)
    (submitted / "submission_secret.txt").write_text("secreto")
    not_graded.record(tmp_path, "ana", course.ASSIGNMENT, not_graded.NO_NOTEBOOK)
    folder = not_graded.feedback_page(tmp_path, "ana", course.ASSIGNMENT).parent
    found = {name: (folder / name).read_text() for name in not_graded.BESIDE_THE_PAGE}
    expected = {"timestamp.txt": course.TIMESTAMP, "submission_secret.txt": "secreto"}
    assert found == expected, f"expected {expected}, found {found}"


def test_grading_again_clears_the_reason_and_the_page(tmp_path):
    not_graded.record(tmp_path, "ana", course.ASSIGNMENT, not_graded.NO_NOTEBOOK)
    not_graded.clear(tmp_path, "ana", course.ASSIGNMENT)
    assert not_graded.not_graded(tmp_path, course.ASSIGNMENT) == {}
    assert not not_graded.feedback_page(tmp_path, "ana", course.ASSIGNMENT).exists()


def test_the_reason_kept_is_found_by_student(tmp_path):
    not_graded.record(tmp_path, "ana", course.ASSIGNMENT, not_graded.NO_NOTEBOOK)
    found = not_graded.not_graded(tmp_path, course.ASSIGNMENT)
    assert found == {"ana": not_graded.NO_NOTEBOOK}, found
