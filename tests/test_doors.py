"""The doors of the sandbox: what a submission folder holds, what a kernel sends and what a
feedback page shows are an attacker's data. Graded by real nbgrader commands: `nbgrader
autograde` on the command line here (doors_run in conftest.py), the Dask path with the rest of
the class (test_robustness.py), `nbgrader collect` through an exchange, and the feedback page in
Chromium (test_browser.py)."""
import csv
import html
import os
import re
import stat

import pytest

from grading import course
from adversarial import COMMAND_LINE_DOORS, DOORS, crowded_folder
from conftest import FULL, autograded_notebook, points_by_part
from grading.submission_files import LEFT_OUT_FOLDER

MB = 1 << 20


def graded_in(run, student):
    return autograded_notebook(run["folders"][student], student)


def feedback_page(run, student):
    return (run["folders"][student] / "feedback" / student / course.ASSIGNMENT /
            course.NOTEBOOK.replace(".ipynb", ".html"))


@pytest.mark.parametrize("student", [student for student, case in {**DOORS, **COMMAND_LINE_DOORS}
                                     .items() if case.graded])
def test_an_attack_on_the_doors_costs_points_only_in_the_part_it_attacks(doors_run, student):
    case = doors_run["cases"][student]
    expected = {part: 0.0 if part in case.zeroed_parts else FULL[part] for part in FULL}
    found = points_by_part(course.scores(student, doors_run["folders"][student]))
    assert found == expected, f"{case.description}: {found}"


def test_the_classmate_the_links_point_at_keeps_full_marks(doors_run):
    assert points_by_part(course.scores("bruno", doors_run["folders"]["bruno"])) == FULL


def test_links_fifos_and_devices_in_a_submission_are_left_out_with_a_log_line(doors_run):
    expected = {"companero.ipynb": "a symbolic link", "carpeta": "a symbolic link",
                "duro.ipynb": "a hard link to a file outside the folder", "tuberia": "a FIFO"}
    if os.geteuid() == 0:
        expected["cero"] = "a device"
    for name, why in expected.items():
        line = f"Left out of the grading of puerta_enlaces: {name} is {why}"
        assert line in doors_run["log"], f"no log line {line!r}"
    graded = graded_in(doors_run, "puerta_enlaces").parent
    assert sorted(path.name for path in graded.iterdir()) == ["timestamp.txt", course.NOTEBOOK]


def test_a_submitted_notebook_that_is_a_link_is_not_graded_as_the_students(doors_run):
    assert ("Left out of the grading of puerta_cuaderno_enlazado: vae_olivetti.ipynb is a "
            "symbolic link") in doors_run["log"]
    assert "puerta_cuaderno_enlazado has no notebook left to grade: not graded" in (
        doors_run["log"])
    assert not graded_in(doors_run, "puerta_cuaderno_enlazado").exists()


def test_only_the_students_without_a_readable_notebook_fail_to_be_graded(doors_run):
    failed = re.findall(r"error processing assignment 'vae_olivetti' for student '(\w+)'",
                        doors_run["log"])
    expected = sorted(student for student, case in doors_run["cases"].items() if not case.graded)
    assert sorted(failed) == expected, f"expected {expected} to fail, found {failed}"


NOT_GRADED = {"puerta_no_json": "the notebook cannot be read: not JSON (the file is cut or "
                                "corrupted)",
              "puerta_json_profundo": "the notebook cannot be read: JSON nested deeper than 64 "
                                      "levels",
              "puerta_cuaderno_enlazado": "no notebook left to grade"}


@pytest.mark.parametrize("student", sorted(NOT_GRADED))
def test_a_notebook_that_cannot_be_graded_is_logged_not_graded_in_one_line(doors_run, student):
    line = f"NOT GRADED: {student}: {NOT_GRADED[student]}"
    assert line in doors_run["log"], f"expected the line {line!r} in the log"


