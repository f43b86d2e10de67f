"""What a real class hands in, graded by the same real `nbgrader autograde` run."""
import nbformat
import pytest

import course
from adversarial import CASES
from conftest import FULL, fairness_submissions, points_by_part, scores

@pytest.mark.parametrize("student", CASES)
def test_adversarial_submission_costs_points_only_in_the_parts_it_breaks(graded, student):
    """A crash or a hang zeroes its own part; tampering earns a wrong answer nothing and costs
    a right one nothing; a messy notebook or a flood of output changes no grade."""
    case = CASES[student]
    found = scores(graded, student)
    if case.same_as_wrong:
        wrong = next(s for s, c in fairness_submissions().items() if c[2] == case.same_as_wrong)
        assert found == scores(graded, wrong), case.description
    else:
        expected = {part: 0.0 if part in case.zeroed_parts else FULL[part] for part in FULL}
        assert points_by_part(found) == expected, f"{case.description}: {points_by_part(found)}"


def grading_logs(folder):
    """The autograde logs of the course's workers (course.grade_in_parallel)."""
    return [log.read_text() for log in sorted(folder.glob("autograde.worker*.log"))]


@pytest.mark.parametrize("student", ["adv_hang", "adv_sleep_loop"])
def test_a_function_that_never_returns_ends_its_students_grading_within_4_minutes(graded, student):
    seconds = {}
    for log in grading_logs(graded[student]):
        seconds.update(course.grading_seconds(log))
    assert seconds[student] < 240, f"{CASES[student].description}: graded in {seconds[student]} s"


def test_a_dead_kernel_is_graded_and_logged(graded):
    student = "adv_kernel_dies"
    log = "\n".join(grading_logs(graded[student]))
    assert f"The kernel of {student} died in cell" in log, "the log should say who and where"
    not_graded = [other for other in graded if not scores(graded, other)]
    assert not_graded == [], f"these students were not graded: {not_graded}"


def test_students_validate_button_passes_a_complete_notebook_in_grading_mode(tmp_path):
    notebook = tmp_path / course.NOTEBOOK
    nbformat.write(course.filled(course.answers.ALTERNATIVE), notebook)
    output = course.nbgrader("validate", str(notebook))
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]
