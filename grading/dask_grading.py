"""Grading a class on Dask (`distributed`): one task per student, on any Dask cluster.

The client is the instructor's machine, where the course is. It ships the course's grading
files (COURSE_FILES) to every worker once, as a worker plugin, and each task one student's
submitted folder, as bytes; each task returns the autograded folder and the grades and comments
as data, which the client writes into the course's autograded/ and its one gradebook as they
arrive. No file system is shared and no code of this repository is needed on a worker or on
the scheduler: a worker needs the course's Python environment (requirements.txt), Debian's
bubblewrap, and the data set (SCIKIT_LEARN_DATA). The plugins and the functions the client runs
there travel by value (cloudpickle); each task names `grade_student` of the course's package,
which the worker plugin installs on the worker's path and, where the scheduler cannot import
it (it unpickles every task), the scheduler plugin on the scheduler's.

On a worker, `CourseOnWorker.setup` installs the course in the worker's folder and runs
nbgrader's generate_assignment there once: the gradebook every student starts from. Each task
then grades its student through nbgrader's Python API, in the worker's own process, in a private
course made for that student (that gradebook, the source, the submission) and with a new
sandboxed kernel (grading/sandbox.py); nbgrader, TensorFlow and the grader stay imported from one
student to the next.

Failures are of two kinds. The machine's: a worker that dies (Dask gives its task to another
worker, and reports a student whose task was on ALLOWED_FAILURES + 1 dying workers), or an
autograde that did not finish, such as a kernel that did not start (InfrastructureError, retried
RETRIES times). The student's: a cell's timeout, a kernel the student killed, the notebook's
time limit; those are graded as they are, never retried; and a notebook nbgrader refuses
(REFUSALS), reported not graded, never retried.
"""
import contextlib
import copy
import dataclasses
import hashlib
import os
import pathlib
import shutil
import sys
import tempfile
import time
import warnings

import cloudpickle
import dask
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin
from sqlalchemy.exc import SAWarning

# The plugins (and the functions of client.run) are unpickled before the course's package is
# on the path of the worker or the scheduler: they travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ASSIGNMENT = "vae_olivetti"
COURSE_FILES = ("nbgrader_config.py", "grading", "student_kernel", "source")
PLUGIN = "vae-olivetti-course"
SCHEDULER_PLUGIN = "vae-olivetti-course-package"
RETRIES = 2  # an autograde that did not finish is tried 3 times in all
ALLOWED_FAILURES = 3  # Dask's default: a task on 4 workers that died is given up
SETTINGS = {
    # At most one task waiting per worker thread, so that a student who takes long holds up
    # nobody queued behind them (Dask's default, 1.1, lets a second one wait on that worker).
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
}
# What the log of a graded student tells about the student's own failures (grading/sandbox.py
# and nbclient write these lines).
INCIDENTS = {"died in cell": "kernel died", "stopped at the time limit": "time limit",
             "Timeout waiting for execute reply": "cell timeout",
             "did not answer the interrupt": "cell hung", "Fork bomb": "fork bomb",
             "WITHOUT the sandbox": "not sandboxed"}


# What the log of an autograde that did not finish says when nbgrader refused the notebook
# itself: the student's doing, reported once and never retried.
REFUSALS = {"the nbgrader metadata may be corrupted":
            "nbgrader refused the notebook: its nbgrader metadata is corrupted (a test or "
            "read-only cell's metadata was changed)"}


def refusal_in(log):
    return next((why for line, why in REFUSALS.items() if line in log), None)


class InfrastructureError(RuntimeError):
    """nbgrader did not finish grading a student, for a reason of the machine's (retried)."""


class SandboxUnavailable(RuntimeError):
    """A worker cannot sandbox the kernels: nobody is graded (one sentence says why)."""


def folder_as_data(folder):
    """{relative path: bytes} of every file under `folder`."""
    folder = pathlib.Path(folder)
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts}


def course_config(course, settings=None):
    """The course's nbgrader configuration (nbgrader_config.py, with `settings` over it)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.merge(Config(settings or {}))
    return config


def submission_limits(course, settings):
    """{"max_bytes", "max_files"} of the course's SubmissionFiles configuration."""
    from grading.submission_files import configured_limits  # the client's side

    return configured_limits(course_config(course, settings))


def gradebook_url(course, settings=None):
    """The course's gradebook: CourseDirectory.db_url of its configuration (SQLite in the
    course folder by default; PostgreSQL for several graders: README)."""
    from nbgrader.coursedir import CourseDirectory

    config = course_config(course, settings)
    if "db_url" in config.get("CourseDirectory", {}):
        return config.CourseDirectory.db_url
    return CourseDirectory(root=str(pathlib.Path(course).resolve())).db_url


