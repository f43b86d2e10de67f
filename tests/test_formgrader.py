"""The formgrader, as an instructor uses it: in Chromium, in the session's JupyterLab started in
a copy of the course graded by `make grade` (conftest.instructor_lab), with the course's
nbgrader_config.py.

The course loop from the formgrader's buttons: generate, release; a student (`puerta_guiones`,
correct answers, with scripts in its markdown and outputs: tests/adversarial.py) fetches and
submits through the exchange from the command line, as its own user name; collect, autograde
(the sandbox, as in every grading), generate and release feedback; the student fetches it.
Then the review page of every student, a name and an id that carry scripts, and the manual
review round trip: a comment and extra credit on one part of `beto_parcial`, which reach the
gradebook, the feedback page, grades.csv and the LMS file, and survive a new autograde.
"""
import csv
import html
import subprocess
import sys
import time

import nbformat
import pytest

import adversarial
import chromium
from conftest import autograded_notebook, hidden_lines
from grading import course

pytestmark = chromium.needs_chromium

STUDENT = "puerta_guiones"  # hands in through the exchange (scripts in its notebook)
REVIEWED = "beto_parcial"  # reviewed by hand: a comment and extra credit on build_decoder
COMMENT = "La última capa debe partir de la **cuarta** convolución transpuesta."
EXTRA_CREDIT = 2
EXTRA_CREDIT_CELL = "test_build_decoder_capas"
# A student's names and another student's id, as an LMS roster or a folder name could bring
# them: each sets window.__alumno if it ever runs.
NAME_SCRIPT = "<img src=x onerror=\"window.__alumno='nombre'\">"
LAST_NAME_SCRIPT = "<script>window.__alumno='apellido'</script>"
ID_SCRIPT = "<img src=x onerror=window.__alumno='id'>"
BUTTON_SECONDS = 300  # autograde runs a whole notebook in the sandbox; slow machines get room


def as_student(lab, folder, *args):
    """One nbgrader command of the student STUDENT, run in their own folder with the course's
    exchange, as STUDENT (nbgrader's --student: the tests run as one Unix user;
    tests/test_hub.py has students of their own)."""
    env = {**course.environment(), "JUPYTER_CONFIG_DIR": str(lab.root / ".jupyter")}
    env.pop("NBGRADER_EXECUTION", None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--course=vae-olivetti",
                           f"--student={STUDENT}"],
                          cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"nbgrader {args[0]} failed for {STUDENT}:\n{done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def open_formgrader(browser, lab, path):
    page = browser.new_page()
    page.goto(lab.url(f"formgrader/{path}"))
    return page


def click_button(page, button, seconds=BUTTON_SECONDS):
    """Clicks a formgrader button (a Locator) and waits for the dialog it opens; returns
    (succeeded, what the dialog said, seconds)."""
    started = time.monotonic()
    button.click()
    dialog = page.locator("#success-modal, #error-modal")
    dialog.wait_for(timeout=seconds * 1000)
    said, succeeded = dialog.inner_text(), dialog.get_attribute("id") == "success-modal"
    took = time.monotonic() - started
    dialog.locator(".modal-footer button").click()
    dialog.wait_for(state="detached")
    return succeeded, said, took


def row_of(page, column, text):
    """The row of a formgrader table whose cell in `column` says `text`."""
    row = page.locator("#main-table tr").filter(
        has=page.locator(f"td.{column}", has_text=text))
    try:
        row.wait_for(timeout=30_000)
    except chromium.playwright().TimeoutError:
        raise AssertionError(f"no row with {text!r} in the column {column} of {page.url}; "
                             f"the page shows:\n{page.inner_text('body')[-2000:]}") from None
    return row


def wait_for_table(page):
    """Waits until the formgrader's table has loaded its rows from the gradebook."""
    page.wait_for_function("document.querySelector('#main-table') && "
                           "!document.querySelector('#main-table').innerText.includes('Loading')",
                           timeout=30_000)


def assignment_button(page, column):
    """The button of the assignment's row in Manage Assignments, in `column`."""
    return row_of(page, "name", course.ASSIGNMENT).locator(f"td.{column} a")


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("puerta_guiones_home")


