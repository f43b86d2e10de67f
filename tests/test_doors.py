"""The doors of the sandbox: what a submission folder holds, what a kernel sends and what a
feedback page shows are an attacker's data. Graded by real nbgrader commands: `nbgrader
autograde` on the command line here (doors_run in conftest.py), the Dask path with the rest of
the class (test_robustness.py), `nbgrader collect` through an exchange, and the feedback page in
Chromium (test_browser.py)."""
import html
import os
import re
import stat

import pytest

from grading import course
from adversarial import COMMAND_LINE_DOORS, DOORS
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


def test_only_the_student_without_a_notebook_fails_to_be_graded(doors_run):
    failed = re.findall(r"error processing assignment 'vae_olivetti' for student '(\w+)'",
                        doors_run["log"])
    assert failed == ["puerta_cuaderno_enlazado"], failed


def test_a_folder_over_the_size_limit_is_graded_without_its_extra_files(doors_run):
    assert ("Left out of the grading of puerta_pesada: datos.bin is the folder is over 50 MB: "
            "only its notebooks are graded") in doors_run["log"]
    submitted = doors_run["folders"]["puerta_pesada"] / "submitted" / "puerta_pesada" / (
        course.ASSIGNMENT)
    assert (submitted / LEFT_OUT_FOLDER / "datos.bin").exists(), "moved aside, not deleted"
    assert not (graded_in(doors_run, "puerta_pesada").parent / "datos.bin").exists()


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


def test_collect_copies_only_the_regular_files_of_a_submission_in_the_exchange(tmp_path):
    """A student writes their folder in the exchange's inbound with a link to another
    student's submission and a FIFO: collect copies the notebook and leaves the rest out."""
    instructor = course.new_course(tmp_path / "curso")
    course.release(instructor)
    exchange = tmp_path / "exchange"
    inbound = exchange / "vae-olivetti" / "inbound"
    classmate = inbound / "ana+vae_olivetti+2026-11-20 12:00:00.000000 UTC+1"
    mallory = inbound / "malva+vae_olivetti+2026-11-20 12:00:00.000000 UTC+2"
    for folder in (classmate, mallory):
        folder.mkdir(parents=True)
        course.nbformat.write(course.filled({}), folder / course.NOTEBOOK)
        (folder / "timestamp.txt").write_text(course.TIMESTAMP)
    (mallory / "de_ana.ipynb").symlink_to(classmate / course.NOTEBOOK)
    os.mkfifo(mallory / "tuberia")
    log = course.nbgrader("collect", course.ASSIGNMENT, f"--Exchange.root={exchange}",
                          course=instructor)
    collected = instructor / "submitted" / "malva" / course.ASSIGNMENT
    assert sorted(path.name for path in collected.iterdir()) == ["timestamp.txt",
                                                                 course.NOTEBOOK]
    assert all(stat.S_ISREG(path.lstat().st_mode) for path in collected.iterdir())
    assert "de_ana.ipynb is a symbolic link" in log and "tuberia is a FIFO" in log
