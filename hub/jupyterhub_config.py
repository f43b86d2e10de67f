"""JupyterHub for the course, as a real course deploys it on one machine (README, "The course
on a JupyterHub"): `jupyterhub -f hub/jupyterhub_config.py`, as root.

What runs as whom: the hub and its proxy run as root (LocalProcessSpawner needs root to start
each user's server as that user); every single-user server (JupyterLab with nbgrader's
extensions) runs as its own Unix user, the instructor's included, and so does everything that
server starts: the formgrader, nbgrader's release, collect, autograde (each student's kernel in
bubblewrap with a user namespace of its own: grading/sandbox.py, rootless) and feedback.
Students and instructor meet only in nbgrader's exchange folder.

Every setting below has a default for a real course and can be changed by an environment
variable; `make hub` (grading/hub.py) sets them for its demo users.
"""
import os
import pwd

c = get_config()  # noqa: F821

VENV = os.environ.get("COURSE_HUB_VENV", "/opt/vae-olivetti-hub")
STATE = os.environ.get("COURSE_HUB_STATE", "/srv/nbgrader/jupyterhub")
DATA = os.environ.get("COURSE_HUB_DATA", "/srv/nbgrader/scikit_learn_data")
INSTRUCTOR = os.environ.get("COURSE_HUB_INSTRUCTOR", "profesora")
COURSE_FOLDER = os.environ.get("COURSE_HUB_COURSE_FOLDER", "vae-olivetti")  # in her home
STUDENTS = [name for name in os.environ.get("COURSE_HUB_STUDENTS", "").split(",") if name]

c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://127.0.0.1:8000")
# The hub's own API and the proxy's, on loopback only (ports of their own where 8081 and 8001
# are taken, as in the tests).
c.JupyterHub.hub_bind_url = os.environ.get("COURSE_HUB_API_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = os.environ.get("COURSE_HUB_PROXY_API_URL",
                                                 "http://127.0.0.1:8001")
c.JupyterHub.db_url = f"sqlite:///{STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{STATE}/jupyterhub.pid"
# The proxy: the Python implementation of configurable-http-proxy (PyPI), in the hub's venv.
# Its requests to a server time out after 20 s unless told otherwise (Node's never do), and
# the formgrader answers its buttons when the work is done: autograding one student takes
# 5-20 s here, up to 2 minutes for code that never returns, and generating feedback for a
# class longer. An hour.
c.ConfigurableHTTPProxy.command = [f"{VENV}/bin/configurable-http-proxy",
                                   "--proxy-timeout", str(3600 * 1000)]
c.ConfigurableHTTPProxy.pid_file = f"{STATE}/jupyterhub-proxy.pid"

# Who may log in. A real course: the machine's own accounts through PAM (JupyterHub's
# default), the instructor as the hub's admin. `make hub` and tests/test_hub.py only: JupyterHub's
# DummyAuthenticator with one shared password, when COURSE_HUB_DUMMY_PASSWORD is set.
if os.environ.get("COURSE_HUB_DUMMY_PASSWORD"):
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = os.environ["COURSE_HUB_DUMMY_PASSWORD"]
c.Authenticator.admin_users = {INSTRUCTOR}
if STUDENTS:
    c.Authenticator.allowed_users = {INSTRUCTOR, *STUDENTS}
else:
    c.Authenticator.allow_existing_users = True

# Each user's JupyterLab as that Unix user, from the hub's venv (readable by every user), in
# their home. The venv's bin first on PATH: nbgrader shells out to alembic.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{VENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def course_package(spawner):
    """The instructor's server imports the course's machinery (`grading`) from her copy of the
    course, as `make setup`'s editable install does from the repository: its ROOT is her course
    folder, so the sandbox mounts her student_kernel/. Students get nothing of it."""
    if spawner.user.name != INSTRUCTOR:
        return ""
    return os.path.join(pwd.getpwnam(INSTRUCTOR).pw_dir, COURSE_FOLDER)


c.Spawner.environment = {
    "PATH": f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin",
    "SCIKIT_LEARN_DATA": DATA,
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "PYTHONPATH": course_package,
}