@pytest.fixture(scope="module")
def course_loop(browser, instructor_lab, student_folder):
    """The course loop through the formgrader's buttons; {step: (succeeded, said, seconds)}."""
    lab, steps = instructor_lab, {}
    page = open_formgrader(browser, lab, "manage_assignments")
    steps["generate"] = click_button(page, assignment_button(page, "assign"))
    steps["release"] = click_button(page, assignment_button(page, "release"))
    as_student(lab, student_folder, "fetch_assignment", course.ASSIGNMENT)
    fetched = student_folder / course.ASSIGNMENT / course.NOTEBOOK
    nbformat.write(adversarial.CASES[STUDENT].notebook(), fetched)
    as_student(lab, student_folder, "submit", course.ASSIGNMENT)
    page.reload()
    steps["collect"] = click_button(page, assignment_button(page, "collect"))
    page.close()
    page = open_formgrader(browser, lab, f"manage_submissions/{course.ASSIGNMENT}")
    steps["autograde"] = click_button(
        page, row_of(page, "student-id", STUDENT).locator("td.autograde a"))
    page.close()
    return steps


def test_generate_release_and_collect_buttons_work_with_the_course_configuration(course_loop):
    for step in ("generate", "release", "collect"):
        succeeded, said, _ = course_loop[step]
        assert succeeded, f"the formgrader's {step} button answered an error: {said[-1500:]}"


def test_the_autograde_button_grades_a_collected_submission_in_the_sandbox(course_loop,
                                                                           instructor_lab):
    succeeded, said, seconds = course_loop["autograde"]
    assert succeeded, f"autograde answered an error after {seconds:.0f} s: {said[-1500:]}"
    got = sum(course.scores(STUDENT, instructor_lab.root).values())
    assert got == 100, f"{STUDENT} handed in correct answers: expected 100 points, got {got}"


def test_the_assignment_list_shows_the_released_assignment_and_every_submission(
        browser, instructor_lab, course_loop):
    page = open_formgrader(browser, instructor_lab, "manage_assignments")
    row = row_of(page, "name", course.ASSIGNMENT)
    status, submissions = row.locator("td.status").inner_text(), row.locator(
        "td.num-submissions").inner_text()
    chromium.screenshot(page, "formgrader_tareas.png")
    page.close()
    assert status.strip() == "released", f"expected the status 'released', found {status!r}"
    assert submissions.strip() == "4", (
        f"expected 4 submissions (the 3 demo students and {STUDENT}), found {submissions!r}")


def submission_id(lab, student):
    with course.gradebook(lab.root) as grades:
        return grades.find_submission_notebook(course.NOTEBOOK[:-6], course.ASSIGNMENT,
                                               student).id


def open_review_page(browser, lab, student, dialogs=None):
    page = browser.new_page()
    if dialogs is not None:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(lab.url(f"formgrader/submissions/{submission_id(lab, student)}/"))
    page.locator("#notebook-container .nbgrader_cell").first.wait_for(timeout=60_000)
    # The formgrader's script fills each score's placeholder from the gradebook.
    page.wait_for_function("[...document.querySelectorAll('input.score')]"
                           ".every(i => i.placeholder !== '')", timeout=30_000)
    return page


@pytest.mark.parametrize("student", sorted(course.demo_submissions()))
def test_the_review_page_shows_the_students_notebook_and_the_score_of_each_test(
        browser, instructor_lab, student):
    page = open_review_page(browser, instructor_lab, student)
    shown = dict(page.evaluate("[...document.querySelectorAll('input.score')]"
                               ".map(i => [i.id, Number(i.placeholder)])"))
    answers = page.locator(".nbgrader_cell .nbgrader-label", has_text="Student's answer").count()
    outputs = page.locator("#notebook-container .output_area").count()
    if student == REVIEWED:
        page.locator("#build_decoder-comment").scroll_into_view_if_needed()
        chromium.screenshot(page, "formgrader_revision.png")
    page.close()
    expected = course.scores(student, instructor_lab.root)
    assert shown == pytest.approx(expected), (
        f"{student}'s review page shows the scores {shown}; the gradebook holds {expected}")
    assert answers == 7, f"expected the student's 7 answers on the page, found {answers}"
    graded = nbformat.read(autograded_notebook(instructor_lab.root, student), 4)
    expected_outputs = sum(len(cell.get("outputs", [])) for cell in graded.cells)
    assert outputs == expected_outputs, (
        f"expected the {expected_outputs} outputs of {student}'s autograded notebook on the "
        f"page (its errors, what it printed), found {outputs}")


