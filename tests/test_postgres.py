"""One PostgreSQL gradebook for several graders: two `make autograde` runs at the same time, on
different students and against the same real PostgreSQL server (on the loopback, started here
from Debian's `postgresql` package, which .ci/run installs), lose no row, leave each student
once, and give the grades the session's SQLite gradebook gives the same students."""
import glob
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from grading import course

# Two teaching assistants, each with the course in a folder of their own and their own students
# (one each: what is tested is two graders writing at once, not a class's size).
GRADERS = {"ayudante_a": ("ana_completa",), "ayudante_b": ("beto_parcial",)}
SERVER = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """The URL of a new database on a PostgreSQL server of its own (127.0.0.1, a free port,
    trust authentication, in a temporary folder); as root the server runs as the `postgres`
    user (it refuses to run as root)."""
    if not SERVER:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    binaries = pathlib.Path(SERVER[-1])
    folder = pathlib.Path(tempfile.mkdtemp(prefix="gradebook-pg-"))
    user = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        user = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}",
                "--clear-groups"]
    port, data = free_port(), folder / "data"

    def run(*command):
        subprocess.run(user + [str(binaries / command[0]), *command[1:]], check=True,
                       capture_output=True, text=True, cwd=folder)

    run("initdb", "-D", str(data), "-U", "calificador", "-A", "trust")
    run("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}", "start")
    try:
        run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "calificador", "vae")
        yield f"postgresql+psycopg://calificador@127.0.0.1:{port}/vae"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def with_gradebook(folder, url):
    """The course in `folder` configured for the shared gradebook (one line of config)."""
    config = folder / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {url!r}\n")


@pytest.fixture(scope="module")
def two_graders(postgres, tmp_path_factory):
    """Each assistant's course folder (the first one releases the assignment into the shared
    gradebook), then both `make autograde` runs at once; returns {"folders", "seconds"}."""
    notebooks = {student: course.filled(answers) for student, answers in
                 course.demo_submissions().items()}
    folders = {}
    for grader, students in GRADERS.items():
        folder = course.new_course(tmp_path_factory.mktemp(grader))
        with_gradebook(folder, postgres)
        folders[grader] = folder
    first, second = folders.values()
    course.release(first)  # the assignment, once, in the shared gradebook
    shutil.copytree(first / "release", second / "release")
    for grader, students in GRADERS.items():
        for student in students:
            course.submit(student, notebooks[student], folders[grader])
    started = time.monotonic()
    # What `make autograde` runs (grading/course.py autograde), on each assistant's folder.
    grade = ("from grading import course; "
             "print(course.autograde_class({folder!r}, workers=1, progress=False)[1])")
    runs = [subprocess.Popen(
        [sys.executable, "-c", grade.format(folder=str(f))],
        cwd=f, env=course.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True) for f in folders.values()]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-3000:]
    return {"folders": folders, "seconds": time.monotonic() - started, "outputs": outputs,
            "url": postgres}


def grades_in(url, students):
    """{student: {grade_id: score}} and the number of submissions of each, from `url`."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        grades = {student: {grade.name: grade.score for notebook in
                            gradebook.find_submission(course.ASSIGNMENT, student).notebooks
                            for grade in notebook.grades} for student in students}
        counts = {student: sum(1 for s in gradebook.assignment_submissions(course.ASSIGNMENT)
                               if s.student_id == student) for student in students}
    return grades, counts


def test_two_graders_at_once_leave_each_student_once_with_every_grade(two_graders):
    students = [s for group in GRADERS.values() for s in group]
    grades, counts = grades_in(two_graders["url"], students)
    assert counts == dict.fromkeys(students, 1), f"submissions per student: {counts}"
    rows = {student: len(cells) for student, cells in grades.items()}
    assert set(rows.values()) == {21}, f"grade rows per student (21 graded cells): {rows}"
    out = course.ROOT / "tests" / "out"
    out.mkdir(exist_ok=True)
    (out / "postgres_two_graders.md").write_text(
        f"Two `make autograde` runs at once against one PostgreSQL gradebook: "
        f"{len(students)} students, {sum(rows.values())} grade rows, one submission each, "
        f"{two_graders['seconds']:.0f} s.\n")


def test_the_shared_gradebook_gives_the_grades_sqlite_gives(two_graders, graded):
    """The same students as the session graded them, each in its course's SQLite gradebook."""
    students = [s for group in GRADERS.values() for s in group]
    shared, _ = grades_in(two_graders["url"], students)
    alone = {student: grades_in(f"sqlite:///{graded[student] / 'gradebook.db'}",
                                [student])[0][student] for student in students}
    assert shared == alone
