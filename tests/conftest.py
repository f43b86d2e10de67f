"""Shared fixtures: one parallel nbgrader autograde of every submission the tests need.

Grading is the slow part (a kernel and TensorFlow per notebook), so all submissions (the demo
students and the fairness answers) are graded once per test session and the tests read the
scores.
"""
import dataclasses
import shutil
import socket
import threading
import time

import nbformat
import pytest

import adversarial
from grading import answers, course, not_graded

MASTER = nbformat.read(course.ROOT / "source" / course.ASSIGNMENT / course.NOTEBOOK, 4)


def graded_cells():
    """{grade_id: points} of the master notebook's graded test cells."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
            for cell in MASTER.cells
            if cell.metadata.get("nbgrader", {}).get("grade")}


def part_of(grade_id):
    return next(part for part in answers.PARTS if grade_id.startswith(f"test_{part}_"))


def points_by_part(cell_scores):
    totals = dict.fromkeys(answers.PARTS, 0.0)
    for grade_id, score in cell_scores.items():
        totals[part_of(grade_id)] += score
    return totals


FULL = points_by_part(graded_cells())


def wrong_rounds():
    """[{part: wrong answer}]: round k holds the k-th wrong answer of grading/answers.py of every
    part that has one."""
    by_part = {part: [w for w in answers.WRONG if w.part == part] for part in answers.PARTS}
    return [{part: found[k] for part, found in by_part.items() if k < len(found)}
            for k in range(max(map(len, by_part.values())))]


@dataclasses.dataclass(frozen=True)
class Fairness:
    kind: str  # "correct", or "alone": right in one part, a wrong answer in every other
    wrong: dict  # {part: the Wrong answer handed in there}
    answers: dict  # {part: code}


def fairness_submissions():
    """{student: Fairness}. Correct answers written two ways (the demo's ana_completa is the
    second), and for each part a student right only there, with a wrong answer in every other
    part (the rounds of `wrong_rounds` in turn). That part must keep full marks: its hidden
    tests do not lean on the student's other parts. And every wrong answer is handed in by one
    of them at least (`student_with_wrong`), where it must cost points in its own part. Nine
    notebooks instead of one per wrong answer (23): each costs a kernel and TensorFlow."""
    master = answers.master_solutions()
    cases = {"correcta_maestra": Fairness("correct", {}, master),
             "ana_completa": Fairness("correct", {}, answers.ALTERNATIVE)}
    rounds = wrong_rounds()
    for k, part in enumerate(answers.PARTS):
        wrong = {other: answer for other, answer in rounds[k % len(rounds)].items()
                 if other != part}
        handed_in = {**master, **{other: answer.code(master) for other, answer in wrong.items()}}
        cases[f"solo_bien_{part}"] = Fairness("alone", wrong, handed_in)
    return cases


def student_with_wrong(name):
    """(the first fairness student who handed in the wrong answer `name`, its part), or
    (None, None)."""
    return next(((student, part) for student, case in fairness_submissions().items()
                 for part, answer in case.wrong.items() if answer.name == name), (None, None))


def course_files(folder):
    """What no student's code may change: the course's configuration, grader, observer, master,
    release and every submission, and the same files of this repository."""
    names = ("nbgrader_config.py", "grading", "student_kernel", "source", "release", "submitted")
    found = course.checksums(*[base / name for base in (folder, course.ROOT) for name in names
                               if (base / name).exists()])
    # IPython keeps its own state next to the observer's startup file (gitignored).
    return {path: digest for path, digest in found.items()
            if "/ipython/" not in path or "/startup/" in path}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """The session's one Chromium (Debian's, driven by Playwright), shared by every browser
    test: JupyterLab, the feedback pages, the formgrader, the hub."""
    import chromium

    if chromium.CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    with chromium.playwright().sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium.CHROMIUM,
            headless=True, args=chromium.FLAGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


@pytest.fixture(scope="session")
def instructor_lab(tmp_path_factory, made_grade):
    """The session's one JupyterLab, an instructor's, as nbgrader's docs start it: in a copy of
    the course where `make grade` has run (released, the demo students graded, their feedback
    made), so the formgrader serves that course; the exchange in a folder of its own. The
    student's side of test_browser.py opens its notebooks in the same server."""
    import chromium

    root = tmp_path_factory.mktemp("instructor") / "course"
    shutil.copytree(made_grade, root)
    exchange = tmp_path_factory.mktemp("exchange")
    (root / ".jupyter").mkdir()
    (root / ".jupyter" / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nc.Exchange.root = {str(exchange)!r}\n")
    log = tmp_path_factory.mktemp("jupyterlab-log") / "jupyterlab.log"  # not in the file browser
    with chromium.jupyterlab(root, log) as lab:
        yield lab


@pytest.fixture(scope="session")
def network_listener():
    """A TCP server on 127.0.0.1 that records who connects during the grading (atk_red)."""
    listener = socket.create_server(("127.0.0.1", adversarial.NETWORK_PORT))
    listener.settimeout(0.2)
    connections = []
    done = threading.Event()

    def accept():
        while not done.is_set():
            try:
                connections.append(listener.accept()[0].recv(100))
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    yield connections
    done.set()
    listener.close()


@pytest.fixture(scope="session")
def grading_run(tmp_path_factory, network_listener):
    """Grades the fairness and adversarial students in one course, on a local Dask cluster of
    two workers, as `make autograde` does; returns {"folders": {student: course folder},
    "outcomes": {student: Outcome}, "files before": checksums, "files after": checksums}.
    (The demo's other students are graded by `make grade`: `made_grade`.)"""
    notebooks = {student: course.filled(case.answers)
                 for student, case in fairness_submissions().items()}
    notebooks.update({student: case.notebook() for student, case in adversarial.CASES.items()})
    folder = course.course_with(notebooks, tmp_path_factory.mktemp("course"))
    plant(adversarial.CASES, folder, classmate=submitted_notebook(folder, "correcta_maestra"))
    before = course_files(folder)
    outcomes, report = course.autograde_class(folder, workers=2, progress=False)
    (folder / "autograde-report.txt").write_text(report)
    return {"folders": dict.fromkeys(notebooks, folder), "outcomes": outcomes,
            "files before": before, "files after": course_files(folder)}


def submitted_notebook(folder, student):
    return folder / "submitted" / student / course.ASSIGNMENT / course.NOTEBOOK


def autograded_notebook(folder, student):
    return folder / "autograded" / student / course.ASSIGNMENT / course.NOTEBOOK


def plant(cases, folder, classmate):
    """Adds to each case's submitted folder what its notebook alone cannot hold (links, FIFOs),
    pointing at the notebook `classmate` of a correct classmate."""
    for student, case in cases.items():
        if case.plant:
            case.plant(folder / "submitted" / student / course.ASSIGNMENT, classmate)


def peak_memories(processes):
    """Waits for `processes` (of course.start_nbgrader), which run at the same time; returns
    [(output, peak resident memory in bytes of that one process, sampled every 50 ms)]."""
    import psutil

    outputs = [[] for _ in processes]
    readers = [threading.Thread(target=lambda p=p, o=o: o.append(p.stdout.read()), daemon=True)
               for p, o in zip(processes, outputs)]
    for reader in readers:
        reader.start()
    watched = [psutil.Process(process.pid) for process in processes]
    peaks = [0] * len(processes)
    while any(process.poll() is None for process in processes):
        for k, (process, memory) in enumerate(zip(processes, watched)):
            if process.poll() is None:
                try:
                    peaks[k] = max(peaks[k], memory.memory_info().rss)
                except psutil.Error:
                    pass
        time.sleep(0.05)
    for reader in readers:
        reader.join()
    return [(output[0], peak) for output, peak in zip(outputs, peaks)]


@pytest.fixture(scope="session")
def doors_run(tmp_path_factory):
    """The doors' attacks (tests/adversarial.py: DOORS, COMMAND_LINE_DOORS) and the correct
    classmate their links point at, graded by plain `nbgrader autograde` on the command line,
    then their feedback. Four courses graded at once: the flood alone (its grading process's
    peak memory), the classmate alone (the memory a normal grading takes; the other attacks'
    links point at its notebook), and the other attacks in two courses, so that both cores
    stay busy."""
    cases = {**adversarial.DOORS, **adversarial.COMMAND_LINE_DOORS}
    bruno = course.filled(answers.master_solutions())
    flood = "puerta_inundacion"
    doors = sorted(student for student in cases if student != flood)
    classes = {"inundacion": {flood: cases[flood].notebook()},
               "normal": {"bruno": bruno},
               "puertas": {s: cases[s].notebook() for s in doors[::2]},
               "puertas_2": {s: cases[s].notebook() for s in doors[1::2]}}
    folders = {name: course.course_with(notebooks, tmp_path_factory.mktemp(name))
               for name, notebooks in classes.items()}
    for name in ("puertas", "puertas_2"):
        plant({s: cases[s] for s in classes[name]}, folders[name],
              classmate=submitted_notebook(folders["normal"], "bruno"))
    runs = [course.start_nbgrader("autograde", course.ASSIGNMENT, course=folder)
            for folder in folders.values()]
    (flood_log, peak), (normal_log, normal_peak), *door_runs = peak_memories(runs)
    log = "".join(output for output, _ in door_runs)
    (folders["puertas"] / "autograde.log").write_text(log)
    assert runs[0].returncode == 0, flood_log[-3000:]
    assert runs[1].returncode == 0, normal_log[-3000:]  # (the doors' fail for one student)
    course.in_each([folders[name] for name in ("inundacion", "puertas", "puertas_2")],
                   "generate_feedback", course.ASSIGNMENT)
    report = course.ROOT / "tests" / "out" / "flood_memory.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(f"peak resident memory of `nbgrader autograde`: {peak / 2**20:.0f} MB "
                      f"grading the 600 MB flood, {normal_peak / 2**20:.0f} MB grading a "
                      "correct student, side by side\n")
    where = {student: folders[name] for name, notebooks in classes.items()
             for student in notebooks}
    return {"folders": where, "log": log + flood_log, "peak": peak,
            "normal peak": normal_peak, "cases": cases}


