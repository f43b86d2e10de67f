"""A class graded on Dask, as on a cluster: a scheduler and two workers started as separate
processes on 127.0.0.1 (as separate machines would be), each in an empty folder of its own
where the course's package does not import (as on a machine without this repository); the
course reaches them only through the client. They talk
TLS with the course's certificates (`make certificates`), as the README's recipe does."""
import asyncio
import concurrent.futures
import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from distributed import Client
from distributed.security import Security

from grading import answers, course, dask_grading
from adversarial import CASES

MASTER = answers.master_solutions()
# This class's limits, shorter than the course's (300 s a notebook, 30 s a cell) to keep the test
# short, and apart enough for each of its two students to meet one limit only: a loaded machine
# takes up to 20 s to reach a student's second part.
TIME_LIMIT = 50  # seconds of one notebook (Sandbox.time_limit)
CELL_TIMEOUT = 20  # seconds of one cell (Execute.timeout), then nbgrader's interrupt
LIMITS = {"Sandbox": {"time_limit": TIME_LIMIT}, "Execute": {"timeout": CELL_TIMEOUT}}
# Hangs in its build_encoder cell and ignores nbgrader's interrupt at the cell timeout.
HANGS = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C no le llega\n"
         "while True:\n    pass\n")
# Every cell after its face_interpolation cell takes 15 s: under the cell timeout, over the
# notebook's time limit by the third interpolation test at the latest.
SLOW = MASTER["face_interpolation"] + (
    "\nimport time\nget_ipython().events.register('pre_run_cell', lambda *a: time.sleep(15))\n")
# {student: (notebook, expected total scores, what the report must note)}
CLASS = {
    "ana": (lambda: course.filled(answers.ALTERNATIVE), {100}, None),
    "cuelga": (lambda: course.filled({**MASTER, "build_encoder": HANGS}), {10}, "cell hung"),
    "muere": (CASES["adv_kernel_dies"].notebook, {85}, "kernel died"),
    "mata": (CASES["atk_mata_padre"].notebook, {85}, None),
    "vacio": (lambda: course.filled({}), {0}, None),
    # the interpolation tests cut by the limit score 0; those that ran before it keep theirs
    "zeta_lenta": (lambda: course.filled({**MASTER, "face_interpolation": SLOW}), {85, 88, 93},
                   "time limit"),
}
QUICK_CLASS = {student: CLASS[student] for student in ("ana", "muere", "mata", "vacio")}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tls_options(tls):
    return ["--tls-ca-file", str(tls / "ca.pem"), "--tls-cert", str(tls / "cluster.pem"),
            "--tls-key", str(tls / "cluster.key")]


def without_the_course_package(folder):
    """A folder that, first on PYTHONPATH, hides the course's package (installed in this
    environment) as a machine without this repository lacks it: its `grading` fails to import."""
    package = folder / "sin-paquete" / "grading"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(
        'raise ImportError("no course package on a machine of the cluster")\n')
    return package.parent


