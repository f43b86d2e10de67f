"""The course on a real JupyterHub, in headless Chromium: three Unix users, none of them root
in the grading path, and nbgrader's exchange between them (grading/hub.py,
hub/jupyterhub_config.py).

One round trip, as a course runs it, drives every test here (`round_trip`, once per session):
the instructor `profesora` generates and releases the assignment from the formgrader; the
student `ana` fetches it in the Assignments tab, gets the correct answers (the master's
solutions written into her fetched notebook as her own user: what a student types, without the
typing), validates it with the Validate button and submits it; `carla` fetches and submits the
release untouched; the instructor collects, autogrades each submission with the formgrader's
button (each kernel in the rootless sandbox, as her own user), generates and releases the
feedback; each student fetches it and opens the Spanish feedback page. Then the users
themselves (runuser) try to read what is not theirs.

Skipped, with one line, where user accounts cannot be created (not root). The hub's venv under
/opt is built by `make hub-setup` (.ci/run runs it before the suite); where it is missing the
fixture builds it (about 2 minutes more).
"""
import dataclasses
import json
import pathlib
import re
import subprocess
import time

import nbformat
import pytest

import chromium
from grading import answers, course, hub

pytestmark = [chromium.needs_chromium,
              pytest.mark.skipif(hub.cannot_run() is not None,
                                 reason=f"no JupyterHub course here: {hub.cannot_run()}")]
ANA, CARLA = hub.STUDENTS
STEP_SECONDS = 300  # the longest step: Validate or an autograde (TensorFlow in a kernel)


@dataclasses.dataclass
class RoundTrip:
    times: dict  # {step: seconds}
    scores: dict  # {student: (score, max_score)} from the formgrader's API
    validate: str  # what Validate answered ana
    reviewed: dict  # {student: the sum of the test scores her review page shows}
    feedback: dict  # {student: the feedback page's text}
    feedback_scripts: dict  # {student: chromium.scripts_left of that page}
    exchange: pathlib.Path  # the course's folder in the exchange


def hub_url(port, path):
    return f"http://127.0.0.1:{port}/{path.lstrip('/')}"


def log_in(page, port, user):
    """Logs out whoever was logged in, logs `user` in and waits for their JupyterLab."""
    page.goto(hub_url(port, "hub/logout"))
    page.goto(hub_url(port, "hub/login"))
    page.fill("#username_input", user)
    page.fill("#password_input", hub.PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=STEP_SECONDS * 1000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=120_000)


def formgrader_button(page, port, icon, what):
    """Clicks the formgrader's `icon` in the assignment's row of Manage Assignments and waits
    for its answer; raises with the formgrader's message if it was not a success."""
    page.goto(hub_url(port, "user/profesora/formgrader/manage_assignments"))
    row = page.locator("tr", has_text=course.ASSIGNMENT)
    row.locator(f".glyphicon-{icon}").click()
    answer = page.locator("#success-modal, #error-modal")
    answer.wait_for(timeout=STEP_SECONDS * 1000)
    text = answer.inner_text()
    assert page.locator("#success-modal").count(), f"the formgrader could not {what}:\n{text}"
    return text