@pytest.fixture(scope="module")
def exported(doors_run, tmp_path_factory):
    """`nbgrader export` (grades.csv) and its Moodle file, in the course where puerta_no_json
    was not graded; the roster names that student and a graded classmate."""
    folder = doors_run["folders"]["puerta_no_json"]
    graded = next(student for student, case in doors_run["cases"].items()
                  if case.graded and doors_run["folders"][student] == folder)
    roster = tmp_path_factory.mktemp("moodle") / "participants.csv"
    roster.write_text("username,email\n" + "".join(
        f"{student},{student}@universidad.example\n" for student in ("puerta_no_json", graded)))
    csv_output = course.nbgrader("export", course=folder)
    moodle_output = course.nbgrader("export", "--CourseExport.lms=moodle",
                                    f"--CourseExport.moodle_roster={roster}",
                                    f"--to={folder / 'moodle.csv'}", course=folder)
    with open(folder / "grades.csv", newline="") as grades:
        rows = {row["student_id"]: row for row in csv.DictReader(grades)}
    moodle = (folder / "moodle.csv").read_text()
    return {"rows": rows, "csv output": csv_output, "moodle": moodle,
            "moodle output": moodle_output, "graded": graded}


def test_grades_csv_leaves_the_grade_of_a_notebook_not_graded_blank(exported):
    row = exported["rows"]["puerta_no_json"]
    assert (row["raw_score"], row["score"]) == ("", ""), f"expected blank scores, found {row}"


def test_grades_csv_export_prints_the_student_not_graded_with_the_reason(exported):
    line = f"NOT GRADED (grade left blank): puerta_no_json: {NOT_GRADED['puerta_no_json']}"
    assert line in exported["csv output"], f"expected {line!r} in:\n{exported['csv output']}"


def test_the_lms_file_leaves_out_a_notebook_not_graded_and_prints_the_reason(exported):
    assert "puerta_no_json@" not in exported["moodle"], exported["moodle"]
    assert f"{exported['graded']}@" in exported["moodle"], "the graded classmate is exported"
    line = f"NOT GRADED (grade left blank): puerta_no_json: {NOT_GRADED['puerta_no_json']}"
    assert line in exported["moodle output"], exported["moodle output"]


def test_a_notebook_not_graded_leaves_no_score_in_the_gradebook(doors_run):
    from nbgrader.api import Gradebook, MissingEntry

    folder = doors_run["folders"]["puerta_no_json"]
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        try:
            submission = gradebook.find_submission(course.ASSIGNMENT, "puerta_no_json")
        except MissingEntry:
            return
        scores = {grade.name: grade.auto_score for notebook in submission.notebooks
                  for grade in notebook.grades}
    assert set(scores.values()) <= {None}, f"expected no score, found {scores}"


def test_release_feedback_releases_the_spanish_page_of_a_notebook_not_graded(doors_run,
                                                                             tmp_path):
    folder = doors_run["folders"]["puerta_no_json"]
    course.nbgrader("release_feedback", course.ASSIGNMENT, f"--Exchange.root={tmp_path}",
                    "--student=puerta_no_json", course=folder)
    released = list(tmp_path.rglob("*.html"))
    assert len(released) == 1 and "no se pudo calificar" in released[0].read_text(), (
        f"expected the Spanish page released into the exchange, found {released}")


def test_a_notebook_not_graded_gets_a_spanish_page_in_its_feedback_folder(doors_run):
    page = (doors_run["folders"]["puerta_json_profundo"] / "feedback" / "puerta_json_profundo" /
            course.ASSIGNMENT / course.NOTEBOOK.replace(".ipynb", ".html"))
    text = page.read_text() if page.exists() else ""
    assert "Tu entrega no se pudo calificar" in text and "anidado" in text, (
        f"expected a Spanish page saying why at {page}, found {text[:300]!r}")


def test_a_folder_over_the_size_limit_is_graded_without_its_extra_files(doors_run):
    assert ("Left out of the grading of puerta_pesada: datos.bin is the folder is over 50 MB: "
            "only its notebooks are graded") in doors_run["log"]
    submitted = doors_run["folders"]["puerta_pesada"] / "submitted" / "puerta_pesada" / (
        course.ASSIGNMENT)
    aside = submitted.parent / LEFT_OUT_FOLDER / course.ASSIGNMENT / "datos.bin"
    assert aside.exists(), f"moved aside to {aside}, not deleted"
    assert not (graded_in(doors_run, "puerta_pesada").parent / "datos.bin").exists()


def test_a_folder_of_100000_files_is_graded_without_them_with_one_log_line(doors_run):
    line = ("Left out of the grading of puerta_abarrotada: venv is the folder holds more than "
            "1,000 files: only its notebooks are graded")
    found = [text for text in doors_run["log"].splitlines()
             if "Left out of the grading of puerta_abarrotada" in text]
    assert len(found) == 1 and line in found[0], f"expected one line {line!r}, found {found}"


