"""The course's main job: build the master notebook, release it, grade the demo students.

    python tools/course.py all       # source + release + demo (what `make grade` runs)
    python tools/course.py source    # authoring/vae_olivetti.py -> source/.../vae_olivetti.ipynb
    python tools/course.py release   # nbgrader generate_assignment -> release/
    python tools/course.py demo      # submitted/ -> autograded/, feedback/, gradebook.db, grades.csv

Everything it writes is generated: never edit release/, submitted/, autograded/, feedback/,
gradebook.db or grades.csv by hand. The tests reuse its helpers on temporary course copies.
"""
import datetime
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "authoring"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import answers  # noqa: E402
import build_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSIGNMENT = "vae_olivetti"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SHARED_DATA = ROOT.parent / "shared" / "data" / "scikit_learn_data"
TIMESTAMP = "2026-11-20 12:00:00.000000 UTC"
COURSE_FILES = ("nbgrader_config.py", "grading", "source")


def environment():
    """Environment for nbgrader: the venv's bin on PATH (nbgrader shells out to alembic) and
    the offline copy of the Olivetti faces when it is there."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), env.get("PATH", "")])
    if "SCIKIT_LEARN_DATA" not in env and SHARED_DATA.is_dir():
        env["SCIKIT_LEARN_DATA"] = str(SHARED_DATA)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def start_nbgrader(*args, course=ROOT):
    """Starts one nbgrader command in the course folder; returns the running process."""
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course,
                            env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process, check=True):
    """Waits for a process of start_nbgrader; returns its output, raising if it failed."""
    output = process.communicate()[0]
    if check and process.returncode != 0:
        raise RuntimeError(f"{' '.join(process.args)} failed:\n{output}")
    return output


def nbgrader(*args, course=ROOT, check=True):
    """Runs one nbgrader command in the course folder; returns its output."""
    return finish(start_nbgrader(*args, course=course), check)


def new_course(folder):
    """A copy of the course (config, grader, source) in `folder`, with its own gradebook."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, folder / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, folder / name)
    return folder


def release(course=ROOT):
    nbgrader("generate_assignment", ASSIGNMENT, "--force", course=course)


def fill(notebook, answers_by_part):
    """Writes the given answers into the notebook's solution cells, as a student would."""
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers_by_part:
            cell.source = answers_by_part[grade_id]
    return notebook


def filled(answers_by_part, course=ROOT):
    """The released notebook with some solution cells replaced by the given answers."""
    return fill(nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4),
                answers_by_part)


def submit(student, notebook, course=ROOT):
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / NOTEBOOK)
    (folder / "timestamp.txt").write_text(TIMESTAMP)


def autograde(course=ROOT, student=None):
    args = ["autograde", ASSIGNMENT, "--force"] + ([f"--student={student}"] if student else [])
    return nbgrader(*args, course=course)


def scores(student, course=ROOT):
    """{grade_id: score} of every graded test cell of the student's autograded submission."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(NOTEBOOK[:-6], ASSIGNMENT, student)
        return {grade.name: grade.score for grade in submission.grades}


def grade_in_parallel(notebooks, folder, workers=2, check=True):
    """Autogrades {student: notebook} with `workers` nbgrader processes at once.

    nbgrader grades one notebook after another; each worker is a course copy of its own (own
    gradebook) that grades its share of the students and writes its log to autograde.log.
    Returns {student: course folder}.
    """
    courses = [new_course(pathlib.Path(folder) / f"worker{k}") for k in range(workers)]
    for course in courses:
        release(course)
    where = {}
    for k, (student, notebook) in enumerate(sorted(notebooks.items())):
        where[student] = courses[k % workers]
        submit(student, notebook, where[student])
    logs = {course: finish(process, check=False) for course, process in
            [(c, start_nbgrader("autograde", ASSIGNMENT, course=c)) for c in courses]}
    for course, log in logs.items():
        if "There was an error processing assignment" in log:
            # Once more for the students that failed (nbgrader skips the graded ones): a kernel
            # that did not start is worth a second try; a student's code that kills the kernel
            # is reported again.
            log += finish(start_nbgrader("autograde", ASSIGNMENT, course=course), check)
        (course / "autograde.log").write_text(log)
    return where


def grading_seconds(log):
    """{student: seconds} from an autograde log (nbgrader_config.py timestamps its lines)."""
    starts = [(match[1], datetime.datetime.strptime(match[0], "%H:%M:%S"))
              for match in re.findall(r"\[\w+ (\d\d:\d\d:\d\d) INFO\] Sanitizing \S*/submitted/"
                                      r"([^/]+)/", log)]
    end = datetime.datetime.strptime(re.findall(r"\[\w+ (\d\d:\d\d:\d\d) ", log)[-1], "%H:%M:%S")
    ends = [start for _, start in starts[1:]] + [end]
    return {student: (stop - start).total_seconds()
            for (student, start), stop in zip(starts, ends)}


def demo_submissions():
    master = answers.master_solutions()
    partly_wrong = dict(master)
    for name in answers.PARTLY_WRONG:
        wrong = answers.wrong(name)
        partly_wrong[wrong.part] = wrong.code(master)
    return {"ana_completa": answers.ALTERNATIVE, "beto_parcial": partly_wrong,
            "carla_en_blanco": {}}


def demo(course=ROOT):
    for folder in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course / folder, ignore_errors=True)
    for student, answers_by_part in demo_submissions().items():
        submit(student, filled(answers_by_part, course), course)
    autograde(course)
    nbgrader("generate_feedback", ASSIGNMENT, "--force", course=course)
    nbgrader("export", "--to", "grades.csv", course=course)


def main(command):
    if command in ("source", "all"):
        build_source.main()
    if command in ("release", "all"):
        release()
    if command in ("demo", "all"):
        demo()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all")