def assignments_tab(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    panel = page.locator("#nbgrader-assignment-list")
    panel.wait_for()
    return panel


def click_in_list(panel, list_id, label, waiting_for):
    """Clicks the button `label` of the assignment in the list `list_id` of the Assignments tab;
    waits for `waiting_for` (a locator) to show."""
    panel.locator(f"#{list_id} .list_item:not(.nested_list_item)",
                  has_text=course.ASSIGNMENT).locator(
        "button", has_text=label).first.click()
    waiting_for.wait_for(timeout=STEP_SECONDS * 1000)


def fetch(page):
    panel = assignments_tab(page)
    click_in_list(panel, "released_assignments_list", "Fetch",
                  panel.locator("#fetched_assignments_list .list_item:not(.nested_list_item)",
                                has_text=course.ASSIGNMENT))
    return panel


def submit(panel):
    click_in_list(panel, "fetched_assignments_list", "Submit",
                  panel.locator("#submitted_assignments_list .list_item:not(.nested_list_item)",
                                has_text=course.ASSIGNMENT).first)


def fetched_notebook(student):
    return hub.home(student) / course.ASSIGNMENT / course.NOTEBOOK


def feedback_page(browser, page, port, student):
    """Fetches the feedback in the Assignments tab; returns the feedback page, opened."""
    panel = assignments_tab(page)
    click_in_list(panel, "submitted_assignments_list", "Fetch Feedback",
                  panel.locator("#submitted_assignments_list a", has_text="view feedback"))
    found = sorted((hub.home(student) / course.ASSIGNMENT / "feedback").rglob("*.html"))
    assert found, f"{student} fetched feedback, but her folder holds no feedback page"
    relative = found[-1].relative_to(hub.home(student))
    view = browser.new_page()
    view.goto(hub_url(port, f"user/{student}/files/{relative}"))
    view.locator("table.resumen").wait_for(timeout=60_000)
    return view


def review_pages(page, port):
    """Opens each student's review page in the instructor's formgrader; returns {student: the
    sum of the scores its tests show}."""
    page.goto(hub_url(port, f"user/profesora/formgrader/api/submitted_notebooks/"
                            f"{course.ASSIGNMENT}/{course.ASSIGNMENT}"))
    shown = {}
    for entry in json.loads(page.locator("body").inner_text()):
        page.goto(hub_url(port, f"user/profesora/formgrader/submissions/{entry['id']}/"))
        page.wait_for_function("document.querySelectorAll('input.score').length > 0 && "
                               "[...document.querySelectorAll('input.score')]"
                               ".every(i => i.placeholder !== '')", timeout=60_000)
        shown[entry["student"]] = page.evaluate(
            "[...document.querySelectorAll('input.score')]"
            ".reduce((total, i) => total + Number(i.placeholder), 0)")
    return shown


@pytest.fixture(scope="session")
def course_hub(tmp_path_factory):
    """The hub, started once per session on a free port, on a fresh course (a new term: no
    assignment in the exchange, an empty gradebook, nothing in the students' homes)."""
    started = time.monotonic()
    hub.setup(fresh=True)
    setup_seconds = time.monotonic() - started
    port = chromium.free_port()
    state = tmp_path_factory.mktemp("hub-state")  # not `make hub`'s: its database, its pids
    log = state / "jupyterhub.log"
    process = hub.start(port, open(log, "w"), state=state,
                        internal_ports=(chromium.free_port(), chromium.free_port()))
    try:
        chromium.wait_for_server(hub_url(port, "hub/api"), process, log, name="JupyterHub")
        yield {"port": port, "log": log, "setup": setup_seconds,
               "start": time.monotonic() - started - setup_seconds}
    finally:
        chromium.stop(process)  # its single-user servers go with it (LocalProcessSpawner)


@pytest.fixture(scope="session")
def round_trip(browser, course_hub):
    port, times = course_hub["port"], {"setup": course_hub["setup"],
                                       "hub start": course_hub["start"]}
    page = browser.new_page()
    clock = time.monotonic()

    def step(name):
        nonlocal clock
        now = time.monotonic()
        times[name] = round(now - clock, 1)
        clock = now

    try:
        log_in(page, port, hub.INSTRUCTOR)
        step("instructor's server spawned")
        formgrader_button(page, port, "education", "generate the student version")
        formgrader_button(page, port, "cloud-upload", "release the assignment")
        step("generate and release")

        log_in(page, port, ANA)
        step("ana's server spawned")
        panel = fetch(page)
        notebook = course.fill(nbformat.read(fetched_notebook(ANA), as_version=4),
                               answers.master_solutions())
        hub.write_as(ANA, fetched_notebook(ANA), nbformat.writes(notebook))
        validate_button = panel.locator("#fetched_assignments_list .nested_list_item button",
                                        has_text="Validate")
        if not validate_button.is_visible():  # the assignment's notebooks are folded
            panel.locator("#fetched_assignments_list a", has_text=course.ASSIGNMENT).first.click()
        validate_button.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=STEP_SECONDS * 1000)
        validate = dialog.inner_text()
        dialog.locator("button").last.click()
        step("ana fetches and validates")
        submit(panel)
        step("ana submits")

        log_in(page, port, CARLA)
        step("carla's server spawned")
        submit(fetch(page))
        step("carla fetches and submits")

        log_in(page, port, hub.INSTRUCTOR)
        formgrader_button(page, port, "cloud-download", "collect the submissions")
        step("collect")
        for student in (ANA, CARLA):
            page.goto(hub_url(port, f"user/profesora/formgrader/manage_submissions/"
                                    f"{course.ASSIGNMENT}"))
            page.locator("tr", has_text=student).locator(".glyphicon-flash").click()
            answer = page.locator("#success-modal, #error-modal")
            answer.wait_for(timeout=STEP_SECONDS * 1000)
            assert page.locator("#success-modal").count(), (
                f"autograding {student} from the formgrader failed:\n{answer.inner_text()}")
            step(f"autograde {student}")
        page.goto(hub_url(port, f"user/profesora/formgrader/api/submissions/"
                                f"{course.ASSIGNMENT}"))
        scores = {entry["student"]: (entry["score"], entry["max_score"])
                  for entry in json.loads(page.locator("body").inner_text())}
        reviewed = review_pages(page, port)
        step("review each submission")
        formgrader_button(page, port, "comment", "generate the feedback")
        formgrader_button(page, port, "envelope", "release the feedback")
        step("generate and release feedback")

        feedback, scripts = {}, {}
        for student in (ANA, CARLA):
            log_in(page, port, student)
            view = feedback_page(browser, page, port, student)
            feedback[student] = view.locator("body").inner_text()
            scripts[student] = chromium.scripts_left(view)
            chromium.screenshot(view, f"hub_feedback_{student}.png")
            view.close()
            step(f"{student} fetches her feedback")
    except Exception as error:
        chromium.screenshot(page, "hub_failure.png")
        raise RuntimeError(f"the round trip stopped after {list(times)}: {error}\n"
                           "the hub's log ends:\n"
                           + course_hub["log"].read_text(errors="replace")[-4000:])
    finally:
        page.close()
    print(f"\nhub round trip, seconds per step: {times}")
    return RoundTrip(times, scores, validate, reviewed, feedback, scripts,
                     hub.EXCHANGE / hub.COURSE_ID)


