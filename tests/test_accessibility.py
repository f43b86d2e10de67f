"""The pages the course makes meet WCAG 2.1 AA as axe-core checks it (README, Accessibility):
no serious or critical violation on each demo student's feedback page and on the similarity
report (whole pages); the notebook's rendered content in JupyterLab is checked in
tests/test_browser.py, on the page its tests have already run. Moderate and minor violations
are printed in each test's output (pytest -rP shows them).

axe-core comes from the npm registry (`make setup` installs it into .venv/axe); without it
these checks skip with one line. The pages run in the session's one Chromium (conftest's
`browser`); the three feedback pages are checked at once, each in its own tab.
"""
import collections
import pathlib
import re

import pytest

import chromium
from grading import course

pytestmark = chromium.needs_chromium
AXE = course.ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
STUDENTS = sorted(course.demo_submissions())
PLACEHOLDER = "No description has been provided for this image"


def needs_axe():
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE.relative_to(course.ROOT)}; `make setup` "
                    "installs it where npm exists)")


def start_axe(page, context=None):
    """Starts axe-core on `page` (the whole page, or the `context` axe takes: a selector, or
    {include: [...]}) without waiting; axe_violations collects its answer, so that several
    pages are checked at once."""
    page.add_script_tag(path=str(AXE))
    page.evaluate("ctx => { window.__axe = axe.run(ctx || document, "
                  "{resultTypes: ['violations']}); }", context)


def axe_violations(page):
    """What the axe-core run started by start_axe found: a list of {impact, id, help, nodes}."""
    return page.evaluate("() => window.__axe.then(result => result.violations.map(v => ("
                         "{impact: v.impact, id: v.id, help: v.help, "
                         "nodes: v.nodes.map(n => n.target.join(' '))})))")


def check(page, context=None):
    start_axe(page, context)
    return axe_violations(page)


def listing(violations):
    """One line per violation: impact, rule, how many elements, the first of them."""
    return [f"{v['impact']} {v['id']} ({len(v['nodes'])}): {v['help']}; e.g. {v['nodes'][0]}"
            for v in violations]


def blocking(where, violations):
    """The serious and critical violations, as lines; prints the moderate and minor ones."""
    others = [v for v in violations if v["impact"] not in BLOCKING]
    if others:
        print(f"{where}: moderate and minor axe-core violations:\n  "
              + "\n  ".join(listing(others)))
    return listing([v for v in violations if v["impact"] in BLOCKING])


def feedback_page(student):
    return (course.ROOT / "feedback" / student / course.ASSIGNMENT /
            course.NOTEBOOK.replace(".ipynb", ".html"))


@pytest.fixture(scope="module")
def feedback_violations(browser):
    """{student: axe-core's violations} of each demo student's committed feedback page."""
    needs_axe()
    pages = {}
    for student in STUDENTS:
        pages[student] = browser.new_page()
        pages[student].goto(feedback_page(student).as_uri())
        start_axe(pages[student])
    found = {student: axe_violations(page) for student, page in pages.items()}
    for page in pages.values():
        page.close()
    return found


@pytest.mark.parametrize("student", STUDENTS)
def test_the_feedback_page_has_no_serious_or_critical_accessibility_violation(
        feedback_violations, student):
    found = blocking(f"feedback of {student}", feedback_violations[student])
    assert found == [], (f"expected no serious or critical axe-core violation on {student}'s "
                         "feedback page; found:\n  " + "\n  ".join(found))


def summary_rows(student):
    """(row class, text of its Resultado cell, or None) of each test's row of the summary table
    (a row whose link leads to a test cell)."""
    from bs4 import BeautifulSoup

    page = BeautifulSoup(feedback_page(student).read_text(encoding="utf-8"), "html.parser")
    rows = [row for row in page.select("table.resumen tbody tr")
            if row.select_one("a[href^='#test_']")]
    return [(row.get("class", [""])[0], row.find("td", class_="resultado") and
             row.find("td", class_="resultado").get_text(" ", strip=True)) for row in rows]


def test_each_test_row_of_the_feedback_says_passed_or_failed_in_words_not_only_in_color():
    """beto_parcial has tests passed and failed: a green row says «superada», a red one «no
    superada» (or «superada en parte»), beside an icon screen readers skip."""
    words = collections.Counter()
    for color, said in summary_rows("beto_parcial"):
        expected = ("✔ superada",) if color == "success" else ("✘ no superada",
                                                                "◐ superada en parte")
        assert said in expected, (f"expected a {color} row to say one of {expected}; "
                                  f"it says {said!r}")
        words[said] += 1
    assert words["✔ superada"] > 0 and words["✘ no superada"] > 0, (
        f"expected beto_parcial's summary to hold passed and failed rows; found {dict(words)}")