def test_a_crowd_left_out_is_moved_beside_the_submission_out_of_nbgraders_walk(doors_run):
    student = doors_run["folders"]["puerta_abarrotada"] / "submitted" / "puerta_abarrotada"
    assert sorted(path.name for path in (student / course.ASSIGNMENT).iterdir()) == [
        "submission_secret.txt", "timestamp.txt", course.NOTEBOOK]
    aside = student / LEFT_OUT_FOLDER / course.ASSIGNMENT / "venv"
    assert len(list(aside.iterdir())) == 100, f"the crowd, kept whole, in {aside}"


def test_a_flood_of_output_leaves_a_notebook_and_a_feedback_page_within_the_limits(doors_run):
    notebook = graded_in(doors_run, "puerta_inundacion").stat().st_size
    page = feedback_page(doors_run, "puerta_inundacion").stat().st_size
    assert notebook < 10 * MB and page < 12 * MB, (notebook, page)


def test_grading_a_flood_takes_at_most_a_few_hundred_mb_more_than_a_normal_class(doors_run):
    more = doors_run["peak"] - doors_run["normal peak"]
    assert more < 400 * MB, (f"the grading process peaked at {doors_run['peak'] / MB:.0f} MB, "
                             f"a normal grading at {doors_run['normal peak'] / MB:.0f} MB")


def test_an_undecodable_kernel_message_fails_its_cell_with_a_spanish_message(doors_run):
    page = html.unescape(feedback_page(doors_run, "puerta_mensaje_profundo").read_text())
    assert "el kernel envió un mensaje que la calificación no puede leer" in page


def test_the_feedback_page_keeps_no_script_handler_or_javascript_link_of_the_student(
        feedback):
    page = feedback["puerta_guiones"]
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)
    assert not [script for script in scripts if "__alumno" in script]
    assert not re.search(r"<[^>]+\son\w+\s*=", page), "an on* handler in a tag"
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", page, re.I)
    assert "texto del alumno" in page and "negrita del alumno" in page
    assert 'src="data:image/png;base64,' in page, "the student's figure"


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """`nbgrader collect` from an exchange where malva wrote a link to another student's
    submission and a FIFO into her folder, and carmen handed in a virtual environment of
    100,000 files: (the instructor's course, collect's log)."""
    tmp_path = tmp_path_factory.mktemp("collect")
    instructor = course.new_course(tmp_path / "curso")
    course.release(instructor)
    exchange = tmp_path / "exchange"
    inbound = exchange / "vae-olivetti" / "inbound"
    when = "vae_olivetti+2026-11-20 12:00:00.000000 UTC"
    classmate, mallory, crowded = (inbound / f"{name}+{when}+{k}"
                                   for k, name in enumerate(("ana", "malva", "carmen")))
    for folder in (classmate, mallory, crowded):
        folder.mkdir(parents=True)
        course.nbformat.write(course.filled({}), folder / course.NOTEBOOK)
        (folder / "timestamp.txt").write_text(course.TIMESTAMP)
    (mallory / "de_ana.ipynb").symlink_to(classmate / course.NOTEBOOK)
    os.mkfifo(mallory / "tuberia")
    crowded_folder(crowded, None)
    log = course.nbgrader("collect", course.ASSIGNMENT, f"--Exchange.root={exchange}",
                          course=instructor)
    return instructor, log


def test_collect_copies_only_the_regular_files_of_a_submission_in_the_exchange(collected):
    instructor, log = collected
    folder = instructor / "submitted" / "malva" / course.ASSIGNMENT
    assert sorted(path.name for path in folder.iterdir()) == ["timestamp.txt", course.NOTEBOOK]
    assert all(stat.S_ISREG(path.lstat().st_mode) for path in folder.iterdir())
    assert "de_ana.ipynb is a symbolic link" in log and "tuberia is a FIFO" in log


def test_collect_leaves_out_a_folder_of_100000_files_with_one_log_line(collected):
    instructor, log = collected
    folder = instructor / "submitted" / "carmen" / course.ASSIGNMENT
    assert sorted(path.name for path in folder.iterdir()) == [
        "submission_secret.txt", "timestamp.txt", course.NOTEBOOK]
    found = [line for line in log.splitlines() if "Not collected from carmen" in line]
    assert len(found) == 1 and "venv is the folder holds more than 1,000 files" in found[0], (
        f"expected one line for the crowd, found {found}")