@pytest.fixture(scope="session")
def made_grade(tmp_path_factory):
    """A fresh copy of the course where `make grade` has run: release/, then the demo students
    graded (autograded/, feedback/, gradebook.db, grades.csv)."""
    fresh = course.new_course(tmp_path_factory.mktemp("make-grade") / "course")
    course.release(fresh)
    course.demo(fresh)
    return fresh


@pytest.fixture(scope="session")
def graded(grading_run, made_grade):
    """{student: course folder} of every student graded in the session: the grading run's,
    and the demo students `make grade` graded (ana_completa is in both: the grading run's)."""
    return {**dict.fromkeys(course.demo_submissions(), made_grade), **grading_run["folders"]}


@pytest.fixture(scope="session")
def outcomes(grading_run):
    """{student: Outcome} of the session's grading run: seconds, worker, log, notes."""
    return grading_run["outcomes"]


@pytest.fixture(scope="session")
def feedback(graded, grading_run):
    """{student: feedback HTML}, generated with the course's nbgrader configuration (`make
    grade` generated the demo's)."""
    for folder in set(grading_run["folders"].values()):
        course.nbgrader("generate_feedback", course.ASSIGNMENT, course=folder)
    pages = {}
    for student, folder in graded.items():
        page = (folder / "feedback" / student / course.ASSIGNMENT /
                course.NOTEBOOK.replace(".ipynb", ".html"))
        # A student the grader could not grade has no feedback, or only the page that says so
        # (grading/not_graded.py).
        if page.exists() and student not in not_graded.not_graded(folder, course.ASSIGNMENT):
            pages[student] = page.read_text(encoding="utf-8")
    return pages


