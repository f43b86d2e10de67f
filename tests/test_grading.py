"""Grades given by real `nbgrader autograde` runs: demo students and fairness answers."""
import csv
import html
import os
import pathlib
import re
import shutil
import subprocess

import nbformat

import pytest

from grading import answers, course
from conftest import (FULL, autograded_notebook, fairness_submissions, hidden_lines,
                      points_by_part, scores, solution_lines, student_with_wrong,
                      submitted_notebook)

CASES = fairness_submissions()


def test_demo_complete_student_gets_full_marks(graded):
    assert points_by_part(scores(graded, "ana_completa")) == FULL


def test_demo_untouched_release_gets_zero(graded):
    assert sum(scores(graded, "carla_en_blanco").values()) == 0


def test_demo_partly_wrong_student_loses_only_its_two_wrong_parts(graded):
    found = points_by_part(scores(graded, "beto_parcial"))
    wrong_parts = {answers.wrong(name).part for name in answers.PARTLY_WRONG}
    expected = {part: 0.0 if part in wrong_parts else FULL[part] for part in answers.PARTS}
    assert found == expected


def test_committed_demo_grades_match_a_fresh_grading(graded):
    with open(course.ROOT / "grades.csv", newline="") as handle:
        committed = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    fresh = {student: sum(scores(graded, student).values())
             for student in course.demo_submissions()}
    assert committed == fresh
    for student in fresh:
        assert course.scores(student) == scores(graded, student), student


@pytest.mark.parametrize("student", [s for s, case in CASES.items() if case.kind == "correct"])
def test_correct_answers_written_differently_get_full_marks(graded, student):
    found = points_by_part(scores(graded, student))
    assert found == FULL, f"{student}: {found}"


@pytest.mark.parametrize("name", [answer.name for answer in answers.WRONG])
def test_every_wrong_answer_loses_points_in_its_own_part(graded, name):
    student, part = student_with_wrong(name)
    assert student, f"no fairness student hands in {name!r} (tests/conftest.py)"
    found = points_by_part(scores(graded, student))[part]
    assert found < FULL[part], f"{part} / {name} ({student}): kept all {FULL[part]} points"


@pytest.mark.parametrize("part", answers.PARTS)
def test_a_right_part_keeps_full_marks_when_every_other_part_is_wrong(graded, part):
    student = f"solo_bien_{part}"
    found = points_by_part(scores(graded, student))
    assert found[part] == FULL[part], (
        f"{part}: {found[part]} of {FULL[part]} points with every other part wrong "
        f"({', '.join(answer.name for answer in CASES[student].wrong.values())})")


def submitted_lines(student, graded):
    notebook = submitted_notebook(graded[student], student)
    return {line.strip() for cell in nbformat.read(notebook, 4).cells
            for line in cell.source.splitlines()}


def test_the_showcase_is_not_run_when_grading_and_every_other_code_cell_is(graded):
    """(`c.SandboxedExecute.skip_cells`: the showcase grades nothing and would only cost time.)"""
    student = "correcta_maestra"
    notebook = nbformat.read(autograded_notebook(graded[student], student), 4)
    counts = {cell.metadata["nbgrader"]["grade_id"]: cell.execution_count
              for cell in notebook.cells if cell.cell_type == "code"}
    run = sorted(grade_id for grade_id, count in counts.items() if count)
    expected = sorted(grade_id for grade_id in counts if not grade_id.startswith("vitrina_"))
    assert run == expected, f"cells run: {run}; expected every cell but the showcase"


def test_feedback_shows_no_hidden_test_or_grader_code_and_no_solution_it_did_not_submit(
        graded, feedback):
    for student, page in feedback.items():
        text = html.unescape(page)
        submitted = submitted_lines(student, graded)
        forbidden = {line for line in hidden_lines() | {"BEGIN HIDDEN TESTS", "calificador"}
                     | solution_lines() if not any(line in own for own in submitted)}
        leaks = sorted(line for line in forbidden if line in text)
        assert not leaks, f"feedback of {student} shows {leaks[:3]}"