def test_no_script_of_the_student_runs_in_the_review_page(browser, instructor_lab, course_loop):
    dialogs = []
    page = open_review_page(browser, instructor_lab, STUDENT, dialogs)
    page.wait_for_timeout(1000)  # an onerror fires once its image has failed to load
    left = chromium.scripts_left(page, "#notebook-container")
    figures = page.evaluate("[...document.querySelectorAll('#notebook-container img')].filter("
                            "i => i.src.startsWith('data:image/png') && i.naturalWidth > 0).length")
    text = page.inner_text("#notebook-container")
    page.close()
    assert left["ran"] is None, f"a script of the student ran: window.__alumno = {left['ran']!r}"
    assert dialogs == [] and left["handlers"] == 0 and left["links"] == 0, (dialogs, left)
    assert figures >= 1, "the student's figure does not show"
    assert "texto del alumno" in text and "negrita del alumno" in text and "Mis notas" in text


@pytest.mark.parametrize("path, rows", [
    ("manage_students", 4), (f"gradebook/{course.ASSIGNMENT}/{course.ASSIGNMENT}", 4)])
def test_the_students_and_gradebook_pages_list_the_whole_class(browser, instructor_lab,
                                                                course_loop, path, rows):
    page = open_formgrader(browser, instructor_lab, path)
    wait_for_table(page)
    found = page.locator("#main-table tr").count()
    text = page.inner_text("#main-table")
    page.close()
    assert found == rows, f"expected {rows} students on {path}, found {found} rows:\n{text}"
    if path == "manage_students":
        for student in (*course.demo_submissions(), STUDENT):
            assert student in text, f"{student} is not on the students page:\n{text}"


@pytest.fixture(scope="module")
def names_with_scripts(instructor_lab, course_loop):
    """STUDENT's names, and one more student's id, carry scripts (nbgrader db student add)."""
    course.nbgrader("db", "student", "add", STUDENT, f"--first-name={NAME_SCRIPT}",
                    f"--last-name={LAST_NAME_SCRIPT}", course=instructor_lab.root)
    course.nbgrader("db", "student", "add", ID_SCRIPT, course=instructor_lab.root)


@pytest.mark.parametrize("path", [
    "manage_students", f"manage_students/{STUDENT}", "gradebook",
    f"gradebook/{course.ASSIGNMENT}", f"gradebook/{course.ASSIGNMENT}/{course.ASSIGNMENT}",
    f"manage_submissions/{course.ASSIGNMENT}", "review page"])
def test_no_students_name_or_id_runs_a_script_in_a_formgrader_page(
        browser, instructor_lab, names_with_scripts, path):
    dialogs = []
    if path == "review page":
        page = open_review_page(browser, instructor_lab, STUDENT, dialogs)
    else:
        page = browser.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(instructor_lab.url(f"formgrader/{path}"))
        wait_for_table(page)
    page.wait_for_timeout(1000)
    ran, text = page.evaluate("window.__alumno === undefined ? null : window.__alumno"), \
        page.inner_text("body")
    page.close()
    assert ran is None and dialogs == [], f"a name or id ran as a script: {ran!r} {dialogs}"
    if path in ("manage_students", "review page"):
        assert "onerror" in text, "the name or id should show, as text"


@pytest.fixture(scope="module")
def reviewed(browser, instructor_lab, course_loop, student_folder):
    """The manual review of REVIEWED in the formgrader (a comment on build_decoder's answer and
    extra credit on one of its tests), then Generate and Release Feedback for the assignment,
    and STUDENT fetching theirs. Returns {step: (succeeded, said, seconds)}."""
    lab, steps = instructor_lab, {}
    page = open_review_page(browser, lab, REVIEWED)
    page.locator("#build_decoder-comment").fill(COMMENT)
    page.locator(f"#{EXTRA_CREDIT_CELL}_extra_credit").fill(str(EXTRA_CREDIT))
    page.locator("#build_decoder-comment").focus()  # leaving the field saves it
    page.locator(f"#{EXTRA_CREDIT_CELL}_extra_credit").focus()
    page.locator("#build_decoder-comment").focus()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and manual_review(lab) != (COMMENT, EXTRA_CREDIT):
        time.sleep(0.5)
    page.close()
    page = open_formgrader(browser, lab, "manage_assignments")
    steps["generate feedback"] = click_button(page, assignment_button(page, "generate-feedback"))
    steps["release feedback"] = click_button(page, assignment_button(page, "release-feedback"))
    page.close()
    as_student(lab, student_folder, "fetch_feedback", course.ASSIGNMENT)
    return steps


