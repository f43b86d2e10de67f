"""What a real class hands in, graded by the same real `nbgrader autograde` run."""
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


@pytest.mark.parametrize("student", ["adv_hang", "adv_sleep_loop"])
def test_a_function_that_never_returns_ends_its_students_grading_within_4_minutes(outcomes,
                                                                                   student):
    seconds = outcomes[student].seconds
    assert seconds < 240, f"{CASES[student].description}: graded in {seconds} s"


def test_a_dead_kernel_is_graded_and_logged(graded, outcomes):
    student = "adv_kernel_dies"
    assert f"The kernel of {student} died in cell" in outcomes[student].log, (
        "the log should say who and where")
    assert "kernel died" in outcomes[student].notes, outcomes[student]
    not_graded = [other for other in graded if not scores(graded, other)]
    assert not_graded == [], f"these students were not graded: {not_graded}"
