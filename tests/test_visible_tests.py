"""What a student learns before handing in: `nbgrader validate` (the Validate button) on the
release filled with each answer of grading/answers.py. Every correct answer passes; every wrong
one fails a visible test of its own part, except those listed in NOT_CAUGHT_VISIBLY with the
reason. The wrong answers are handed in three rounds (tests/conftest.py: wrong_rounds), a
wrong answer in every part at once: the visible tests of a part use toy models, never the
student's other functions. Writes the table (answer, its part's visible tests that failed) to
tests/out/visible_tests.md."""
import concurrent.futures

import nbclient
import nbformat
import pytest

from grading import answers, course
from conftest import part_of, wrong_rounds

MASTER = answers.master_solutions()
SUCCESS = "Success! Your notebook passes all the tests."
# Wrong answers no visible test can catch without giving the answer away, and why.
NOT_CAUGHT_VISIBLY = {
    "no seeds": "the seeds only change which faces land in which batch: a visible check would "
                "have to show the seeded batches",
}
OUT = course.ROOT / "tests" / "out" / "visible_tests.md"
RELEASE = nbformat.read(course.ROOT / "release" / course.ASSIGNMENT / course.NOTEBOOK, 4)
# The start of each visible test's first line (a comment saying what it checks), which
# Validate prints, cut at its width, with the source of every test cell that failed.
FIRST_LINES = {cell.metadata["nbgrader"]["grade_id"]: cell.source.splitlines()[0][:60]
               for cell in RELEASE.cells if cell.metadata.get("nbgrader", {}).get("grade")}
assert len(set(FIRST_LINES.values())) == len(FIRST_LINES), "two test cells start alike"


def submissions():
    """{name: answers by part}: the two correct answers and the rounds of wrong ones."""
    found = {"master solutions": MASTER, "alternative solutions": answers.ALTERNATIVE}
    for k, wrong in enumerate(wrong_rounds(), 1):
        found[f"round {k}"] = {**MASTER, **{part: answer.code(MASTER)
                                            for part, answer in wrong.items()}}
    return found


def validate(answers_by_part, folder):
    """Validate's output, and the grade_ids of the visible tests it says failed."""
    notebook = folder / course.NOTEBOOK
    folder.mkdir(parents=True)
    nbformat.write(course.filled(answers_by_part), notebook)
    output = course.nbgrader("validate", str(notebook), check=False)
    return output, {grade_id for grade_id, line in FIRST_LINES.items() if line in output}


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """{name: (validate's output, failed test cells)}, two notebooks at a time."""
    folder = tmp_path_factory.mktemp("validate")
    cases = submissions()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        found = dict(zip(cases, pool.map(lambda item: validate(item[1], folder / f"n{item[0]}"),
                                         enumerate(cases.values()))))
    rows = ["| answer | part | its part's visible tests that failed |", "|---|---|---|"]
    for name, (part, cells) in caught_by_their_part(found).items():
        rows.append(f"| {name} | {part} | {', '.join(cells) or 'none'} |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(rows) + "\n")
    return found


@pytest.mark.parametrize("name", ["master solutions", "alternative solutions"])
def test_validate_passes_a_correct_answer(validated, name):
    output, _ = validated[name]
    assert SUCCESS in output, f"Validate rejects the {name}: {output[-1500:]}"


def caught_by_their_part(validated):
    """{wrong answer: (its part, the visible tests of that part that failed)}."""
    found = {}
    for k, wrong in enumerate(wrong_rounds(), 1):
        failed = validated[f"round {k}"][1]
        found.update({answer.name: (part, sorted(cell for cell in failed
                                                 if part_of(cell) == part))
                      for part, answer in wrong.items()})
    return found


def test_validate_catches_every_wrong_answer_a_visible_test_can_catch(validated):
    missed = sorted(name for name, (_, cells) in caught_by_their_part(validated).items()
                    if not cells)
    assert missed == sorted(NOT_CAUGHT_VISIBLY), (
        f"wrong answers that pass every visible test of their part: {missed} (documented as "
        f"not catchable: {sorted(NOT_CAUGHT_VISIBLY)})")


def seeded_cell_verdicts(answers_by_part):
    """The verdicts ("bien" / "NO coincide") the seeded-loss cell prints for these answers, one
    per term: the release filled with them, run up to that cell, graded test cells left out."""
    notebook = course.filled(answers_by_part)
    cells = []
    for cell in notebook.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if not nbgrader.get("grade"):
            cells.append(cell)
        if nbgrader.get("grade_id") == "perdida_con_semilla":
            break
    notebook.cells = cells
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute(
        env=course.environment())
    printed = "".join(output.get("text", "") for output in cells[-1].outputs)
    return {line.split(":")[0].strip(): line.split(")")[-1].strip()
            for line in printed.splitlines()}


SEEDED_CASES = {
    "alternative solution (closed-form KL)": {"reconstrucción": "bien", "KL": "bien"},
    "no KL term": {"reconstrucción": "bien", "KL": "NO coincide"},
    "sum over the batch instead of mean": {"reconstrucción": "NO coincide", "KL": "NO coincide"},
}


@pytest.fixture(scope="module")
def seeded_verdicts():
    """{vae_loss answer: the seeded cell's verdicts}, the answers run side by side."""
    def verdicts(name):
        code = (answers.ALTERNATIVE["vae_loss"] if name.startswith("alternative")
                else answers.wrong(name).code(MASTER))
        return seeded_cell_verdicts({**MASTER, "vae_loss": code})

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(SEEDED_CASES)) as pool:
        return dict(zip(SEEDED_CASES, pool.map(verdicts, SEEDED_CASES)))


@pytest.mark.parametrize("vae_loss", SEEDED_CASES)
def test_seeded_loss_cell_tells_each_term_of_a_correct_loss_from_a_wrong_one(
        seeded_verdicts, vae_loss):
    expected, found = SEEDED_CASES[vae_loss], seeded_verdicts[vae_loss]
    assert found == expected, f"{vae_loss}: the seeded cell said {found}, expected {expected}"
