"""The sandbox around each student's kernel, and the hidden checks decided outside it.

The attacks themselves are graded with everyone else (tests/adversarial.py, ATTACKS) and their
grades checked by test_robustness.py; here: what the sandbox lets a kernel see and do, what the
attacks left behind, and what happens where bubblewrap cannot run.
"""
import contextlib
import html
import json
import os
import pathlib
import stat
import subprocess
import sys

import nbformat
import pytest

from grading import course
from conftest import FULL, autograded_notebook, points_by_part, student_with_wrong

INSIDE = """
import json, os, resource, socket, subprocess
def probe(action):
    try:
        return repr(action())
    except Exception as error:
        return type(error).__name__
# What an earlier kernel would have left, were kernels ever shared.
traces = [path for path in ("/tmp/huella", "borrador.txt") if os.path.exists(path)]
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
seen = {
    "uid": os.getuid(),
    "uid_map": open("/proc/self/uid_map").read().split(),
    "capabilities": int(status["CapEff"], 16),
    "no_new_privs": int(status["NoNewPrivs"]),
    "cwd": os.getcwd(),
    "course": probe(lambda: os.listdir(COURSE)),
    "source": probe(lambda: os.listdir(os.path.join(COURSE, "source"))),
    "grader": probe(lambda: open(os.path.join(COURSE, "grading", "calificador.py")).read(1)),
    "home": [os.path.join(folder, name) for folder, _, names in os.walk(HOME)
             if not folder.startswith(PYTHON) for name in names],
    "observer": probe(lambda: open("/calificacion/observador.py").read(1)),
    "write_observer": probe(lambda: open("/calificacion/observador.py", "a").write("x")),
    "write_python": probe(lambda: open(os.path.join(os.__file__ + ".x"), "w")),
    "write_own_folder": probe(lambda: open("borrador.txt", "a").write("x")),
    "internet": probe(lambda: socket.create_connection(("1.1.1.1", 80), timeout=3)),
    "loopback": probe(lambda: socket.create_connection(("127.0.0.1", 22), timeout=3)),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "limits": [resource.getrlimit(limit)[0] for limit in (
        resource.RLIMIT_NPROC, resource.RLIMIT_AS, resource.RLIMIT_FSIZE)],
    "seed": os.environ.get("CALIFICACION_SEMILLA"),
    "observer_loaded": "_observador" in globals(),
    "namespaces": [os.readlink(f"/proc/self/ns/{kind}") for kind in ("pid", "mnt", "net")],
    "traces_found": traces,
}
open("/tmp/huella", "w").write("x")
stray = subprocess.Popen(["sleep", "60"])
print(json.dumps(seen))
"""
# The next cell: was the process the first cell left running killed after it? And do two
# processes that each fill 2.5 GB fit in the sandbox together? (Its cgroup holds 4 GiB.)
AFTER = """
import sys
hogs = [subprocess.Popen([sys.executable, "-c", "import time; b = b'1' * 2_500_000_000; "
                          "time.sleep(4); print('full')"], stdout=subprocess.PIPE, text=True)
        for _ in range(2)]
print(json.dumps({"stray": os.path.exists(f"/proc/{stray.pid}"),
                  "hogs": [h.communicate()[0].strip() for h in hogs]}))
"""


