"""The course on a real JupyterHub, on this machine (`make hub`, tests/test_hub.py).

    python -m grading.hub setup   # as root: venv, users, exchange, the course in the instructor's home
    python -m grading.hub start   # as root: setup, then the hub on 127.0.0.1 until Ctrl-C

The hub runs hub/jupyterhub_config.py, the file a real course deploys (README, "The course on
a JupyterHub"), with the demo's settings in its environment: three Unix users that setup
creates (the instructor `profesora`, the students `ana` and `carla`), JupyterHub's
DummyAuthenticator with one shared password (a demo's, never a course's), nbgrader's exchange
in /srv/nbgrader/exchange and the course in /home/profesora/vae-olivetti.

The hub's venv (/opt, Debian's Python: every user runs it) holds requirements.txt, the hub
and its proxy, not the course's package: the instructor's server imports `grading` from her
own copy of the course (PYTHONPATH, hub/jupyterhub_config.py), as `make setup`'s editable
install does from the repository, so the sandbox mounts her student_kernel/ and an update of
her course needs no reinstall. Students' servers get nothing of it.

Everything setup does is idempotent; `fresh=True` (the test) also forgets the course's state:
the exchange's course, the instructor's gradebook and every file nbgrader left in the homes.
"""
import argparse
import hashlib
import os
import pathlib
import pwd
import shutil
import subprocess

from grading import ROOT, course

VENV = pathlib.Path("/opt/vae-olivetti-hub")
SRV = pathlib.Path("/srv/nbgrader")
EXCHANGE = SRV / "exchange"
STATE = SRV / "jupyterhub"
DATA = SRV / "scikit_learn_data"
CONFIG = ROOT / "hub" / "jupyterhub_config.py"
INSTRUCTOR = "profesora"
STUDENTS = ("ana", "carla")
COURSE_FOLDER = "vae-olivetti"
COURSE_ID = "vae-olivetti"  # nbgrader_config.py's course_id
PASSWORD = "vae-olivetti-demo"  # DummyAuthenticator's, for the demo users only
# What the hub's venv holds besides requirements.txt: the hub and its proxy (Python's).
HUB_PACKAGES = ("jupyterhub==6.1.1", "configurable-http-proxy==0.4.0")
# Debian's own Python: the project's .venv may use a Python that other users cannot run.
SYSTEM_PYTHON = "/usr/bin/python3.11"


