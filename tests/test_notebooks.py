"""The master notebook, the student version made from it, and what each one passes."""

import nbformat

from grading import build_source, course
from conftest import MASTER, graded_cells, hidden_lines, solution_lines

RELEASE = course.ROOT / "release" / course.ASSIGNMENT / course.NOTEBOOK


def test_master_notebook_is_built_from_the_authoring_script():
    assert build_source.NOTEBOOK.read_text(encoding="utf-8") == build_source.build(), (
        "source/ differs from authoring/vae_olivetti.py: run `make source`")


def test_every_part_has_a_solution_cell_named_after_its_function_and_graded_tests():
    solutions = [cell.metadata["nbgrader"]["grade_id"] for cell in MASTER.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")]
    assert solutions == list(course.answers.PARTS)
    for part in course.answers.PARTS:
        tests = [g for g in graded_cells() if g.startswith(f"test_{part}_")]
        assert len(tests) >= 2, f"{part} has graded test cells {tests}"
    assert sum(graded_cells().values()) == 100


def test_every_graded_test_cell_has_a_visible_part_and_a_hidden_part():
    for cell in MASTER.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "assert " in visible and "### END HIDDEN TESTS" in cell.source, cell.id


# That the master passes all its tests, hidden ones included, nbval checks: it runs the master
# notebook as nbgrader's Validate does (pytest.ini, conftest.py) and fails on any cell's error.


def test_untouched_student_version_fails_every_graded_test():
    output = course.nbgrader("validate", "--invert", f"release/{course.ASSIGNMENT}/{course.NOTEBOOK}")
    assert "Success! The notebook does not pass any tests." in output, output[-3000:]


def test_release_holds_no_solution_code_hidden_test_or_grader():
    text = RELEASE.read_text(encoding="utf-8")
    notebook = nbformat.reads(text, 4)
    sources = "\n".join(cell.source for cell in notebook.cells)
    for line in solution_lines() | hidden_lines():
        assert line not in sources, f"release/ contains {line!r}"
    for marker in ("BEGIN SOLUTION", "HIDDEN TESTS", "calificador"):
        assert marker not in text
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "release/ must not carry outputs (the seeded loss value among them)")
    assert [p.name for p in RELEASE.parent.iterdir()] == [course.NOTEBOOK]