def manual_review(lab):
    """(the comment on REVIEWED's build_decoder, the extra credit of EXTRA_CREDIT_CELL)."""
    with course.gradebook(lab.root) as grades:
        where = (course.NOTEBOOK[:-6], course.ASSIGNMENT, REVIEWED)
        return (grades.find_comment("build_decoder", *where).manual_comment,
                grades.find_grade(EXTRA_CREDIT_CELL, *where).extra_credit)


def feedback_page(lab, student):
    return (lab.root / "feedback" / student / course.ASSIGNMENT /
            course.NOTEBOOK.replace(".ipynb", ".html")).read_text(encoding="utf-8")


def test_a_comment_and_extra_credit_typed_in_the_review_page_reach_the_gradebook(
        reviewed, instructor_lab):
    assert manual_review(instructor_lab) == (COMMENT, EXTRA_CREDIT)


def test_generate_and_release_feedback_buttons_work_with_the_course_configuration(reviewed):
    for step in ("generate feedback", "release feedback"):
        succeeded, said, _ = reviewed[step]
        assert succeeded, f"the formgrader's {step} button answered an error: {said[-1500:]}"


def test_the_feedback_page_shows_the_comment_and_the_extra_credit_beside_the_part(
        reviewed, instructor_lab, browser):
    page = browser.new_page()
    page.goto((instructor_lab.root / "feedback" / REVIEWED / course.ASSIGNMENT /
               course.NOTEBOOK.replace(".ipynb", ".html")).as_uri())
    summary = " ".join(page.locator("table.resumen").inner_text().split())
    page.close()
    assert "build_decoder 2.0 / 15.0 incluye +2 de crédito extra" in summary, summary[:1500]
    assert ("Comentario del profesorado sobre build_decoder: La última capa debe partir de la "
            "cuarta convolución transpuesta.") in summary, summary[:3000]
    assert "(+2 de crédito extra) ✘ no superada" in summary, (
        "extra credit on a failed test must not make it read as passed: " + summary[:1500])


def fetched_feedback(student_folder):
    fetched = list((student_folder / course.ASSIGNMENT / "feedback").glob("*/*.html"))
    assert len(fetched) == 1, f"expected {STUDENT}'s one fetched feedback page, found {fetched}"
    return fetched[0].read_text(encoding="utf-8")


def test_feedback_made_with_the_formgraders_button_is_the_courses_spanish_page(
        reviewed, student_folder):
    page = fetched_feedback(student_folder)
    assert "100.0 de 100.0 puntos" in page and 'class="table table-condensed resumen"' in page, (
        "the fetched page is not the course's Spanish feedback page")


def test_the_feedback_a_student_fetches_shows_no_hidden_test_or_grader_line(
        reviewed, student_folder):
    text = html.unescape(fetched_feedback(student_folder))
    leaks = sorted(line for line in hidden_lines() | {"calificador"} if line in text)
    assert not leaks, f"{STUDENT}'s feedback shows {leaks[:3]}"


def exported_score(lab, *options):
    """{student: score} of `nbgrader export` in the course (grades.csv, or the LMS's file)."""
    destination = lab.root / f"export-{len(options)}.csv"
    course.nbgrader("export", f"--to={destination}", *options, course=lab.root)
    with open(destination, newline="", encoding="utf-8") as written:
        return list(csv.DictReader(written))


def test_grades_csv_and_the_lms_file_count_the_extra_credit(reviewed, instructor_lab):
    rows = exported_score(instructor_lab)
    score = {row["student_id"]: float(row["score"]) for row in rows}
    assert score[REVIEWED] == 65 + EXTRA_CREDIT, f"grades.csv: {score}"
    moodle = exported_score(instructor_lab, "--CourseExport.lms=moodle",
                            "--CourseExport.moodle_roster=" + str(
                                course.ROOT / "tests" / "data" / "moodle_participants.csv"))
    assert {row["email"]: row["vae_olivetti"] for row in moodle}[
        "beto.parcial@universidad.example"] == str(65 + EXTRA_CREDIT), moodle


def test_a_new_autograde_keeps_the_comment_and_the_extra_credit(reviewed, instructor_lab):
    course.autograde(instructor_lab.root, student=REVIEWED)
    assert manual_review(instructor_lab) == (COMMENT, EXTRA_CREDIT)
    assert sum(course.scores(REVIEWED, instructor_lab.root).values()) == 65 + EXTRA_CREDIT