def submission_as_data(folder, limits, notebooks):
    """(files, notes) of a student's submitted assignment folder, read as an attacker's:
    regular files only, never a link, within the size and count limits (`limits`:
    grading/submission_files.py); the files are named as nbgrader finds them in
    submitted/<student>/."""
    from grading import submission_files

    submission = submission_files.read_submission(folder, notebooks=notebooks, **limits)
    return ({f"{ASSIGNMENT}/{name}": content for name, content in submission.files.items()},
            submission.notes())


def write_folder(files, folder):
    for name, content in files.items():
        path = pathlib.Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def course_as_data(course):
    """The files a worker needs to grade the course (no gradebook, no student)."""
    files = {}
    for name in COURSE_FILES:
        path = pathlib.Path(course) / name
        if path.is_dir():
            files.update({f"{name}/{inner}": content
                          for inner, content in folder_as_data(path).items()})
        elif path.is_file():
            files[name] = path.read_bytes()
    return files


def digest_of(files):
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def run_nbgrader(app_class, root, config, student="*"):
    """Runs one nbgrader converter (Autograde, GenerateAssignment) in this process on the
    course folder `root`; returns nbgrader's {"success", "log", "error"}."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    # The worker's private gradebook, whatever the course's own is (the client records).
    coursedir = CourseDirectory(config=config, root=str(root), assignment_id=ASSIGNMENT,
                                student_id=student,
                                db_url=f"sqlite:///{pathlib.Path(root) / 'gradebook.db'}")
    app = app_class(coursedir=coursedir, config=config)
    app.force = True
    if hasattr(app, "create_student"):
        app.create_student = True
    return capture_log(app)


def failure_of(outcome):
    """The last lines of a failed nbgrader run's log and error."""
    text = (outcome.get("log", "") + outcome.get("error", "")).strip().splitlines()
    return "\n".join(text[-12:])


def import_tensorflow_quietly():
    """Imports TensorFlow and creates its eager context with file descriptor 2 on /dev/null:
    at start-up its C++ side writes a few lines (oneDNN, no CUDA) that ignore
    TF_CPP_MIN_LOG_LEVEL and would fill the instructor's terminal, once per worker."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf
        tf.zeros(1).numpy()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def use_course_package(folder):
    """Makes `folder`/grading the package `grading` of this process: first on the path, and the
    modules of another version of the course (or of the environment) forgotten."""
    sys.path[:] = [str(folder)] + [entry for entry in sys.path
                                   if not pathlib.Path(entry).name.startswith("course-")]
    for name in list(sys.modules):
        if name in ("grading", "observador") or name.startswith("grading."):
            del sys.modules[name]


class PackageOnScheduler(SchedulerPlugin):
    """The course's package, on a scheduler that cannot import it: the scheduler unpickles each
    task, a reference to grading.dask_grading.grade_student. (A local cluster's scheduler runs
    in the instructor's process, which has it.)"""

    name = SCHEDULER_PLUGIN

    def __init__(self, files):
        self.files = {name: content for name, content in files.items()
                      if name.startswith("grading/")}
        self.digest = digest_of(self.files)

    async def start(self, scheduler):
        try:
            import grading.dask_grading  # noqa: F401
        except ImportError:
            folder = pathlib.Path(scheduler.local_directory) / f"course-{self.digest[:16]}"
            write_folder(self.files, folder)
            use_course_package(folder)


class CourseOnWorker(WorkerPlugin):
    """The course, installed on every worker of the cluster (those that join later too)."""

    name = PLUGIN

    def __init__(self, files, settings=None):
        self.files = files
        self.settings = settings or {}
        self.digest = digest_of(files)
        self.folder = self.config = self.sandbox_problem = None

    def setup(self, worker):
        from nbgrader.converters import GenerateAssignment
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        self.folder = pathlib.Path(worker.local_directory) / f"course-{self.digest[:16]}"
        shutil.rmtree(self.folder, ignore_errors=True)
        write_folder(self.files, self.folder)
        self.files = None  # on disk now
        use_course_package(self.folder)
        # nbgrader shells out to alembic, which is in the environment's bin.
        os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable),
                                              os.environ.get("PATH", "")])
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.folder)).load_config()
        self.config.merge(Config(self.settings))
        from grading import sandbox  # this course's, as nbgrader_config.py names it
        if sandbox.Sandbox(config=self.config).isolate:
            self.sandbox_problem = sandbox.sandbox_problem()
            if self.sandbox_problem:
                return  # grade_class stops before grading anyone
        sandbox.kernel_pool().more_may_come = True  # students come one task at a time
        import_tensorflow_quietly()  # the grader's verdicts use it
        outcome = run_nbgrader(GenerateAssignment, self.folder, self.config)
        if not outcome["success"]:
            raise InfrastructureError(f"generate_assignment failed on {worker.address}:\n"
                                      f"{failure_of(outcome)}")

    def teardown(self, worker):
        """The kernel the worker started ahead for its next student ends with the course."""
        sandbox = sys.modules.get("grading.sandbox")
        if sandbox is not None:
            sandbox.kernel_pool().close()


