"""The student notebook in a real JupyterLab, opened in headless Chromium (Debian's package).

JupyterLab runs from the project's environment on 127.0.0.1 with a token: the session's one
server (conftest.instructor_lab, an instructor's, in a copy of the course), whose folder also
holds the released notebook and a completed copy (the master's solutions written into
the released notebook, as a student would), which Validate checks, and the same with its
showcase trained 5 epochs instead of 50, which runs in full. Screenshots go to
tests/out/screenshots/, or to $SCREENSHOTS_DIR (`make screenshots` writes the ones the README
shows).
"""
import os
import re
import shutil

import nbformat
import pytest

import chromium
import test_accessibility as accessibility
from grading import answers, course

pytestmark = chromium.needs_chromium
playwright = chromium.playwright()
screenshot = chromium.screenshot
BLANK, COMPLETE = "vae_olivetti.ipynb", "vae_olivetti_completo.ipynb"
QUICK = "vae_olivetti_completo_5_epocas.ipynb"
FULL_RUN_SECONDS = 600  # the showcase trains for up to a minute; slow machines get room
# The figures a full run draws, in order: the data, then the showcase.
FIGURES = ("dieciséis caras", "curva de entrenamiento", "reconstrucciones", "interpolación",
           "caras generadas", "PCA frente al VAE")


def quick_showcase(notebook):
    """`notebook` with its showcase trained 5 epochs instead of 50: the same cells and figures
    (the curves with one point), a minute sooner. The showcase's cell is locked, so Validate
    would flag the change: Validate gets the notebook as a student has it."""
    training = next(cell for cell in notebook.cells
                    if cell.metadata.get("nbgrader", {}).get("grade_id") == "vitrina_entrenamiento")
    assert "EPOCAS = 0 if EN_CALIFICACION else 50\n" in training.source
    training.source = training.source.replace("else 50\n", "else 5\n")
    return notebook


@pytest.fixture(scope="module")
def lab(instructor_lab):
    """The session's JupyterLab (conftest.instructor_lab), with the released notebook and the
    completed ones beside the course, as a student would have them."""
    root = instructor_lab.root
    shutil.copy(course.ROOT / "release" / course.ASSIGNMENT / course.NOTEBOOK, root / BLANK)
    nbformat.write(course.filled(answers.master_solutions()), root / COMPLETE)
    nbformat.write(quick_showcase(course.filled(answers.master_solutions())), root / QUICK)
    return instructor_lab


