"""What a real class hands in, graded by the same real `nbgrader autograde` run."""
import nbformat
import pytest

import course
from adversarial import CASES
from conftest import FULL, fairness_submissions, points_by_part, scores

GRADED_CASES = [student for student, case in CASES.items() if not case.reported]


@pytest.mark.parametrize("student", GRADED_CASES)
def test_adversarial_submission_costs_points_only_in_the_parts_it_breaks(graded, student):
    case = CASES[student]
    found = points_by_part(scores(graded, student))
    expected = {part: 0.0 if part in case.losing_parts else FULL[part] for part in FULL}
    assert found == expected, f"{case.description}: {found}"


def test_tampering_with_comparison_helpers_earns_a_wrong_answer_nothing(graded):
    wrong = next(s for s, c in fairness_submissions().items() if c[2] == "sigmoid on the last layer")
    assert scores(graded, "adv_tamper_wrong") == scores(graded, wrong)


@pytest.mark.parametrize("student", ["adv_hang", "adv_sleep_loop"])
def test_a_function_that_never_returns_ends_its_students_grading_within_4_minutes(graded, student):
    seconds = course.grading_seconds((graded[student] / "autograde.log").read_text())
    assert seconds[student] < 240, f"{CASES[student].description}: graded in {seconds[student]} s"


def test_a_dead_kernel_is_reported_and_the_batch_goes_on(graded):
    student = "adv_kernel_dies"
    log = (graded[student] / "autograde.log").read_text()
    assert f"There was an error processing assignment 'vae_olivetti' for student '{student}'" in log
    assert "DeadKernelError" in log or "Kernel died" in log, "the log should say why"
    graded_after = sorted(s for s, folder in graded.items()
                          if folder == graded[student] and s > student)
    assert graded_after, "the dead kernel's worker should have more students after it"
    assert course.scores(graded_after[0], graded[student]), f"{graded_after[0]} was not graded"


def test_students_validate_button_passes_a_complete_notebook_in_grading_mode(tmp_path):
    notebook = tmp_path / course.NOTEBOOK
    nbformat.write(course.filled(course.answers.ALTERNATIVE), notebook)
    output = course.nbgrader("validate", str(notebook))
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]