def as_user(user, *command):
    """Runs `command` as `user` (runuser); returns (exit code, what it printed)."""
    done = hub.as_user(user, *command, capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip()


def test_validate_button_passes_the_correct_answers_in_the_students_own_server(round_trip):
    assert "Success! Your notebook passes all the tests." in round_trip.validate, (
        f"Validate answered ana: {round_trip.validate[:500]}")


def test_autograde_from_the_formgrader_gives_100_to_the_correct_answers(round_trip):
    assert round_trip.scores.get(ANA) == (100.0, 100.0), (
        f"expected ana's score 100 of 100, the formgrader has {round_trip.scores}")


def test_autograde_from_the_formgrader_gives_0_to_the_untouched_release(round_trip):
    assert round_trip.scores.get(CARLA) == (0.0, 100.0), (
        f"expected carla's score 0 of 100, the formgrader has {round_trip.scores}")


def test_the_instructor_reviews_each_submission_in_the_formgrader(round_trip):
    assert round_trip.reviewed == {ANA: 100, CARLA: 0}, (
        f"expected the review pages to show 100 points for ana and 0 for carla; they show "
        f"{round_trip.reviewed}")


@pytest.mark.parametrize("student, total", [(ANA, "100"), (CARLA, "0")])
def test_each_student_fetches_her_spanish_feedback_page_with_her_grade(round_trip, student,
                                                                        total):
    text = round_trip.feedback[student]
    heading = f"{course.ASSIGNMENT}: {total}.0 de 100.0 puntos"
    assert heading in text and "Una prueba no superada muestra abajo" in text, (
        f"expected {student}'s feedback page in Spanish, headed {heading!r}; it begins "
        f"{text[:400]!r}")
    assert round_trip.feedback_scripts[student] == {"ran": None, "handlers": 0, "links": 0}, (
        f"expected no script on {student}'s feedback page: {round_trip.feedback_scripts}")


def test_the_grading_ran_as_the_instructor_not_as_root(round_trip):
    root = hub.course_root()
    owners = {path.owner() for path in [root / "gradebook.db",
                                        *(root / "autograded").rglob("*")]}
    assert owners == {hub.INSTRUCTOR}, (
        f"expected the gradebook and every autograded file to be {hub.INSTRUCTOR}'s; their "
        f"owners: {owners}")
    servers = subprocess.run(["ps", "-eo", "user:20=,args="], capture_output=True,
                             text=True).stdout
    by_root = [line for line in servers.splitlines()
               if "jupyterhub-singleuser" in line and line.split()[0] == "root"]
    assert not by_root, f"expected no single-user server as root, found: {by_root}"


def test_a_student_cannot_list_the_submissions_in_the_exchange(round_trip):
    code, output = as_user(CARLA, "ls", round_trip.exchange / "inbound")
    assert code != 0 and "Permission denied" in output, (
        f"expected carla to be refused the listing of the exchange's inbound folder; "
        f"ls answered ({code}): {output[:300]}")


def test_a_submission_in_the_exchange_is_hidden_by_a_random_name_nbgraders_only_boundary(
        round_trip):
    """nbgrader's exchange keeps a submission's files readable by all (0644, in a 0777 folder)
    in an inbound folder that no student can list: the folder's name, user+assignment+time+a
    random part, is what a classmate cannot know. A student who had the name could read it
    (checked here, so that a change of nbgrader's permissions shows)."""
    inbound = round_trip.exchange / "inbound"
    submissions = sorted(path.name for path in inbound.iterdir())
    assert [name.split("+")[0] for name in submissions] == [ANA, CARLA], submissions
    random_parts = [name.rsplit("+", 1)[1] for name in submissions]
    assert all(len(part) >= 12 for part in random_parts), (
        f"expected a random part of 12 characters or more in each submission's name: "
        f"{submissions}")
    ana_submission = inbound / submissions[0] / course.NOTEBOOK
    code, _ = as_user(CARLA, "head", "-c", "1", ana_submission)
    assert code == 0, "nbgrader's exchange changed: a submission is no longer world-readable"


def test_a_student_cannot_read_another_students_files(round_trip):
    for path in (hub.home(ANA) / course.ASSIGNMENT / course.NOTEBOOK,
                 hub.home(ANA) / ".local" / "share" / "jupyter" / "nbgrader_cache"):
        code, output = as_user(CARLA, "cat", path)
        assert code != 0 and "Permission denied" in output, (
            f"expected carla to be refused {path}; cat answered ({code}): {output[:200]}")


def test_a_student_cannot_read_the_course_folder_or_the_gradebook(round_trip):
    root = hub.course_root()
    for user in hub.STUDENTS:
        for command in (("ls", root), ("cat", root / "gradebook.db"),
                        ("cat", root / "nbgrader_config.py")):
            code, output = as_user(user, *command)
            assert code != 0 and "Permission denied" in output, (
                f"expected {user} to be refused `{' '.join(map(str, command))}`; it answered "
                f"({code}): {output[:200]}")


def test_a_student_cannot_list_the_feedback_in_the_exchange(round_trip):
    code, output = as_user(CARLA, "ls", round_trip.exchange / "feedback")
    assert code != 0 and "Permission denied" in output, (
        f"expected carla to be refused the listing of the exchange's feedback folder; "
        f"ls answered ({code}): {output[:300]}")