def dask_command(*args, folder):
    """Starts `dask <args>` in its own empty folder and session (so that it can be killed
    with its children), with the environment of a worker machine: no repository code (the
    course's package hidden), which the client ships."""
    folder.mkdir(parents=True, exist_ok=True)
    environment = {name: value for name, value in course.environment().items()
                   if name != "IPYTHONDIR"}
    environment["PYTHONPATH"] = str(without_the_course_package(folder))
    environment["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = "1.0"
    log = open(folder / "log.txt", "w")
    return subprocess.Popen([str(pathlib.Path(sys.executable).parent / "dask"), *args],
                            cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill(process):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def cluster(folder, workers=2):
    """(scheduler address, [worker processes], {pid: worker address}) of a scheduler and
    `workers` single-threaded workers, each a separate `dask` process on 127.0.0.1, talking
    TLS with the certificates of folder/tls (made here as `make certificates` makes them)."""
    tls = course.make_certificates(folder / "tls")
    address = f"tls://127.0.0.1:{free_port()}"
    processes = [dask_command("scheduler", "--protocol", "tls", "--host", "127.0.0.1",
                              "--port", address.rsplit(":", 1)[1], "--no-dashboard",
                              *tls_options(tls), folder=folder / "scheduler")]
    try:
        processes += [dask_command("worker", address, "--nthreads", "1", "--nworkers", "1",
                                   "--no-dashboard", "--host", "127.0.0.1", *tls_options(tls),
                                   folder=folder / f"worker{k}") for k in range(workers)]
        with Client(address, timeout=60, security=dask_grading.course_security(tls)) as client:
            client.wait_for_workers(workers, timeout=120)
            names = {pid: address for address, pid in client.run(os.getpid).items()}
        yield address, processes[1:], names
    finally:
        for process in processes:
            kill(process)


def grade(class_, running, name, settings=None):
    """`class_` graded on `running` (of the `two_workers` fixture) in a course folder `name`."""
    notebooks = {student: notebook() for student, (notebook, _, _) in class_.items()}
    graded = course.course_with(notebooks, running["folder"] / name)
    outcomes, report = course.autograde_class(graded, scheduler=running["scheduler"],
                                              settings=settings, progress=False,
                                              tls=running["folder"] / "tls")
    print(report)
    return graded, outcomes, report


def worker_of(process, names):
    """The address of the worker that the `dask worker` process (a nanny) started."""
    import psutil
    children = {child.pid for child in psutil.Process(process.pid).children(recursive=True)}
    return next(address for pid, address in names.items() if pid in children)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """The cluster of this module's classes, graded one after the other on it as an instructor
    grades two assignments: the class with the limits, then the one that loses a worker."""
    folder = tmp_path_factory.mktemp("dask-cluster")
    with cluster(folder) as (scheduler, workers, names):
        yield {"folder": folder, "scheduler": scheduler, "workers": workers, "names": names}


@pytest.fixture(scope="module")
def class_on_two_workers(two_workers):
    started = time.time()
    graded, outcomes, report = grade(CLASS, two_workers, "course", LIMITS)
    return {"course": graded, "outcomes": outcomes, "report": report, "started": started}


@pytest.fixture(scope="module")
def class_with_a_killed_worker(two_workers, class_on_two_workers):
    """The quick class graded on the same two workers (after the first class, which needs
    both), one of them SIGKILLed (with its kernel) while it grades a student, once another
    student has been graded."""
    scheduler, workers, names = (two_workers[key] for key in ("scheduler", "workers", "names"))
    victim = worker_of(workers[1], names)
    autograded = two_workers["folder"] / "killed" / "autograded"
    killed, graded_all = {}, threading.Event()
    security = dask_grading.course_security(two_workers["folder"] / "tls")

    def kill_the_victim_while_it_grades():
        with Client(scheduler, timeout=60, security=security) as watcher:
            while not killed and not graded_all.is_set():
                busy = watcher.processing().get(victim)
                if busy and autograded.exists() and any(autograded.iterdir()):
                    kill(workers[1])
                    killed.update(worker=victim, tasks=busy, at=time.time())
                time.sleep(0.2)

    threading.Thread(target=kill_the_victim_while_it_grades, daemon=True).start()
    graded, outcomes, report = grade(QUICK_CLASS, two_workers, "killed")
    graded_all.set()
    return {"course": graded, "outcomes": outcomes, "report": report, "killed": killed,
            "survivor": next(address for address in names.values() if address != victim)}


def gradebook_students(graded):
    with course.gradebook(graded) as gradebook:
        return sorted(submission.student.id
                      for submission in gradebook.assignment_submissions(course.ASSIGNMENT))


def test_local_cluster_grades_every_student_of_the_session_once(grading_run):
    graded = next(iter(grading_run["folders"].values()))
    expected = [s for s in grading_run["outcomes"] if s not in CASES or CASES[s].graded]
    not_graded = [s for s in expected if grading_run["outcomes"][s].score is None]
    assert not_graded == [], f"not graded: {not_graded}"
    assert gradebook_students(graded) == sorted(expected)


def test_every_student_but_each_workers_first_gets_a_kernel_started_before_their_turn(
        grading_run):
    graded = sorted((o for o in grading_run["outcomes"].values() if o.score is not None),
                    key=lambda outcome: outcome.started)
    firsts = {}
    for outcome in graded:
        firsts.setdefault(outcome.worker, outcome.student)
    waited = [o.student for o in graded
              if o.student not in firsts.values() and not o.timings.get("started_ahead")]
    assert waited == [], (f"each worker should start its next student's kernel while it grades "
                          f"the current one; these students' kernels were started on demand: "
                          f"{waited}")


def test_each_graded_student_says_where_its_seconds_went(grading_run):
    terms = {"sandbox", "kernel_start", "cells_notebook", "cells_tests", "observations",
             "verdicts", "kernel_end", "nbgrader", "task"}
    for outcome in grading_run["outcomes"].values():
        if outcome.score is not None:
            missing = terms - set(outcome.timings)
            assert not missing, f"{outcome.student}: no {sorted(missing)} in {outcome.timings}"


def test_a_class_on_a_scheduler_and_two_worker_processes_gets_the_expected_grades(
        class_on_two_workers):
    outcomes = class_on_two_workers["outcomes"]
    unexpected = {student: outcomes[student].score for student, (_, scores, _) in CLASS.items()
                  if outcomes[student].score not in scores}
    assert unexpected == {}, class_on_two_workers["report"]


def test_the_gradebook_holds_each_student_once(class_on_two_workers):
    assert gradebook_students(class_on_two_workers["course"]) == sorted(CLASS)


def test_the_students_own_failures_are_graded_and_reported_not_retried(class_on_two_workers):
    outcomes = class_on_two_workers["outcomes"]
    for student, (_, _, note) in CLASS.items():
        if note:
            assert note in outcomes[student].notes, class_on_two_workers["report"]
        assert not any("retried" in n or "regraded" in n for n in outcomes[student].notes), (
            class_on_two_workers["report"])


def test_a_hanging_student_holds_one_worker_slot_and_the_other_worker_never_waits(
        class_on_two_workers):
    """While the hanging student holds its worker, the other worker grades the rest of the
    class one student after another (no idle gap of more than 3 s while students are left)."""
    outcomes = class_on_two_workers["outcomes"]
    hanging = outcomes["cuelga"]
    start, end = hanging.started, hanging.started + hanging.seconds
    other = sorted((o.started, o.started + o.seconds) for o in outcomes.values()
                   if o.worker != hanging.worker)
    during = [(begin, finish) for begin, finish in other if finish > start and begin < end]
    assert len(during) >= 2, f"too few students graded during the hang:\n{outcomes}"
    idle_until = max(start, during[0][0] - 3)
    gaps = []
    for begin, finish in during:
        if begin - idle_until > 3:
            gaps.append(round(begin - idle_until, 1))
        idle_until = finish
    assert gaps == [], (f"the other worker sat idle {gaps} s while the hanging student was "
                        f"graded:\n{class_on_two_workers['report']}")


def test_the_notebook_time_limit_stops_a_slow_student_who_keeps_the_points_earned(
        class_on_two_workers):
    slow = class_on_two_workers["outcomes"]["zeta_lenta"]
    assert "time limit" in slow.notes and slow.seconds < TIME_LIMIT + 20, (
        class_on_two_workers["report"])


def test_a_worker_killed_mid_run_loses_no_student_and_grades_none_twice(
        class_with_a_killed_worker):
    run = class_with_a_killed_worker
    assert run["killed"], "the worker was never killed: the test did not test anything"
    unexpected = {student: run["outcomes"][student].score
                  for student, (_, scores, _) in QUICK_CLASS.items()
                  if run["outcomes"][student].score not in scores}
    assert unexpected == {}, run["report"]
    assert gradebook_students(run["course"]) == sorted(QUICK_CLASS)


def test_the_student_graded_on_the_killed_worker_is_regraded_on_the_other(
        class_with_a_killed_worker):
    run = class_with_a_killed_worker
    regraded = [student for student, outcome in run["outcomes"].items()
                if any("regraded" in note for note in outcome.notes)]
    assert regraded, f"no student was regraded after the kill:\n{run['report']}"
    for student in regraded:
        assert run["outcomes"][student].worker == run["survivor"], run["report"]


@pytest.fixture(scope="module")
def tls_scheduler(two_workers):
    """The module's scheduler, speaking TLS with the course's certificates, and a second CA's
    certificates (someone else's)."""
    folder = two_workers["folder"]
    return two_workers["scheduler"], folder / "tls", course.make_certificates(folder / "otra")


def test_a_client_without_a_certificate_cannot_reach_the_tls_scheduler(tls_scheduler):
    address, _, _ = tls_scheduler
    with pytest.raises((OSError, TimeoutError)):
        Client(address.replace("tls://", "tcp://"), timeout=5)
    with pytest.raises(TypeError, match="TLS expects"):
        Client(address, timeout=5)  # tls:// without credentials


def test_a_client_with_another_cas_certificate_is_refused(tls_scheduler):
    address, _, other = tls_scheduler
    security = Security(tls_ca_file=str(other / "ca.pem"),
                        tls_client_cert=str(other / "instructor.pem"),
                        tls_client_key=str(other / "instructor.key"), require_encryption=True)
    with pytest.raises((OSError, TimeoutError)):
        Client(address, timeout=5, security=security)


def test_the_instructors_certificate_reaches_the_workers(tls_scheduler):
    """(An asynchronous client, in an event loop of its own: a synchronous one starts its own
    loop thread and gives that 10 s, which a busy 2-core machine has once missed. The loop runs
    in a thread of its own: the session's Chromium, Playwright's synchronous API, keeps one
    running in the test's.)"""
    address, tls, _ = tls_scheduler

    async def sum_on_a_worker():
        async with Client(address, asynchronous=True, timeout=30,
                          security=dask_grading.course_security(tls)) as client:
            return await asyncio.wait_for(client.submit(sum, [1, 2], pure=False), 60)

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, sum_on_a_worker()).result() == 3


def test_autograde_refuses_a_scheduler_without_tls():
    with pytest.raises(ValueError, match="TLS only"):
        with dask_grading.connect("tcp://127.0.0.1:8786"):
            pass


def test_workers_without_bubblewrap_stop_the_class_before_anyone_is_graded(tmp_path,
                                                                          monkeypatch):
    """The Dask path: where the workers cannot sandbox (here: no bwrap on their PATH), the
    client stops with one sentence before sending any student, and autograded/ stays empty."""
    from test_grading import path_without

    graded = course.course_with({"ana": course.filled(answers.ALTERNATIVE)}, tmp_path / "curso")
    without = path_without(tmp_path / "bin", "bwrap")
    monkeypatch.setattr(course, "worker_environment",
                        lambda: {**course.environment(), "PATH": str(without)})
    with pytest.raises(SystemExit) as stop:
        course.autograde_class(graded, workers=1, progress=False)
    assert str(stop.value).startswith("Cannot sandbox the students' kernels on 1 worker(s)")
    assert "bwrap is not installed" in str(stop.value) and "bubblewrap" in str(stop.value)
    assert not (graded / "autograded").exists() or not any((graded / "autograded").iterdir())