def start_probe(folder, as_nobody):
    """Starts tests/sandbox_probe.py on the probe notebook in `folder`, as this process's user
    or as nobody; returns the running process."""
    folder.chmod(0o777)  # the unprivileged user writes here too
    (folder / "tarea").mkdir()
    (folder / "tarea" / "datos.txt").write_text("del estudiante")
    home = folder / "casa" if as_nobody else pathlib.Path.home()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"COURSE, HOME, PYTHON = {str(course.ROOT)!r}, {str(home)!r}, "
        f"{sys.base_prefix!r}\n" + INSIDE), nbformat.v4.new_code_cell(AFTER)])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}
    nbformat.write(notebook, folder / "sonda.ipynb")
    command = [sys.executable, str(course.ROOT / "tests" / "sandbox_probe.py"),
               str(folder / "sonda.ipynb"), str(folder / "tarea")]
    environment = course.environment()
    if as_nobody:
        home.mkdir()
        for path in folder.rglob("*"):
            os.chown(path, UNPRIVILEGED, UNPRIVILEGED)
        command = ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}",
                   "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"] + command
        environment = {**environment, "HOME": str(home), "TMPDIR": str(folder)}
    return subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """{mode: what the probe saw} of kernels started by SandboxedExecute (the course's
    autograde executor), run at once: by this process's user and, where that is root, by an
    unprivileged user too (the rootless sandbox: a user namespace per kernel). Modes: "root"
    or "unprivileged"."""
    as_root = os.geteuid() == 0
    runs = {("root" if as_root else "unprivileged"): False}
    if as_root:
        runs["unprivileged"] = True  # nobody, through setpriv
    folders = {mode: tmp_path_factory.mktemp("sonda") for mode in runs}
    data = pathlib.Path(course.environment().get("SCIKIT_LEARN_DATA", course.ROOT))
    with reachable_by_everyone(*folders.values(), course.ROOT, data,
                               pathlib.Path(sys.executable).resolve()):
        processes = {mode: start_probe(folders[mode], nobody) for mode, nobody in runs.items()}
        results = {mode: process.communicate(timeout=300) for mode, process in processes.items()}
    seen = {}
    for mode, (stdout, stderr) in results.items():
        assert processes[mode].returncode == 0, stderr[-3000:]
        students = []
        for report in json.loads(stdout.strip().splitlines()[-1]):
            first, second = ([output for output in outputs
                              if output["output_type"] == "stream"][-1]
                             for outputs in report["outputs"])
            students.append({**json.loads(first["text"]), **json.loads(second["text"]),
                             "mode": mode, "grading seed": report["seed"],
                             "folder": folders[mode] / "tarea"})
        seen[mode] = {**students[0], "next student": students[1]}
    return seen


@pytest.fixture(params=["root", "unprivileged"])
def seen_from_inside(request, probes):
    """What the kernel saw, in each mode (as root, and rootless)."""
    if request.param not in probes:
        pytest.skip("becoming another user needs root: the rootless mode was tested as the "
                    "grader itself")
    return probes[request.param]


UNPRIVILEGED = 65534  # nobody


@contextlib.contextmanager
def reachable_by_everyone(*paths):
    """Lets other users traverse `paths` and the folders above them (o+x) for the length of
    the block: the venv's Python may live under /root, which is mode 700."""
    changed = {}
    for path in paths:
        for folder in [path, *path.parents] if path.is_dir() else path.parents:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH and folder not in changed:
                changed[folder] = mode
                folder.chmod(mode | stat.S_IXOTH)
    try:
        yield
    finally:
        for folder, mode in changed.items():
            folder.chmod(stat.S_IMODE(mode))


def test_the_kernel_runs_as_a_user_of_its_own_with_no_capabilities(seen_from_inside):
    if seen_from_inside["mode"] == "root":
        assert seen_from_inside["uid"] >= 100_000
    else:  # a user namespace of its own, with one user in it
        assert len(seen_from_inside["uid_map"]) == 3 and seen_from_inside["uid_map"][2] == "1"
    assert seen_from_inside["capabilities"] == 0
    assert seen_from_inside["no_new_privs"] == 1


def test_the_kernel_has_its_limits(seen_from_inside):
    assert seen_from_inside["limits"] == [512, 8 << 30, 1 << 30]


def test_what_a_cell_leaves_running_is_killed_after_it(seen_from_inside):
    assert seen_from_inside["stray"] is False, "the sleep the first cell started still runs"


def test_as_root_the_sandbox_shares_one_memory_limit_between_its_processes(seen_from_inside):
    """Two processes of 2.5 GB each fit the per-process limit (8 GiB of address space) but
    not the sandbox's cgroup (4 GiB): one of them is killed."""
    if seen_from_inside["mode"] != "root":
        pytest.skip("without root there is no cgroup: the limits are per process (README)")
    assert seen_from_inside["hogs"].count("full") == 1, seen_from_inside["hogs"]


def test_the_kernel_cannot_see_the_course_the_grader_or_the_instructors_home(seen_from_inside):
    assert seen_from_inside["course"] in ("FileNotFoundError", repr([".venv"])), (
        "only the environment of the course folder may be visible")
    for what in ("source", "grader"):
        assert seen_from_inside[what] == "FileNotFoundError", (what, seen_from_inside[what])
    assert seen_from_inside["home"] == [], "files of the instructor's home outside Python"