def incidents_in(log):
    """The student's own failures that the grading log reports, e.g. ["cell timeout x2"]."""
    found = []
    for line, incident in INCIDENTS.items():
        count = log.count(line)
        if count:
            found.append(incident + (f" x{count}" if count > 1 else ""))
    return found


def gradebook_entries(root, student):
    """The student's submission in the gradebook of `root`, as data."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{pathlib.Path(root) / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {"timestamp": submission.timestamp, "notebooks": {
            notebook.name: {
                "grades": {grade.name: (grade.auto_score, grade.needs_manual_grade)
                           for grade in notebook.grades},
                "comments": {comment.name: comment.auto_comment
                             for comment in notebook.comments},
                "late_submission_penalty": notebook.late_submission_penalty}
            for notebook in submission.notebooks}}


def grade_student(student, submission, digest):
    """The task: grades one student on this worker; returns what the client records."""
    from nbgrader.converters import Autograde

    started = time.time()
    worker = get_worker()
    course = worker.plugins.get(PLUGIN)
    if course is None or course.digest != digest:
        raise InfrastructureError(f"worker {worker.address} holds another version of the course")
    if course.sandbox_problem:
        raise InfrastructureError(f"worker {worker.address} cannot sandbox the kernels: "
                                  f"{course.sandbox_problem}")
    with tempfile.TemporaryDirectory(prefix=f"autograde-{student}-",
                                     dir=worker.local_directory) as root:
        root = pathlib.Path(root)
        shutil.copy(course.folder / "gradebook.db", root / "gradebook.db")
        (root / "source").symlink_to(course.folder / "source")
        write_folder(submission, root / "submitted" / student)
        with warnings.catch_warnings():  # (see `record`)
            warnings.simplefilter("ignore", SAWarning)
            autograde_started = time.time()
            outcome = run_nbgrader(Autograde, root, copy.deepcopy(course.config), student)
        if not outcome["success"]:
            refused = refusal_in(outcome.get("log", "") + outcome.get("error", ""))
            if refused:  # the student's own notebook: reported, not retried
                return {"student": student, "refused": refused, "worker": worker.address}
            raise InfrastructureError(f"nbgrader autograde of {student} did not finish on "
                                      f"{worker.address}:\n{failure_of(outcome)}")
        log = outcome.get("log", "")
        graded = time.time()
        result = {"student": student, "autograded": folder_as_data(root / "autograded" / student),
                  "gradebook": gradebook_entries(root, student), "log": log,
                  "incidents": incidents_in(log), "worker": worker.address,
                  "started": started, "seconds": time.time() - started}
    result["timings"] = timings_of(student, autograde=autograde_started, graded=graded,
                                   started=started, ended=time.time())
    return result


# The sandbox's and the verdicts' own measures (grading/sandbox.py, course_preprocessors.py),
# which `nbgrader autograde` runs; the rest of its time is nbgrader's own work.
INSIDE_AUTOGRADE = ("sandbox", "kernel_start", "cells_notebook", "cells_tests", "kernel_end",
                    "verdicts")


def timings_of(student, autograde, graded, started, ended):
    """Where one student's seconds went in the worker: the terms the sandbox and the verdicts
    measured (course_preprocessors.TIMINGS), nbgrader's own work around them, and the task's
    own work (the private course, the results as data)."""
    timings = sys.modules["grading.course_preprocessors"].TIMINGS.pop(student, {})
    inside = sum(timings.get(name, 0) for name in INSIDE_AUTOGRADE)
    timings["nbgrader"] = max(0.0, graded - autograde - inside)
    timings["task"] = (autograde - started) + (ended - graded)
    return timings


def record(course, result):
    """Writes one graded student into the course: autograded/ and the gradebook."""
    from grading import not_graded  # the client's side

    student = result["student"]
    not_graded.clear(course, student, ASSIGNMENT)
    target = pathlib.Path(course) / "autograded" / student
    shutil.rmtree(target, ignore_errors=True)
    write_folder(result["autograded"], target)
    entries = result["gradebook"]
    with open_gradebook(course) as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission makes SQLAlchemy warn about its own backrefs ("Object of
        # type <SubmittedAssignment> not in session"); the rows are added all the same.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        gradebook.update_or_create_submission(ASSIGNMENT, student,
                                              timestamp=entries["timestamp"])
        for name, notebook in entries["notebooks"].items():
            where = (name, ASSIGNMENT, student)
            for grade_id, (score, needs_manual_grade) in notebook["grades"].items():
                grade = gradebook.find_grade(grade_id, *where)
                grade.auto_score, grade.needs_manual_grade = score, needs_manual_grade
            for comment_id, text in notebook["comments"].items():
                gradebook.find_comment(comment_id, *where).auto_comment = text
            gradebook.find_submission_notebook(*where).late_submission_penalty = (
                notebook["late_submission_penalty"])
        gradebook.db.commit()


def open_gradebook(course, settings=None):
    from nbgrader.api import Gradebook
    return Gradebook(gradebook_url(course, settings))


@dataclasses.dataclass
class Outcome:
    """How one student's grading ended, for the report."""
    student: str
    score: float = None  # None: not graded
    seconds: float = None
    started: float = None  # time.time() on the worker
    worker: str = ""
    notes: list = dataclasses.field(default_factory=list)
    log: str = ""
    timings: dict = dataclasses.field(default_factory=dict)  # {term: seconds} (timings_in)