def notebook_figure(description):
    """The output the notebook's own figure helpers (cell figura_datos: mostrar_caras, through
    mostrar_figura) make of a small grid of faces described by `description`, run here with
    matplotlib's Agg and IPython's display replaced by a recorder."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat
    import numpy as np

    from grading import build_source

    master = nbformat.reads(build_source.build(), 4)
    cell = next(c for c in master.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "figura_datos")
    shown = []
    names = {"np": np, "plt": plt, "EN_CALIFICACION": False}
    exec(cell.source.split("\n\nmostrar_caras(")[0], names)  # the helpers, not the data's figure
    names["display"] = lambda data, metadata, raw: shown.append((data, metadata))
    names["mostrar_caras"](np.zeros((2, 64, 64)), ["a", "b"], "Dos caras",
                           descripcion=description)
    assert len(shown) == 1, f"expected mostrar_caras to show one figure; it showed {len(shown)}"
    return nbformat.v4.new_output("display_data", data=shown[0][0], metadata=shown[0][1])


def test_a_figure_of_the_notebook_carries_its_spanish_description_to_the_feedback_page():
    """What a figure says in words reaches the image/png output's alt metadata (what nbconvert
    and other front ends read), its HTML version (what JupyterLab shows) and the feedback
    page's <img alt>, instead of nbconvert's placeholder."""
    import nbformat
    import nbgrader
    from traitlets.config.loader import PyFileConfigLoader

    from grading.html_pages import FeedbackExporter

    description = "Dos caras negras, una junto a la otra"
    output = notebook_figure(description)
    assert output.metadata.get("image/png", {}).get("alt") == description, (
        f"expected the image/png output's alt metadata {description!r}; found {output.metadata}")
    assert f'alt="{description}"' in output.data.get("text/html", ""), (
        f"expected the HTML output to say alt=\"{description}\"; found "
        f"{output.data.get('text/html', '')[-200:]!r}")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.ROOT)).load_config()
    config.HTMLExporter.extra_template_paths.append(str(  # bootstrap.min.css, as nbgrader adds it
        pathlib.Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" /
        "static" / "node_modules" / "bootstrap" / "dist" / "css"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("mostrar_caras(...)",
                                                                         outputs=[output])])
    page, _ = FeedbackExporter(config=config).from_notebook_node(notebook, resources={
        "nbgrader": {"notebook": "vae_olivetti", "score": 0, "max_score": 0, "late_penalty": 0},
        "resumen": [], "nombres_de_pruebas": {}})
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', page)
    assert alts == [description], (
        f"expected the feedback page's one figure described as {description!r}; found {alts}")
    assert PLACEHOLDER not in page, "expected no nbconvert placeholder alt text on the page"


@pytest.fixture(scope="module")
def similarity_page(browser, tmp_path_factory):
    """`make similarity`'s page for the class with the planted copy (tests/test_similarity.py)."""
    from test_similarity import planted_class

    needs_axe()
    folder = tmp_path_factory.mktemp("similitud_accesible")
    course.similarity_report(planted_class(folder / "clase"), folder / "reporte")
    page = browser.new_page()
    page.goto((folder / "reporte" / "similitud.html").as_uri())
    page.locator("img").wait_for(timeout=30_000)
    yield page
    page.close()


def test_the_similarity_report_has_no_serious_or_critical_accessibility_violation(
        similarity_page):
    found = blocking("similarity report", check(similarity_page))
    assert found == [], ("expected no serious or critical axe-core violation on the similarity "
                         "report; found:\n  " + "\n  ".join(found))


def test_the_similarity_heat_map_has_a_caption_and_the_table_of_pairs_as_its_description(
        similarity_page):
    described = similarity_page.evaluate("""() => {
      const img = document.querySelector('figure img');
      return {caption: document.querySelector('figure figcaption')?.textContent.trim() || '',
              alt: img?.alt || '',
              describedby: document.getElementById(img?.getAttribute('aria-describedby'))
                             ?.tagName || null};
    }""")
    assert described["caption"] and described["alt"], (
        f"expected the heat map in a <figure> with a caption and an alt text; found {described}")
    assert described["describedby"] == "TABLE", (
        "expected the heat map described by the table of pairs (aria-describedby); found "
        f"{described['describedby']}")
