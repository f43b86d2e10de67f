"""The course's main job: build the master notebook, release it, grade the demo students.

    python -m grading.course all       # source + release + demo (what `make grade` runs)
    python -m grading.course source    # authoring/vae_olivetti.py -> source/.../vae_olivetti.ipynb
    python -m grading.course release   # nbgrader generate_assignment -> release/
    python -m grading.course demo      # submitted/ -> autograded/, feedback/, gradebook.db, grades.csv
    python -m grading.course autograde [--scheduler tls://host:8786] [--workers N]
                                       # a real class: submitted/ graded on Dask, one gradebook
    python -m grading.course certificates  # tls/: the course CA and the cluster's certificates
    python -m grading.course similarity    # reports/: who copied from whom

Everything it writes is generated: never edit release/, submitted/, autograded/, feedback/,
gradebook.db or grades.csv by hand. The tests reuse its helpers on temporary course copies.
"""
import argparse
import hashlib
import os
import pathlib
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import nbformat

from grading import ROOT, answers, build_source, dask_grading, sandbox

ASSIGNMENT = "vae_olivetti"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
SHARED_DATA = ROOT.parent / "shared" / "data" / "scikit_learn_data"
TIMESTAMP = "2026-11-20 12:00:00.000000 UTC"
COURSE_FILES = dask_grading.COURSE_FILES
# What `make grade` writes; it builds them in a temporary copy of the course and moves them into
# place only once all of them are made, so that a failure leaves the committed ones as they were.
GENERATED = (f"source/{ASSIGNMENT}/{NOTEBOOK}", "release", "submitted", "autograded",
             "feedback", "gradebook.db", "grades.csv")


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


def checksums(*folders):
    """{path: sha256} of every file under the given folders (or of the given files)."""
    found = {}
    for folder in map(pathlib.Path, folders):
        for path in ([folder] if folder.is_file() else sorted(folder.rglob("*"))):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def worker_environment():
    """What a local Dask worker needs from this machine: the data set, PATH, quiet TF."""
    full = environment()
    return {name: full[name] for name in ("SCIKIT_LEARN_DATA", "PATH", "TF_CPP_MIN_LOG_LEVEL")
            if name in full}


TLS = ROOT / "tls"  # the course's CA and certificates (`make certificates`; gitignored)