def scores(graded, student):
    return course.scores(student, graded[student])


def without_regions(source, *regions):
    """The source without the lines between `### BEGIN <region>` and `### END <region>`."""
    kept, inside = [], False
    for line in source.splitlines():
        if any(f"BEGIN {region}" in line for region in regions):
            inside = True
        elif any(f"END {region}" in line for region in regions):
            inside = False
        elif not inside:
            kept.append(line.strip())
    return kept


def public_text():
    """What students see anyway: the master without its solutions and hidden tests."""
    return "\n".join(line for cell in MASTER.cells
                     for line in without_regions(cell.source, "SOLUTION", "HIDDEN TESTS"))


def hidden_lines():
    """Lines of the hidden test regions and of the grader module that students never see."""
    lines = set()
    for cell in MASTER.cells:
        visible = set(without_regions(cell.source, "HIDDEN TESTS"))
        lines.update(line.strip() for line in cell.source.splitlines()
                     if line.strip() not in visible)
    grader = (course.ROOT / "grading" / "calificador.py").read_text(encoding="utf-8")
    lines.update(line.strip() for line in grader.splitlines()
                 if len(line.strip()) > 25 and not line.strip().startswith(("#", '"', "f\"")))
    public = public_text()
    return {line for line in lines if line and line not in public}


def solution_lines():
    """Every non-blank line of the master's solution regions."""
    public = public_text()
    return {line.strip() for code in answers.master_solutions().values()
            for line in code.splitlines()
            if line.strip() and line.strip() not in public}