def cannot_run():
    """None where this machine can run the hub, otherwise why not, in one sentence."""
    if os.geteuid() != 0:
        return "the hub creates Unix users and starts their servers: it needs root"
    for tool in ("useradd", "runuser", "bwrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} (Debian's python3.11, with python3-venv) is not installed"
    return None


def home(user):
    return pathlib.Path(pwd.getpwnam(user).pw_dir)


def course_root():
    return home(INSTRUCTOR) / COURSE_FOLDER


def run(*args, **kwargs):
    return subprocess.run([str(arg) for arg in args], check=True, **kwargs)


def as_user(user, *args, **kwargs):
    """Runs a command as `user` (runuser: no password, no root left), in their home."""
    return subprocess.run([shutil.which("runuser"), "-u", user, "--", *map(str, args)], cwd=home(user),
                          env=environment(user), **kwargs)


def environment(user):
    """The environment of `user`'s processes: what the hub gives their server."""
    env = {"PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": str(home(user)),
           "USER": user, "LANG": "C.UTF-8", "SCIKIT_LEARN_DATA": str(DATA),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    if user == INSTRUCTOR:
        env["PYTHONPATH"] = str(course_root())
    return env


def requirements_digest():
    text = (ROOT / "requirements.txt").read_text() + "\n".join(HUB_PACKAGES) + SYSTEM_PYTHON
    return hashlib.sha256(text.encode()).hexdigest()


def build_venv():
    """The hub's venv under /opt, readable by every user: requirements.txt, the hub and its
    proxy. Built again only when those change (a digest in the venv says which it holds)."""
    stamp = VENV / "requirements.sha256"
    if stamp.exists() and stamp.read_text() == requirements_digest():
        return
    shutil.rmtree(VENV, ignore_errors=True)
    run(SYSTEM_PYTHON, "-m", "venv", VENV)
    run(VENV / "bin" / "python", "-m", "pip", "install", "--quiet", "-r",
        ROOT / "requirements.txt", *HUB_PACKAGES)
    stamp.write_text(requirements_digest())


def nbgrader_settings():
    """Every user's nbgrader settings, in the venv's own config folder (sys.prefix/etc/jupyter,
    which Jupyter reads for everyone who runs this venv and nobody else): the course and the
    exchange. The instructor's own says where her course is."""
    folder = VENV / "etc" / "jupyter"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(EXCHANGE)!r}\n")


def make_user(user):
    if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
        run("useradd", "--create-home", "--shell", "/bin/bash", user)
    os.chmod(home(user), 0o700)  # nobody else reads a user's files (useradd's mode varies)


def write_as(user, path, text):
    """Writes a file in `user`'s home as that user (their folders stay theirs)."""
    path = pathlib.Path(path)
    as_user(user, "mkdir", "-p", path.parent, check=True)
    as_user(user, "tee", path, input=text, text=True, stdout=subprocess.DEVNULL, check=True)


def lab_settings(user):
    """JupyterLab settings for a demo: no offer to fetch Jupyter's news (no internet; it covers
    the page), every cell rendered (no windowing)."""
    settings = home(user) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    write_as(user, settings / "apputils-extension" / "notification.jupyterlab-settings",
             '{"fetchNews": "false"}')
    write_as(user, settings / "notebook-extension" / "tracker.jupyterlab-settings",
             '{"windowingMode": "none"}')


def shared_folders():
    """/srv/nbgrader readable by all; the exchange as nbgrader's demos make it (everyone may
    create their course or submission there, nbgrader's own permissions inside keep them apart:
    outbound 755, inbound 2733 so no student lists another's submission), plus the sticky bit,
    so no student renames or removes what another user made there; the Olivetti faces."""
    SRV.mkdir(parents=True, exist_ok=True)
    os.chmod(SRV, 0o755)
    EXCHANGE.mkdir(exist_ok=True)
    os.chmod(EXCHANGE, 0o1777)
    STATE.mkdir(exist_ok=True)
    os.chmod(STATE, 0o700)  # the hub's database and cookie secret: root's only
    data = pathlib.Path(course.environment().get("SCIKIT_LEARN_DATA", ""))
    if data.is_dir() and data.resolve() != DATA:
        shutil.copytree(data, DATA, dirs_exist_ok=True)
    DATA.mkdir(exist_ok=True)
    for path in [DATA, *DATA.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def instructor_course(fresh):
    """A copy of the course (config, grader, observer, master) in the instructor's home, as
    hers; her nbgrader settings point there. An existing one is kept unless `fresh`."""
    root = course_root()
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
    if not root.exists():
        course.new_course(root)
        run("chown", "-R", f"{INSTRUCTOR}:{INSTRUCTOR}", root)
    write_as(INSTRUCTOR, home(INSTRUCTOR) / ".jupyter" / "nbgrader_config.py",
             f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(root)!r}\n")


def forget_course_state():
    """The exchange's course and what nbgrader left in the students' homes: a new term."""
    shutil.rmtree(EXCHANGE / COURSE_ID, ignore_errors=True)
    for student in STUDENTS:
        for name in (course.ASSIGNMENT, ".local/share/jupyter/nbgrader_cache"):
            shutil.rmtree(home(student) / name, ignore_errors=True)


def setup(fresh=False):
    problem = cannot_run()
    if problem:
        raise SystemExit(f"The course's hub cannot run here: {problem}.")
    build_venv()
    nbgrader_settings()
    shared_folders()
    for user in (INSTRUCTOR, *STUDENTS):
        make_user(user)
        lab_settings(user)
    if fresh:
        forget_course_state()
    instructor_course(fresh)


def hub_environment(port, state):
    """The environment of the hub's process: hub/jupyterhub_config.py's settings for the demo."""
    return {"PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "COURSE_HUB_VENV": str(VENV), "COURSE_HUB_STATE": str(state),
            "COURSE_HUB_DATA": str(DATA), "COURSE_HUB_INSTRUCTOR": INSTRUCTOR,
            "COURSE_HUB_COURSE_FOLDER": COURSE_FOLDER,
            "COURSE_HUB_STUDENTS": ",".join(STUDENTS),
            "COURSE_HUB_URL": f"http://127.0.0.1:{port}", "COURSE_HUB_DUMMY_PASSWORD": PASSWORD}


def start(port, log=None, internal_ports=(8081, 8001), state=STATE):
    """Starts the hub (as root) on 127.0.0.1:`port`, its API and its proxy's on
    `internal_ports`, its database and pid files in `state` (a test's own: two hubs never
    share one); returns its process."""
    env = dict(hub_environment(port, state),
               COURSE_HUB_API_URL=f"http://127.0.0.1:{internal_ports[0]}",
               COURSE_HUB_PROXY_API_URL=f"http://127.0.0.1:{internal_ports[1]}")
    return subprocess.Popen([VENV / "bin" / "jupyterhub", "-f", CONFIG], cwd=state, env=env,
                            stdout=log, stderr=subprocess.STDOUT if log else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("setup", "start"))
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    setup()
    if args.command == "start":
        print(f"\nThe course's hub: http://127.0.0.1:{args.port}/hub/login\n"
              f"  instructor: {INSTRUCTOR}   students: {', '.join(STUDENTS)}\n"
              f"  password (every demo user, DummyAuthenticator): {PASSWORD}\n"
              "Ctrl-C stops it.\n", flush=True)
        hub = start(args.port)
        try:
            hub.wait()
        except KeyboardInterrupt:
            hub.terminate()
            hub.wait()


if __name__ == "__main__":
    main()
