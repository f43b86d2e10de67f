"""The course's main job: build the master notebook, release it, grade the demo students.

    python tools/course.py all       # source + release + demo (what `make grade` runs)
    python tools/course.py source    # authoring/vae_olivetti.py -> source/.../vae_olivetti.ipynb
    python tools/course.py release   # nbgrader generate_assignment -> release/
    python tools/course.py demo      # submitted/ -> autograded/, feedback/, gradebook.db, grades.csv
    python tools/course.py autograde # a real class: autograde submitted/ with 2 nbgrader workers

Everything it writes is generated: never edit release/, submitted/, autograded/, feedback/,
gradebook.db or grades.csv by hand. The tests reuse its helpers on temporary course copies.
"""
import datetime
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "authoring"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "grading"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import answers  # noqa: E402
import build_source  # noqa: E402
import sandbox  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASSIGNMENT = "vae_olivetti"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SHARED_DATA = ROOT.parent / "shared" / "data" / "scikit_learn_data"
TIMESTAMP = "2026-11-20 12:00:00.000000 UTC"
COURSE_FILES = ("nbgrader_config.py", "grading", "student_kernel", "source")


def environment():
    """Environment for nbgrader: the venv's bin on PATH (nbgrader shells out to alembic), the
    offline copy of the Olivetti faces when it is there, and the hidden cells' observer for the
    kernels of `nbgrader validate` (autograde's sandboxed kernels get their own)."""
    env = dict(os.environ, **sandbox.observer_environment())
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


def in_each(courses, *args, check=True):
    """Runs one nbgrader command in every course at once; returns their outputs."""
    return [finish(process, check)
            for process in [start_nbgrader(*args, course=course) for course in courses]]


def new_course(folder, origin=ROOT):
    """A copy of a course (config, grader, source) in `folder`, with its own gradebook."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        if not (origin / name).exists():
            continue  # an older course (bench/run.py's baseline) has no student_kernel/
        if (origin / name).is_dir():
            shutil.copytree(origin / name, folder / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(origin / name, folder / name)
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
    with gradebook(course) as grades:
        submission = grades.find_submission_notebook(NOTEBOOK[:-6], ASSIGNMENT, student)
        return {grade.name: grade.score for grade in submission.grades}


def course_with(notebooks, folder):
    """A new course in `folder`, released, with {student: notebook} submitted."""
    course = new_course(folder)
    release(course)
    for student, notebook in notebooks.items():
        submit(student, notebook, course)
    return course


def grade_in_parallel(notebooks, folder, workers=2, check=True):
    """A new course in `folder` with {student: notebook} submitted and autograded by `workers`
    nbgrader processes (autograde_in_parallel); returns the course folder."""
    course = course_with(notebooks, folder)
    for k, log in enumerate(autograde_in_parallel(course, workers, check)):
        (course / f"autograde.worker{k}.log").write_text(log)
    return course


def checksums(*folders):
    """{path: sha256} of every file under the given folders (or of the given files)."""
    found = {}
    for folder in map(pathlib.Path, folders):
        for path in ([folder] if folder.is_file() else sorted(folder.rglob("*"))):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def autograde_in_parallel(course=ROOT, workers=2, check=True):
    """`nbgrader autograde` of every student in submitted/, shared among `workers` processes,
    with one gradebook at the end.

    nbgrader grades one notebook after another. Each worker is a copy of the course with its
    own gradebook and every `workers`-th student. Their autograded notebooks and grades are then
    copied into the course and its gradebook, so generate_feedback and export see the whole
    class. Returns the workers' logs.
    """
    students = sorted(path.name for path in (course / "submitted").iterdir() if path.is_dir())
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        copies = [new_course(pathlib.Path(scratch) / f"worker{k}", origin=course)
                  for k in range(workers)]
        for k, student in enumerate(students):
            shutil.copytree(course / "submitted" / student,
                            copies[k % workers] / "submitted" / student)
        in_each(copies, "generate_assignment", ASSIGNMENT, "--force")
        logs = []
        for copy, log in zip(copies, in_each(copies, "autograde", ASSIGNMENT, check=False)):
            if "There was an error processing assignment" in log:
                # Once more for the students that failed (nbgrader skips the graded ones): a
                # kernel that did not start is worth a second try.
                log += nbgrader("autograde", ASSIGNMENT, course=copy, check=check)
            logs.append(log)
            merge_grades(copy, course)
    return logs


def gradebook(course):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def merge_grades(worker, course):
    """Copies a worker's autograded notebooks, and their grades and comments, into the course."""
    with gradebook(worker) as source, gradebook(course) as target:
        for submission in source.assignment_submissions(ASSIGNMENT):
            student = submission.student.id
            target.update_or_create_student(student)
            with target.db.no_autoflush:  # nbgrader's add_submission warns otherwise
                target.update_or_create_submission(ASSIGNMENT, student,
                                                   timestamp=submission.timestamp)
            for notebook in submission.notebooks:
                where = (notebook.name, ASSIGNMENT, student)
                for grade in notebook.grades:
                    merged = target.find_grade(grade.name, *where)
                    merged.auto_score = grade.auto_score
                    merged.needs_manual_grade = grade.needs_manual_grade
                for comment in notebook.comments:
                    target.find_comment(comment.name, *where).auto_comment = comment.auto_comment
                target.find_submission_notebook(*where).late_submission_penalty = (
                    notebook.late_submission_penalty)
            target.db.commit()
            autograded = worker / "autograded" / student
            if autograded.is_dir():
                shutil.copytree(autograded, course / "autograded" / student,
                                dirs_exist_ok=True)


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
    if command == "autograde":
        for log in autograde_in_parallel():
            print(log)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "all")