def make_certificates(folder=TLS, days=365):
    """A course CA, and certificates it signs for the cluster (scheduler and workers) and for
    the instructor (the client), with OpenSSL: the Dask cluster's TLS (README)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", *key, "-days", str(days), "-subj", "/CN=vae-olivetti CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    for who in ("cluster", "instructor"):
        openssl("req", *key, "-subj", f"/CN={who}", "-keyout", f"{who}.key",
                "-out", f"{who}.csr")
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", str(days), "-out", f"{who}.pem")
        (folder / f"{who}.csr").unlink()
    for path in folder.iterdir():
        path.chmod(0o600 if path.suffix == ".key" else 0o644)
    return folder


def autograde_class(course=ROOT, scheduler=None, workers=None, settings=None, progress=None,
                    tls=TLS):
    """Grades every student of the course's submitted/ on Dask (grading/dask_grading.py): on
    the cluster at `scheduler`, or on a new local one of `workers` processes (one per core by
    default). Every result is written into the course's autograded/ and gradebook as it
    arrives. Returns ({student: Outcome}, the summary report)."""
    started = time.monotonic()
    security = dask_grading.course_security(tls) if scheduler else None
    with dask_grading.connect(scheduler, workers, worker_environment(), security) as client:
        threads = sum(client.nthreads().values())
        try:
            outcomes = dask_grading.grade_class(course, client, settings, progress)
        except dask_grading.SandboxUnavailable as problem:
            sys.exit(str(problem))
    return outcomes, dask_grading.report(outcomes, time.monotonic() - started, threads)


gradebook = dask_grading.open_gradebook


def canonical_gradebook(path):
    """Rewrites an nbgrader gradebook so that the same grades give the same bytes. nbgrader
    names rows with random uuid4s and stores them in the order results arrive, so each grading
    would change the committed gradebook.db: here each random id becomes a hash of what its
    rows hold (the ids they point to renamed first), and every table is copied, sorted, into a
    new database with the same schema. nbgrader reads it as before."""
    old = sqlite3.connect(path)
    schema = [sql for (sql,) in old.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    tables = {name: old.execute(f'SELECT * FROM "{name}"').fetchall() for (name,) in
              old.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")}
    old.close()
    rows_of = {}  # random id -> [(table, the row's other values)]: base_cell and grade_cells share ids
    for table, rows in tables.items():
        for row in rows:
            if isinstance(row[0], str) and re.fullmatch(r"[0-9a-f]{32}", row[0]):
                rows_of.setdefault(row[0], []).append((table, row[1:]))
    renamed = {}
    while len(renamed) < len(rows_of):
        ready = [random_id for random_id, rows in rows_of.items() if random_id not in renamed
                 and all(v in renamed for _, rest in rows for v in rest if v in rows_of)]
        assert ready, "the gradebook's ids point at each other in a cycle"
        for random_id in ready:
            content = sorted(repr((table, [renamed.get(v, v) for v in rest]))
                             for table, rest in rows_of[random_id])
            renamed[random_id] = hashlib.sha256("".join(content).encode()).hexdigest()[:32]
    assert len(set(renamed.values())) == len(renamed), "two gradebook rows hold the same values"
    path.unlink()
    new = sqlite3.connect(path)
    for sql in schema:
        new.execute(sql)
    for table, rows in tables.items():
        rows = sorted((tuple(renamed.get(v, v) for v in row) for row in rows), key=repr)
        if rows:
            new.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(rows[0]))})', rows)
    new.commit()
    new.close()


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
        # As `nbgrader submit` leaves it, so that the formgrader's Release Feedback works for
        # the demo class too (nbgrader names the released feedback with it). A student keeps
        # theirs to find their feedback; the demo students have none to keep, so it is made
        # from their name, and the committed demo stays the same from one `make grade` to the next.
        secret = hashlib.sha256(f"demo {ASSIGNMENT} {student}".encode()).hexdigest()
        (course / "submitted" / student / ASSIGNMENT / "submission_secret.txt").write_text(
            secret)
    print(autograde_class(course, workers=min(os.cpu_count(), 3))[1])
    canonical_gradebook(course / "gradebook.db")
    nbgrader("generate_feedback", ASSIGNMENT, "--force", course=course)
    nbgrader("export", "--to", "grades.csv", course=course)


REPORTS = ROOT / "reports"  # the instructor's: holds students' code (gitignored)


def similarity_report(course=ROOT, folder=REPORTS, threshold=None):
    """Compares the code of every student in submitted/ (grading/similarity.py); writes the
    HTML report and the heat map into `folder`; returns the report."""
    from grading import similarity  # (copydetect: only for this command)

    report = similarity.compare_class(course, threshold or similarity.THRESHOLD)
    report.write(folder)
    return report


def require_sandbox(settings):
    """Stops, with one sentence and before touching a file, where the sandbox cannot run (and
    grading has not been told to go without it)."""
    sandbox.Sandbox(isolate=settings.get("Sandbox", {}).get("isolate", True)).require_sandbox()


def move_into_place(names, source, target):
    """Moves each of `names` from the folder `source` into `target`, replacing what is there
    (the old one goes to `source`, which the caller throws away)."""
    for name in names:
        new, old = pathlib.Path(source) / name, pathlib.Path(target) / name
        if old.exists():
            os.replace(old, pathlib.Path(source) / f".old-{name.replace('/', '-')}")
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new, old)


def grade_everything(course=ROOT):
    """`make grade`: the master notebook, the release and the demo grading, made in a
    temporary copy of the course and moved into place at the end."""
    with tempfile.TemporaryDirectory(dir=course, prefix=".make-grade-") as scratch:
        work = new_course(pathlib.Path(scratch) / "course", origin=course)
        built = work / GENERATED[0]
        built.write_text(build_source.build(), encoding="utf-8")
        release(work)
        demo(work)
        move_into_place(GENERATED, work, course)
    print(f"make grade: wrote {', '.join(GENERATED)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="all",
                        choices=["all", "source", "release", "demo", "autograde",
                                 "certificates", "similarity"])
    parser.add_argument("--scheduler", help="address of a running Dask scheduler "
                        "(tls://host:8786); default: a local cluster")
    parser.add_argument("--tls", type=pathlib.Path, default=TLS, help="the folder of the "
                        "course's TLS credentials (default: tls/, made by `make certificates`)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: one "
                        "per core)")
    parser.add_argument("--time-limit", type=int, help="seconds one notebook may run "
                        "(Sandbox.time_limit, default 300)")
    parser.add_argument("--no-sandbox", action="store_true", help="grade without bubblewrap "
                        "(Sandbox.isolate=False): the students' code runs with your rights")
    args = parser.parse_args()
    settings = {"Sandbox": {}}
    if args.time_limit:
        settings["Sandbox"]["time_limit"] = args.time_limit
    if args.no_sandbox:
        settings["Sandbox"]["isolate"] = False
    if args.command in ("all", "demo", "autograde"):
        require_sandbox(settings)
    if args.command == "all":
        grade_everything()
    if args.command == "source":
        build_source.main()
    if args.command == "release":
        # The demo's gradebook is generated too: a new one, since nbgrader refuses to add or
        # remove cells of a notebook that already has submissions.
        (ROOT / "gradebook.db").unlink(missing_ok=True)
        release()
    if args.command == "demo":
        demo()
    if args.command == "autograde":
        print(autograde_class(ROOT, args.scheduler, args.workers, settings, tls=args.tls)[1])
    if args.command == "similarity":
        report = similarity_report()
        print(report.table())
        print(f"wrote {REPORTS / 'similitud.html'} and {REPORTS / 'similitud.png'}")
    if args.command == "certificates":
        print(f"wrote the course CA and certificates in {make_certificates(args.tls)}")


if __name__ == "__main__":
    main()
