"""What a student learns before handing in: `nbgrader validate` (the Validate button) on the
release filled with each answer of tools/answers.py. Every correct answer passes; every wrong
one is caught by a visible test, except those listed in NOT_CAUGHT_VISIBLY with the reason.
Writes the table (answer, caught by the visible tests) to tests/out/visible_tests.md."""
import concurrent.futures
import pathlib

import nbclient
import nbformat
import pytest

import answers
import course

MASTER = answers.master_solutions()
SUCCESS = "Success! Your notebook passes all the tests."
# Wrong answers no visible test can catch without giving the answer away, and why.
NOT_CAUGHT_VISIBLY = {
    "no seeds": "the seeds only change which faces land in which batch: a visible check would "
                "have to show the seeded batches",
}
OUT = course.ROOT / "tests" / "out" / "visible_tests.md"


def submissions():
    """{(kind, part, name): answers by part}."""
    found = {("correct", "all", "master solutions"): MASTER,
             ("correct", "all", "alternative solutions"): answers.ALTERNATIVE}
    for wrong in answers.WRONG:
        found[("wrong", wrong.part, wrong.name)] = {**MASTER, wrong.part: wrong.code(MASTER)}
    return found


def validate(answers_by_part, folder):
    notebook = folder / course.NOTEBOOK
    folder.mkdir(parents=True)
    nbformat.write(course.filled(answers_by_part), notebook)
    return course.nbgrader("validate", str(notebook), check=False)


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """{(kind, part, name): validate's output}, two answers at a time."""
    folder = tmp_path_factory.mktemp("validate")
    cases = submissions()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outputs = pool.map(lambda item: validate(item[1], folder / f"answer{item[0]}"),
                           enumerate(cases.values()))
        found = dict(zip(cases, outputs))
    rows = ["| answer | part | caught by the visible tests |", "|---|---|---|"]
    for (kind, part, name), output in found.items():
        caught = "correct: passes" if kind == "correct" else (
            "no" if SUCCESS in output else "yes")
        rows.append(f"| {name} | {part} | {caught} |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(rows) + "\n")
    return found


def test_validate_passes_every_correct_answer(validated):
    failing = {name: output[-1500:] for (kind, _, name), output in validated.items()
               if kind == "correct" and SUCCESS not in output}
    assert failing == {}, f"correct answers that Validate rejects: {failing}"


def test_validate_catches_every_wrong_answer_a_visible_test_can_catch(validated):
    missed = sorted(name for (kind, _, name), output in validated.items()
                    if kind == "wrong" and SUCCESS in output)
    assert missed == sorted(NOT_CAUGHT_VISIBLY), (
        f"wrong answers that pass every visible test: {missed} (documented as not catchable: "
        f"{sorted(NOT_CAUGHT_VISIBLY)})")


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
