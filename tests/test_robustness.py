"""What a real class hands in, graded by the same real `nbgrader autograde` run."""
import os

import pytest

from adversarial import CASES
from conftest import (FULL, autograded_notebook, part_of, points_by_part, scores,
                      student_with_wrong)


GRADED_CASES = [student for student, case in CASES.items() if case.graded]


@pytest.mark.parametrize("student", GRADED_CASES)
def test_adversarial_submission_costs_points_only_in_the_parts_it_breaks(graded, student):
    """A crash or a hang zeroes its own part; tampering earns a wrong answer nothing and costs
    a right one nothing; a messy notebook or a flood of output changes no grade."""
    case = CASES[student]
    found = scores(graded, student)
    if case.same_as_wrong:
        wrong, part = student_with_wrong(case.same_as_wrong)
        in_part = {cell: score for cell, score in found.items() if part_of(cell) == part}
        assert in_part == {cell: score for cell, score in scores(graded, wrong).items()
                           if part_of(cell) == part}, case.description
        assert {p: s for p, s in points_by_part(found).items() if p != part} == {
            p: s for p, s in FULL.items() if p != part}, case.description
    else:
        expected = {part: 0.0 if part in case.zeroed_parts else FULL[part] for part in FULL}
        assert points_by_part(found) == expected, f"{case.description}: {points_by_part(found)}"


def test_a_function_that_never_returns_ends_its_students_grading_within_2_minutes(outcomes):
    seconds = outcomes["adv_hang"].seconds
    assert seconds < 120, f"{CASES['adv_hang'].description}: graded in {seconds} s"


def test_a_dead_kernel_is_graded_and_logged(graded, outcomes):
    student = "adv_kernel_dies"
    assert f"The kernel of {student} died in cell" in outcomes[student].log, (
        "the log should say who and where")
    assert "kernel died" in outcomes[student].notes, outcomes[student]
    not_graded = [other for other in graded
                  if (other not in CASES or CASES[other].graded) and not scores(graded, other)]
    assert not_graded == [], f"these students were not graded: {not_graded}"


def test_a_native_crash_leaves_a_spanish_note_with_its_signal_in_its_cell(graded):
    notebook = autograded_notebook(graded["puerta_segfault"], "puerta_segfault").read_text()
    expected = "El kernel se detuvo en esta celda: un fallo nativo (señal 11, SIGSEGV)"
    assert expected in notebook, f"expected {expected!r} in the autograded notebook"


def test_a_kernel_over_the_memory_limit_leaves_a_spanish_note_in_its_cell(graded):
    if os.geteuid() != 0:
        pytest.skip("the sandbox's memory limit is a cgroup's, made as root")
    notebook = autograded_notebook(graded["adv_memoria"], "adv_memoria").read_text()
    expected = "El kernel se detuvo en esta celda: superó el límite de memoria de 4 GiB"
    assert expected in notebook, f"expected {expected!r} in the autograded notebook"


def test_a_kernel_that_dies_is_replaced_by_a_fresh_one_and_logged(outcomes):
    log = outcomes["puerta_segfault"].log
    assert "a fresh kernel grades from cell" in log and "(restart 1 of 3)" in log, (
        f"expected the restart in the log, found:\n{log[-2000:]}")


def test_a_student_whose_notebook_was_left_out_is_reported_not_graded(outcomes):
    outcome = outcomes["puerta_cuaderno_enlazado"]
    assert outcome.score is None
    assert "left out vae_olivetti.ipynb: a symbolic link" in outcome.notes, outcome.notes
    assert "NOT GRADED: no notebook left to grade" in outcome.notes, outcome.notes


def test_a_folder_of_100000_files_reaches_a_worker_without_them_with_a_note(outcomes):
    outcome = outcomes["puerta_abarrotada"]
    expected = ("left out venv: the folder holds more than 1,000 files: only its notebooks "
                "are graded")
    assert expected in outcome.notes, f"expected the note {expected!r}, found {outcome.notes}"


def test_a_notebook_that_cannot_be_read_is_not_sent_to_a_worker_and_not_graded(outcomes):
    outcome = outcomes["puerta_json_profundo"]
    expected = "NOT GRADED: the notebook cannot be read: JSON nested deeper than 64 levels"
    assert outcome.score is None and expected in outcome.notes, (
        f"expected no score and the note {expected!r}, found {outcome.score}, {outcome.notes}")


def test_a_notebook_that_cannot_be_read_has_no_row_in_the_gradebook(grading_run):
    from nbgrader.api import Gradebook, MissingEntry

    folder = grading_run["folders"]["puerta_no_json"]
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        with pytest.raises(MissingEntry):
            gradebook.find_submission("vae_olivetti", "puerta_no_json")


def test_a_notebook_nbgrader_refuses_is_reported_once_and_not_retried(outcomes):
    outcome = outcomes["atk_id_desconocido"]
    assert outcome.score is None
    assert "NOT GRADED: nbgrader refused the notebook: its nbgrader metadata is corrupted" in (
        "; ".join(outcome.notes)), outcome.notes
    assert not any("retried" in note for note in outcome.notes), (
        f"the student's own notebook is not the machine's failure: {outcome.notes}")


def test_a_flood_of_output_is_cut_in_the_notebook_with_a_spanish_note(graded):
    notebook = autograded_notebook(graded["adv_flood"], "adv_flood")
    assert notebook.stat().st_size < 3 << 20, notebook.stat().st_size
    assert "Salida recortada: la celda escribió más de 1 MB" in notebook.read_text()