def test_the_kernel_reads_but_cannot_change_the_observer_and_python(seen_from_inside):
    assert seen_from_inside["observer"] == repr('"')
    assert seen_from_inside["observer_loaded"] is True
    for what in ("write_observer", "write_python"):
        assert seen_from_inside[what] in ("OSError", "PermissionError"), what


def test_the_kernel_writes_only_in_a_scratch_copy_of_its_folder(seen_from_inside):
    assert seen_from_inside["cwd"] == "/home/estudiante/tarea"
    assert seen_from_inside["write_own_folder"] == "1"
    assert not (seen_from_inside["folder"] / "borrador.txt").exists(), (
        "the student's writes must not reach the real folder")


def test_the_kernel_has_no_network(seen_from_inside):
    assert seen_from_inside["internet"] == "OSError"
    assert seen_from_inside["loopback"] in ("OSError", "ConnectionRefusedError")


def test_the_kernel_sees_only_its_own_processes(seen_from_inside):
    assert seen_from_inside["processes"] == [1, 2], seen_from_inside["processes"]


def test_the_kernel_gets_the_grading_seed_the_checker_uses(seen_from_inside):
    assert seen_from_inside["seed"] == str(seen_from_inside["grading seed"])


def test_a_kernel_started_ahead_serves_one_student_and_finds_no_trace_of_the_last(
        seen_from_inside):
    first, second = seen_from_inside, seen_from_inside["next student"]
    assert first["traces_found"] == [] and second["traces_found"] == [], (
        "each kernel should start in a sandbox of its own, with an empty /tmp and a fresh copy "
        f"of its folder; found {first['traces_found']} then {second['traces_found']}")
    assert set(first["namespaces"]).isdisjoint(second["namespaces"]), (
        f"two students shared a namespace: {first['namespaces']} / {second['namespaces']}")
    assert first["grading seed"] != second["grading seed"]
    assert second["seed"] == str(second["grading seed"])
    assert second["observer_loaded"] and second["processes"] == [1, 2]


def test_no_submission_changed_a_course_file(grading_run):
    before, after = grading_run["files before"], grading_run["files after"]
    changed = sorted(path for path in before if before[path] != after.get(path))
    assert changed == [], f"changed during grading: {changed[:5]}"


def test_no_submission_reached_a_server_on_the_loopback(graded, network_listener):
    assert network_listener == []


def test_autograded_notebooks_keep_no_observation(graded):
    text = autograded_notebook(graded["ana_completa"], "ana_completa").read_text(encoding="utf-8")
    assert "observacion" not in text


def test_feedback_says_in_spanish_why_a_hidden_check_failed(feedback):
    """A data_generator without its seeds passes the visible checks (the one wrong answer that
    does, tests/test_visible_tests.py); the verdict's message says why the hidden one failed."""
    student, _ = student_with_wrong("no seeds")
    assert "cambia de una llamada a otra: fije las semillas" in html.unescape(feedback[student])


@pytest.fixture(scope="module")
def small_course(tmp_path_factory):
    """A course with one complete and one empty submission."""
    return course.course_with(
        {"completa": course.filled(course.answers.ALTERNATIVE), "vacia": course.filled({})},
        tmp_path_factory.mktemp("curso"))


def test_autograde_stops_before_grading_where_bwrap_cannot_make_namespaces(small_course,
                                                                           tmp_path):
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\n"
                    "exit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**course.environment(), "PATH": f"{fake.parent}{os.pathsep}"
           f"{course.environment()['PATH']}"}
    result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", course.ASSIGNMENT],
                            cwd=small_course, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("Cannot sandbox the students' kernels: bwrap cannot create "
                                "the sandbox here"), last_line
    assert "bubblewrap" in last_line
    assert not list((small_course / "autograded").glob("*/*/*.ipynb")), "nothing was graded"


def test_grading_without_the_sandbox_is_one_setting_and_the_log_says_so_per_student(
        small_course):
    log = course.nbgrader("autograde", course.ASSIGNMENT, "--force",
                          "--Sandbox.isolate=False", course=small_course)
    for student in ("completa", "vacia"):
        assert f"Grading {student} WITHOUT the sandbox" in log
    assert points_by_part(course.scores("completa", small_course)) == FULL
    assert sum(course.scores("vacia", small_course).values()) == 0