def open_notebook(browser, lab, name):
    page = browser.new_page()
    page.goto(lab.url(f"lab/tree/{name}"))
    page.locator(".jp-NotebookPanel .jp-RenderedMarkdown h1").first.wait_for(timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    return page


# Text of the rendered markdown outside code and formulas: TeX left there was not typeset.
UNRENDERED_TEX = """() => {
  const found = [];
  for (const cell of document.querySelectorAll('.jp-MarkdownCell .jp-RenderedMarkdown')) {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll('code, pre, mjx-container').forEach(node => node.remove());
    const text = copy.textContent;
    const tex = text.match(/\\$|\\\\[a-zA-Z]+/g);
    if (tex) found.push(text.slice(0, 80) + ' ... ' + tex.join(' '));
  }
  return found;
}"""


def formula_count(notebook):
    """How many $...$ and $$...$$ formulas the markdown cells hold."""
    count = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text = cell.source.replace("$$", "$")
            count += text.count("$") // 2
    return count


@pytest.fixture(scope="module")
def student_page(browser, lab):
    return open_notebook(browser, lab, BLANK)


def test_every_formula_of_the_student_notebook_is_typeset(student_page):
    release = nbformat.read(course.ROOT / "release" / course.ASSIGNMENT / course.NOTEBOOK, 4)
    expected = formula_count(release)
    formulas = student_page.locator(".jp-RenderedMarkdown mjx-container")
    student_page.wait_for_function(
        f"document.querySelectorAll('.jp-RenderedMarkdown mjx-container').length >= {expected}",
        timeout=60_000)
    assert formulas.count() == expected, (
        f"expected {expected} typeset formulas, the page shows {formulas.count()}")
    errors = student_page.locator("mjx-merror")
    assert errors.count() == 0, f"MathJax could not typeset: {errors.all_inner_texts()}"
    assert student_page.evaluate(UNRENDERED_TEX) == [], "TeX left untypeset in the markdown"


def test_student_notebook_shows_its_sections_and_the_validate_button(student_page):
    headings = student_page.locator(".jp-RenderedMarkdown h2").all_inner_texts()
    for number in range(1, 8):
        assert any(h.startswith(f"Parte {number}.") for h in headings), (
            f"no heading 'Parte {number}.' among the rendered headings {headings}")
    validate = student_page.locator(".jp-NotebookPanel-toolbar .validate-button")
    assert validate.is_visible(), "nbgrader's Validate button is not in the notebook toolbar"
    assert validate.inner_text().strip() == "Validate"
    student_page.locator(".jp-MarkdownCell", has_text="Qué cambia en un autoencoder variacional").first \
        .scroll_into_view_if_needed()
    screenshot(student_page, "cuaderno_estudiante.png")


def run_all_cells(page, attempts=3):
    """Run > Run All Cells, until a cell shows [*]: a JupyterLab still settling (the first
    Chromium start on a machine) has once let the menu's click go by without a run."""
    for attempt in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.locator(".jp-InputPrompt", has_text="[*]").first.wait_for(timeout=30_000)
            return
        except playwright.TimeoutError:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")  # a menu left open


@pytest.fixture(scope="module")
def completed_page(browser, lab):
    """The completed notebook after Run > Run All Cells, once every cell has run; its showcase
    trained 5 epochs, unless the README's screenshots are being made."""
    page = open_notebook(browser, lab, COMPLETE if "SCREENSHOTS_DIR" in os.environ else QUICK)
    run_all_cells(page)
    page.wait_for_function(
        "document.querySelectorAll('.jp-CodeCell .jp-InputPrompt').length > 0 && "
        "[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
        ".every(p => /\\[\\d+\\]/.test(p.textContent))",
        timeout=FULL_RUN_SECONDS * 1000, polling=1000)
    return page


def test_running_the_completed_notebook_raises_no_error(completed_page):
    errors = completed_page.locator(".jp-OutputArea-output[data-mime-type="
                                    "'application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error output: {errors.all_inner_texts()[:3]}"


def test_running_the_completed_notebook_shows_every_figure(completed_page):
    figures = completed_page.locator(".jp-OutputArea-output img")
    assert figures.count() == len(FIGURES), (
        f"expected {len(FIGURES)} figures ({', '.join(FIGURES)}), the page shows {figures.count()}")
    completed_page.locator(".jp-MarkdownCell", has_text="De una persona a otra").first \
        .scroll_into_view_if_needed()
    screenshot(completed_page, "vitrina.png")


# The notebook's own content, as JupyterLab renders it: its markdown and its outputs (JupyterLab's
# chrome is not the course's).
NOTEBOOK_CONTENT = {"include": [".jp-RenderedMarkdown", ".jp-OutputArea-output"]}


def test_the_notebooks_rendered_content_has_no_serious_or_critical_accessibility_violation(
        completed_page):
    """axe-core (tests/test_accessibility.py) on the completed notebook after Run All Cells:
    its headings, tables, formulas and figures."""
    accessibility.needs_axe()
    found = accessibility.blocking("notebook in JupyterLab",
                                   accessibility.check(completed_page, NOTEBOOK_CONTENT))
    assert found == [], ("expected no serious or critical axe-core violation in the notebook's "
                         "rendered markdown and outputs; found:\n  " + "\n  ".join(found))


def test_every_figure_of_the_completed_notebook_is_described_in_spanish(completed_page):
    alts = completed_page.locator(".jp-OutputArea-output img").evaluate_all(
        "images => images.map(i => i.getAttribute('alt') || '')")
    assert len(alts) == len(FIGURES) and all(len(alt) > 40 for alt in alts), (
        f"expected each of the {len(FIGURES)} figures ({', '.join(FIGURES)}) with a description "
        f"of a sentence or more in its alt text; found {alts}")
    assert not any(accessibility.PLACEHOLDER in alt for alt in alts), alts


def test_validate_button_passes_the_completed_notebook(browser, lab):
    page = open_notebook(browser, lab, COMPLETE)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    assert "Success! Your notebook passes all the tests." in dialog.inner_text(), (
        f"Validate answered: {dialog.inner_text()[:500]}")


def test_feedback_page_opens_on_the_summary_table_by_part(browser):
    """The page a student gets back (beto_parcial's, committed by `make grade`)."""
    page = browser.new_page()
    page.goto((course.ROOT / "feedback" / "beto_parcial" / course.ASSIGNMENT /
               course.NOTEBOOK.replace(".ipynb", ".html")).as_uri())
    table = page.locator("table.resumen")
    table.wait_for(timeout=30_000)
    text = table.inner_text()
    assert re.search(r"build_decoder\s+0\.0 / 15\.0", text), (
        f"expected the row 'build_decoder 0.0 / 15.0' in the summary; found {text[:500]!r}")
    screenshot(page, "retroalimentacion.png")


def test_a_feedback_page_runs_no_script_of_the_student_and_still_shows_their_outputs(
        browser, graded, feedback):
    """The student of tests/adversarial.py (puerta_guiones) put a <script>, an <img onerror>
    and a javascript: link in a markdown cell, and the same and a Javascript output in their
    outputs: opened in Chromium, the page ran none of them, showed no dialog, and still shows
    the student's text, HTML and figure."""
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto((graded["puerta_guiones"] / "feedback" / "puerta_guiones" / course.ASSIGNMENT /
               course.NOTEBOOK.replace(".ipynb", ".html")).as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(1000)  # an onerror fires once its image has failed to load
    left = chromium.scripts_left(page)
    figure = page.evaluate("[...document.images].filter(i => i.src.startsWith('data:image/png')"
                           " && i.naturalWidth > 0).length")
    text = page.inner_text("body")
    screenshot(page, "retroalimentacion_sin_guiones.png")
    page.close()
    assert left["ran"] is None, f"a script of the student ran: window.__alumno = {left['ran']!r}"
    assert dialogs == [] and left["handlers"] == 0 and left["links"] == 0, (dialogs, left)
    assert figure >= 1, "the student's figure does not show"
    assert "texto del alumno" in text and "negrita del alumno" in text


def test_the_similarity_report_shows_the_class_and_the_shared_code_side_by_side(browser,
                                                                                tmp_path):
    """`make similarity`'s page for the class with the planted copy (tests/test_similarity.py)."""
    from test_similarity import planted_class

    folder = planted_class(tmp_path / "clase")
    course.similarity_report(folder, tmp_path / "reporte")
    page = browser.new_page()
    page.goto((tmp_path / "reporte" / "similitud.html").as_uri())
    page.locator("mark").first.wait_for(timeout=30_000)
    assert page.evaluate("document.images[0].naturalWidth") > 0, "the heat map did not load"
    assert "ana_completa / copion" in page.locator("h2").first.inner_text()
    assert page.evaluate("document.scripts.length") == 0
    screenshot(page, "similitud.png")
