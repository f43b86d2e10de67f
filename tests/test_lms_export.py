"""Grades into the LMS: `nbgrader export --CourseExport.lms=canvas|moodle` (grading/lms_export.py)
on the committed demo's gradebook (ana_completa 100, beto_parcial 65, carla_en_blanco 0), with
rosters written from the columns Canvas and Moodle export (tests/data): ana and beto are in
both, dora_sin_entrega is in the rosters without a submission, carla is graded but in neither.
"""
import csv
import shutil

import pytest

from grading import course

DATA = course.ROOT / "tests" / "data"


def export(tmp_path, lms, *options):
    """Runs nbgrader's export in the course on a copy of its gradebook; returns (the rows of the
    file written, nbgrader's output)."""
    shutil.copy(course.ROOT / "gradebook.db", tmp_path / "gradebook.db")
    destination = tmp_path / f"{lms}.csv"
    output = course.nbgrader("export", f"--CourseExport.lms={lms}", f"--to={destination}",
                             f"--db=sqlite:///{tmp_path / 'gradebook.db'}", *options)
    with open(destination, newline="", encoding="utf-8") as written:
        return list(csv.reader(written)), output


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    return export(tmp_path_factory.mktemp("canvas"), "canvas",
                  f"--CourseExport.canvas_roster={DATA / 'canvas_gradebook.csv'}")


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    return export(tmp_path_factory.mktemp("moodle"), "moodle",
                  f"--CourseExport.moodle_roster={DATA / 'moodle_participants.csv'}")


def column(rows, name):
    where = rows[0].index(name)
    return {row[3]: row[where] for row in rows[2:]}


def test_canvas_file_keeps_canvas_columns_ids_and_other_grades(canvas):
    rows, _ = canvas
    with open(DATA / "canvas_gradebook.csv", newline="", encoding="utf-8") as roster:
        original = list(csv.reader(roster))
    assert rows[0] == original[0], "the header, with Canvas's ids and columns, is kept"
    assert rows[1] == original[1], "the Points Possible row is kept"
    assert [row[:5] for row in rows] == [row[:5] for row in original]
    assert column(rows, "Práctica 1 (48001)") == column(original, "Práctica 1 (48001)")


def test_canvas_file_fills_this_assignments_column(canvas):
    rows, _ = canvas
    grades = column(rows, "VAE Olivetti vae_olivetti (48213)")
    assert grades["ana_completa"] == "100" and grades["beto_parcial"] == "65", grades


def test_canvas_student_without_submission_is_reported_and_left_blank_not_zero(canvas):
    rows, output = canvas
    assert column(rows, "VAE Olivetti vae_olivetti (48213)")["dora_sin_entrega"] == ""
    assert "without a graded submission" in output and "dora_sin_entrega" in output, output


def test_canvas_submission_without_roster_line_is_reported_not_dropped_silently(canvas):
    _, output = canvas
    assert "not in the roster" in output and "carla_en_blanco" in output, output


def test_moodle_file_is_keyed_by_the_email_of_the_roster(moodle):
    rows, output = moodle
    assert rows[0] == ["email", "vae_olivetti"]
    assert rows[1:] == [["ana.completa@universidad.example", "100"],
                        ["beto.parcial@universidad.example", "65"]]
    assert "dora_sin_entrega" in output and "carla_en_blanco" in output, output


def test_moodle_file_can_be_keyed_by_id_number(tmp_path):
    rows, _ = export(tmp_path, "moodle",
                     f"--CourseExport.moodle_roster={DATA / 'moodle_participants.csv'}",
                     "--CourseExport.moodle_key=idnumber")
    assert rows == [["idnumber", "vae_olivetti"], ["A0001", "100"], ["A0002", "65"]]