def course_security(folder):
    """The instructor's TLS credentials for the course's cluster (`make certificates`): the
    course CA, and the instructor's certificate and key; encryption required."""
    from distributed.security import Security

    folder = pathlib.Path(folder)
    missing = [name for name in ("ca.pem", "instructor.pem", "instructor.key")
               if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"no {', '.join(missing)} in {folder}: run `make certificates` "
                                "and give the cluster its certificates (README)")
    return Security(tls_ca_file=str(folder / "ca.pem"),
                    tls_client_cert=str(folder / "instructor.pem"),
                    tls_client_key=str(folder / "instructor.key"), require_encryption=True)


@contextlib.contextmanager
def connect(scheduler=None, workers=None, environment=None, security=None):
    """A client of the cluster at `scheduler` (tls://host:port, with the course's `security`),
    or of a new LocalCluster of `workers` single-threaded worker processes (one per core by
    default), which talk TLS with credentials made for it alone."""
    from distributed.security import Security

    with dask.config.set(SETTINGS):
        if scheduler:
            if not scheduler.startswith("tls://"):
                raise ValueError(f"{scheduler}: the course's cluster speaks TLS only "
                                 "(tls://host:port; README)")
            with Client(scheduler, security=security) as client:
                yield client
            return
        with LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                          processes=True, dashboard_address=None, env=environment or {},
                          protocol="tls://", host="127.0.0.1",
                          security=Security.temporary()) as cluster, \
                Client(cluster) as client:
            yield client


def submissions_of(course):
    folder = pathlib.Path(course) / "submitted"
    return sorted(path.name for path in folder.iterdir() if path.is_dir())


def sandbox_problem_of(dask_worker=None):
    """Why this worker cannot sandbox the students' kernels (None when it can)."""
    course = dask_worker.plugins.get(PLUGIN)
    return course.sandbox_problem if course else "the course is not installed on it"


def attempts_of(key, dask_scheduler=None):
    """(workers that died with the task, retries used), read on the scheduler."""
    task = dask_scheduler.tasks.get(key)
    return (task.suspicious, RETRIES - task.retries) if task is not None else (0, 0)