def test_feedback_summarizes_each_part_with_its_tests_and_subtotal_in_spanish(feedback):
    page = text_of(feedback["beto_parcial"])
    assert "vae_olivetti: 65.0 de 100.0 puntos" in page, page[:500]
    for part, subtotal in {"data_generator": "10.0 / 10.0", "build_decoder": "0.0 / 15.0",
                           "vae_loss": "0.0 / 20.0", "face_interpolation": "15.0 / 15.0"}.items():
        assert f"{part} {subtotal}" in page, f"no row '{part} {subtotal}' in the summary"
    assert "Divide en lotes de batch_size" in page, "tests should be named by what they check"
    english = [label for label in ("Student's answer", "Test cell", "Comments:", "Score:")
               if label in feedback["beto_parcial"]]
    assert english == [], f"nbgrader's English labels left: {english}"


def test_feedback_shows_the_students_own_line_where_their_code_raised(feedback):
    page = text_of(feedback["beto_parcial"])
    assert "Su código lanzó InvalidArgumentError durante esta prueba" in page
    assert "reconstruction_loss = -tf.reduce_mean(log_normal_pdf(x, x_logit" in page, (
        "the line of the student's vae_loss that raised should be shown")
    assert "Incompatible shapes: [4,64,64,1] vs. [4,2]" in page
    assert "function_node" not in page, "TensorFlow's internal op name should be gone"


def test_feedback_and_autograded_notebooks_hold_no_path_of_the_grading_machine(graded, feedback):
    folder = graded["beto_parcial"]
    for path in [folder / "autograded", folder / "feedback"]:
        for file in path.rglob("*.*"):
            text = file.read_text(encoding="utf-8", errors="replace")
            found = [marker for marker in (str(course.ROOT), str(folder), ".venv/",
                                           "site-packages", "iopub.status.busy") if marker in text]
            assert found == [], f"{file.relative_to(folder)} holds {found}"


GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", "grades.csv")


def test_make_grade_on_a_fresh_copy_writes_every_committed_file_byte_for_byte(made_grade):
    def generated(root):
        return {pathlib.Path(path).relative_to(root): digest for path, digest in
                course.checksums(*(root / name for name in GENERATED)).items()}

    committed, regenerated = generated(course.ROOT), generated(made_grade)
    differing = sorted(str(path) for path in committed.keys() | regenerated.keys()
                       if committed.get(path) != regenerated.get(path))
    assert differing == [], f"a fresh `make grade` changes {differing}: run it and commit"


def text_of(page):
    """The visible text of an HTML page, on one line per block."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", page[page.index("<body"):]))
    return re.sub(r"\s+", " ", text)


def path_without(folder, *tools):
    """A folder of links to every program on PATH but `tools`: this machine as one without
    them (bubblewrap not installed, no apt to install it)."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(directory):
            for program in os.listdir(directory):
                target = folder / program
                if program not in tools and not target.exists():
                    target.symlink_to(os.path.join(directory, program))
    return folder


def test_make_grade_without_bubblewrap_stops_with_one_sentence_and_leaves_every_file(
        tmp_path):
    """A fresh machine without bubblewrap where it cannot be installed (no apt): `make grade`
    stops before grading anyone, says why in one sentence, and changes no committed file."""
    clone = tmp_path / "curso"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=course.ROOT, capture_output=True, text=True, check=True).stdout
    for name in files.split("\n"):
        if name and (course.ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(course.ROOT / name, clone / name)
    (clone / ".venv").symlink_to(course.ROOT / ".venv")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], cwd=clone, check=True)
    subprocess.run(git + ["add", "-A"], cwd=clone, check=True)
    subprocess.run(git + ["commit", "-qm", "curso"], cwd=clone, check=True)
    env = {**course.environment(),
           "PATH": str(path_without(tmp_path / "bin", "bwrap", "apt-get"))}
    result = subprocess.run(["make", "grade"], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode != 0
    said = [line for line in result.stderr.strip().splitlines() if not line.startswith("make")]
    assert len(said) == 1 and said[0].startswith(
        "Cannot sandbox the students' kernels: bwrap is not installed; install Debian's "
        "bubblewrap package (apt-get install bubblewrap)"), result.stderr[-2000:]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True).stdout
    assert status == "", f"make grade changed committed files:\n{status}"
