"""What every browser test shares: Debian's Chromium driven by Playwright, a free port on
loopback, a server to wait for, and where screenshots go. The session's one browser is the
`browser` fixture of conftest.py."""
import contextlib
import dataclasses
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from grading import course

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# No background connections: this machine has no internet and refuses them.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-quic"]
SCREENSHOTS = pathlib.Path(os.environ.get("SCREENSHOTS_DIR",
                                          course.ROOT / "tests" / "out" / "screenshots"))

# For a module whose every test needs the browser.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (Debian: apt-get install chromium; "
                             ".ci/run installs it)")


def playwright():
    return pytest.importorskip(
        "playwright.sync_api", reason="Playwright for Python is not installed (requirements.txt)")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url, process, log, seconds=90, name="the server"):
    """Waits until `url` answers; raises with the end of `log` if `process` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}; its log ends:\n"
                               + pathlib.Path(log).read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{name} did not answer at {url} within {seconds} s")


def stop(process, seconds=20):
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except Exception:
        process.kill()


def screenshot(target, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SCREENSHOTS / name))


# What a page ran of a student's: the marker every attack of tests/adversarial.py sets
# (window.__alumno), event handlers and javascript: links left inside `root` (the part of the
# page that shows the student's notebook; a page's own chrome may have handlers of its own).
SCRIPTS_LEFT = """root => {
  const scope = document.querySelector(root) || document;
  return {
    ran: window.__alumno === undefined ? null : String(window.__alumno),
    handlers: [...scope.querySelectorAll('*')].filter(e => [...e.attributes]
        .some(a => a.name.startsWith('on'))).length,
    links: [...scope.querySelectorAll('a')].filter(a =>
        a.href.toLowerCase().startsWith('javascript:')).length,
  };
}"""


def scripts_left(page, root="body"):
    """{ran, handlers, links} of SCRIPTS_LEFT: all None or 0 where no script of a student ran."""
    return page.evaluate(SCRIPTS_LEFT, root)


@dataclasses.dataclass(frozen=True)
class JupyterLab:
    root: pathlib.Path  # the server's root folder, where it was started
    base: str  # http://127.0.0.1:<port>
    token: str

    def url(self, path):
        """The address of `path` on this server, with the token."""
        return f"{self.base}/{path.lstrip('/')}{'&' if '?' in path else '?'}token={self.token}"


def user_settings(folder, extension, plugin, **values):
    """Writes JupyterLab user settings of one @jupyterlab plugin."""
    path = folder / "@jupyterlab" / extension / f"{plugin}.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


@contextlib.contextmanager
def jupyterlab(root, log, environment=None):
    """A JupyterLab server on 127.0.0.1 with a token, started in `root` as nbgrader's docs
    start an instructor's (so the formgrader serves the course found there); its output goes
    to the file `log`. Yields a JupyterLab."""
    root = pathlib.Path(root)
    # Every cell in the page (no windowing), so a test sees the whole notebook rendered; no offer
    # to fetch Jupyter's news (there is no internet here, and it covers the page).
    user_settings(root / ".settings", "notebook-extension", "tracker", windowingMode="none")
    user_settings(root / ".settings", "apputils-extension", "notification", fetchNews="false")
    token, port = secrets.token_hex(16), free_port()
    env = {**course.environment(), **(environment or {})}
    env.pop("NBGRADER_EXECUTION", None)
    env.setdefault("JUPYTER_CONFIG_DIR", str(root / ".jupyter"))  # none of this user's settings
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={root / '.settings'}",
         f"--LabApp.workspaces_dir={root / '.workspaces'}",
         "--LabApp.news_url=None", "--allow-root",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    lab = JupyterLab(root, f"http://127.0.0.1:{port}", token)
    try:
        wait_for_server(lab.url("api/status"), server, log, name="JupyterLab")
        yield lab
    finally:
        stop(server)