def grade_class(course, client, settings=None, progress=None):
    """Grades every student in the course's submitted/ on the cluster of `client`: at most a
    few tasks per worker thread are out at a time (read from disk when sent), and each result
    is written into the course as it arrives. Returns {student: Outcome}."""
    from tqdm import tqdm

    from grading import not_graded  # the client's side

    course = pathlib.Path(course)
    with open_gradebook(course) as gradebook:
        gradebook.find_assignment(ASSIGNMENT)  # MissingEntry: run generate_assignment first
    files = course_as_data(course)
    client.register_plugin(PackageOnScheduler(files), name=SCHEDULER_PLUGIN)
    client.register_plugin(CourseOnWorker(files, settings), name=PLUGIN)
    problems = {worker: problem for worker, problem in
                client.run(sandbox_problem_of).items() if problem}
    if problems:
        worker, problem = sorted(problems.items())[0]
        raise SandboxUnavailable(
            f"Cannot sandbox the students' kernels on {len(problems)} worker(s) (on {worker}: "
            f"{problem}); on each worker, install Debian's bubblewrap package (apt-get install "
            "bubblewrap), or grade without the sandbox with --no-sandbox (see README).")
    digest = digest_of(files)
    students = submissions_of(course)
    outcomes = {student: Outcome(student) for student in students}
    limits = submission_limits(course, settings)
    notebooks = tuple(sorted(path.name
                             for path in (course / "source" / ASSIGNMENT).glob("*.ipynb")))
    waiting = list(reversed(students))
    running = as_completed()
    student_of = {}  # task key -> student
    failed = 0
    bar = tqdm(total=len(students), unit="student", desc="autograde", file=progress,
               disable=progress is False, smoothing=0)

    def send():
        window = max(2, 2 * sum(client.nthreads().values()))
        while waiting and running.count() < window:
            student = waiting.pop()
            files, notes = submission_as_data(course / "submitted" / student / ASSIGNMENT,
                                              limits, notebooks)
            outcomes[student].notes.extend(notes)
            refused = not_gradable(files, notebooks)
            if refused:  # the student's, never sent: no row in the gradebook
                outcomes[student].notes.append(f"NOT GRADED: {refused}")
                not_graded.record(course, student, ASSIGNMENT, refused)
                bar.update(1)
                continue
            future = client.submit(
                grade_student, student, files, digest,
                key=f"autograde-{student}-{time.time_ns()}", retries=RETRIES, pure=False)
            student_of[future.key] = student
            running.add(future)

    send()
    for future in running:
        student = student_of.pop(future.key)
        died, retried = client.run_on_scheduler(attempts_of, future.key)
        result = future.result() if future.status == "finished" else None
        if result and "refused" in result:
            failed += 1
            outcomes[student].notes.append(f"NOT GRADED: {result['refused']}")
            not_graded.record(course, student, ASSIGNMENT, result["refused"])
        elif result:
            record(course, result)
            outcomes[student] = Outcome(student, total_score(result), result["seconds"],
                                        result["started"], result["worker"],
                                        outcomes[student].notes + list(result["incidents"]),
                                        result["log"], result["timings"])
        else:
            failed += 1
            error = future.exception()
            outcomes[student].notes.append(f"NOT GRADED: {type(error).__name__}: "
                                           f"{str(error).strip()}")
        if died:
            outcomes[student].notes.append(f"regraded: {died} worker(s) died grading it")
        if retried:
            outcomes[student].notes.append(f"retried {retried}x (infrastructure)")
        future.release()
        bar.update(1)
        bar.set_postfix_str(f"{failed} failed, {len(students) - bar.n} left")
        send()
    bar.close()
    return outcomes


def not_gradable(files, notebooks):
    """Why a submission (as data) cannot be graded, read on the client before it is sent:
    no notebook, or one that cannot be read (grading/not_graded.py); None when it can."""
    from grading import not_graded  # the client's side

    found = [files[f"{ASSIGNMENT}/{name}"] for name in notebooks
             if f"{ASSIGNMENT}/{name}" in files]
    if not found:
        return not_graded.NO_NOTEBOOK
    why = next(filter(None, map(not_graded.unreadable, found)), None)
    return f"the notebook cannot be read: {why}" if why else None


def total_score(result):
    return sum(score or 0 for notebook in result["gradebook"]["notebooks"].values()
               for score, _ in notebook["grades"].values())


def report(outcomes, seconds, workers):
    """The summary printed at the end: one line per student, then the totals."""
    width = max([len(student) for student in outcomes] + [7])
    lines = [f"{'student':<{width}}  {'score':>5}  {'seconds':>7}  worker / notes"]
    for outcome in outcomes.values():
        score = "-" if outcome.score is None else f"{outcome.score:g}"
        took = "-" if outcome.seconds is None else f"{outcome.seconds:.1f}"
        notes = "; ".join([outcome.worker] + outcome.notes if outcome.worker else outcome.notes)
        lines.append(f"{outcome.student:<{width}}  {score:>5}  {took:>7}  {notes}")
    graded = [o for o in outcomes.values() if o.score is not None]
    busy = sum(o.seconds for o in graded)
    lines.append(f"Graded {len(graded)} of {len(outcomes)} students in {seconds:.0f} s on "
                 f"{workers} worker thread(s)" + (f"; {busy / len(graded):.1f} s per student "
                                                  f"in a worker" if graded else "") + ".")
    not_graded = [o.student for o in outcomes.values() if o.score is None]
    if not_graded:
        lines.append(f"NOT GRADED ({len(not_graded)}): {', '.join(not_graded)}: see their notes; "
                     "grade them again with the same command once the cause is fixed.")
    return "\n".join(lines)
