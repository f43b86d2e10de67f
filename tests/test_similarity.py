"""The similarity report (`make similarity`, grading/similarity.py) on a class with a planted
copy: a classmate's notebook with every name changed, the code laid out anew and two solution
cells swapped. No grading is needed: the report reads submitted/ and the released notebook."""
import shutil
import subprocess
import sys

import nbformat
import pytest

from adversarial import crowded_folder
from grading import answers, course, similarity

# Who hands in what: the copier takes `ana_completa`'s answers (the alternative ones).
CLASS = {
    "ana_completa": answers.ALTERNATIVE,
    "maestra": answers.master_solutions(),
    "copion": answers.disguised(answers.ALTERNATIVE),
    # Her own answers but part 4, copied from ana_completa under other names.
    "vera_una_parte": {**answers.master_solutions(),
                       "vae_loss": answers.disguised(answers.ALTERNATIVE)["vae_loss"]},
    "en_blanco_1": {},
    "en_blanco_2": {},
}


def swapped(notebook, first, second):
    """The notebook with two solution cells swapped (found by their grade_id)."""
    cells = notebook.cells
    where = {cell.metadata.get("nbgrader", {}).get("grade_id"): k for k, cell in enumerate(cells)}
    cells[where[first]], cells[where[second]] = cells[where[second]], cells[where[first]]
    return notebook


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    return planted_class(tmp_path_factory.mktemp("similitud"))


def planted_class(folder):
    """A course folder with the master, the release and CLASS submitted, plus a notebook that
    is not JSON."""
    for name in ("source", "release"):
        shutil.copytree(course.ROOT / name, folder / name)
    for student, answers_by_part in CLASS.items():
        notebook = course.filled(answers_by_part)
        if student == "copion":
            notebook = swapped(notebook, "build_encoder", "build_decoder")
        target = folder / "submitted" / student / course.ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(notebook, target / course.NOTEBOOK)
    broken = folder / "submitted" / "roto" / course.ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / course.NOTEBOOK).write_text('{"cells": [')
    return folder


@pytest.fixture(scope="module")
def report(class_folder):
    return similarity.compare_class(class_folder)


def pair_of(report, first, second):
    return next((p for p in report.pairs if {p.first, p.second} == {first, second}), None)


def test_a_renamed_reordered_copy_is_the_top_pair_and_over_the_threshold(report):
    top = report.pairs[0]
    assert {top.first, top.second} == {"ana_completa", "copion"}, report.table()
    assert top.score >= report.threshold, report.table()


def test_two_independent_correct_solutions_are_under_the_threshold(report):
    pair = pair_of(report, "ana_completa", "maestra")
    assert pair is None or pair.score < report.threshold, report.table()


def test_a_copied_part_is_named_in_the_report(report):
    pair = pair_of(report, "ana_completa", "vera_una_parte")
    assert pair is not None and "vae_loss" in pair.parts, report.table()
    assert "vae_loss" in report.table()


def test_two_blank_submissions_are_not_a_pair(report):
    assert pair_of(report, "en_blanco_1", "en_blanco_2") is None, report.table()
    blank = [p for p in report.pairs if {"en_blanco_1", "en_blanco_2"} & {p.first, p.second}]
    assert blank == [], f"a blank submission shares nothing: {blank}"


def test_a_submission_that_does_not_parse_appears_with_a_note(report):
    notes = {s.student: s.note for s in report.submissions}
    assert notes["roto"].startswith("not compared"), notes
    assert "roto: not compared" in report.table()


def test_the_demo_class_gives_no_pair_over_the_threshold():
    """The committed demo: three students who did not copy (submitted/ of this repository)."""
    report = similarity.compare_class(course.ROOT)
    assert report.flagged() == [], report.table()


def test_make_similarity_writes_a_page_with_the_shared_code_and_a_heat_map(class_folder,
                                                                          tmp_path):
    """The command-line path, on the test class: the table in the terminal, the HTML page
    (the students' code escaped, the shared spans marked) and the picture."""
    code = (f"from grading import course; r = course.similarity_report({str(class_folder)!r}, {str(tmp_path)!r}); "
            "print(r.table())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=course.environment(), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ana_completa / copion" in result.stdout, result.stdout
    page = (tmp_path / "similitud.html").read_text()
    assert "<mark>" in page and "copion" in page and "<script" not in page
    assert (tmp_path / "similitud.png").read_bytes()[:4] == b"\x89PNG"


def test_a_folder_of_100000_files_is_compared_on_its_notebook(tmp_path):
    folder = tmp_path / "abarrotada" / course.ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(course.filled(answers.master_solutions()), folder / course.NOTEBOOK)
    crowded_folder(folder, None)
    parts = similarity.solution_parts(course.ROOT / "source" / course.ASSIGNMENT /
                                      course.NOTEBOOK)
    found = similarity.read_submission("abarrotada", folder, parts)
    assert found.note == "" and all(found.parts.values()), (
        f"expected every part's code and no note, found the note {found.note!r}")
