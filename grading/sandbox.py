"""Each student's kernel in a bubblewrap sandbox during `nbgrader autograde`.

`SandboxedExecute` replaces nbgrader's `Execute` in `Autograde.autograde_preprocessors`
(nbgrader_config.py). For each notebook it:

* picks a new grading seed (the hidden tests' inputs) and hands it to the kernel and, through
  `resources["grading"]`, to `VerifyObservations`, which decides the hidden checks outside
  the kernel;
* starts the kernel with Debian's `bwrap` (package `bubblewrap`): no network (new network
  namespace; nbgrader talks to the kernel over IPC sockets in a folder bound into the sandbox),
  its own PID namespace, a user of its own with no capabilities (as root a new user id, set by
  setpriv; otherwise a user namespace of its own), read-only Python environment, data set and
  observer (`student_kernel/`), a writable scratch copy of the regular files of the student's
  own notebook folder, and nothing else: no course folder, gradebook, grader or other student;
* limits the kernel (nice 10; prlimit: 512 processes and threads, 8 GiB of address space per
  process, 1 GiB per file) and, as root, the sandbox as a whole (a cgroup: 4 GiB of memory, 512
  processes); after each cell it kills every process of the sandbox but the kernel, and a
  watchdog stops a fork bomb's copies as soon as there are more than 32, so the bomb's cell
  ends at its next fork;
* reads the kernel's messages as an attacker's (grading/kernel_messages.py) and keeps at most
  1 MB of output a cell and 10 MB a notebook, cut as the messages arrive;
* stops a notebook's kernel at the notebook's time limit (`Sandbox.time_limit`, 300 s: a cell
  that ignores the interrupt at nbgrader's 30 s cell timeout would otherwise hold every later
  cell for 30 s more);
* does not run the course's cells that nothing grades and that would only cost time (the
  showcase at the end, `SandboxedExecute.skip_cells`);
* grades a notebook whose kernel died (a native crash, the memory limit): the cell gets a
  Spanish note saying why (the cgroup's OOM count, the exit signal), and a fresh kernel with
  the same seed runs the cells again but the tests up to the next part and grades from there,
  at most `SandboxedExecute.restarts` times within the time limit (nbgrader alone would skip
  the student); and a notebook whose kernel hung in a cell that ignored nbgrader's interrupt:
  the cells it ran keep their results, the graded cells after it fail with a message.

Where bubblewrap is missing or cannot make namespaces, autograde stops before grading with one
sentence (`RequireSandbox`). `--Sandbox.isolate=False` (or `c.Sandbox.isolate = False`) grades
without the sandbox; every student's log line then says so.
"""
import atexit
import contextlib
import functools
import glob
import importlib
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncio

from jupyter_client.connect import write_connection_file
from jupyter_client.launcher import launch_kernel
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Any, Bool, Integer, Unicode, default
from traitlets.config import Application, Configurable

from grading import STUDENT_KERNEL, kernel_messages, student_kernel_module, submission_files

INSIDE_OBSERVER = "/calificacion"
INSIDE_HOME = "/home/estudiante"
# Processes and threads (a TensorFlow kernel uses about 30), address space per process, file
# size, no core dumps.
LIMITS = ["--nproc=512", f"--as={8 << 30}", f"--fsize={1 << 30}", "--core=0"]
MAX_PROCESSES = 32  # more in one sandbox is a fork bomb (KernelSandbox.watch)
# Kernels run at nice 10. As root, a kernel started ahead runs at nice 19 until its student's
# turn: it takes the cores that the kernels being graded leave idle, not their share.
KERNEL_NICENESS = 10
AHEAD_NICENESS = 19
# For the sandbox as a whole, where the grader may make cgroups (as root).
SANDBOX_MEMORY = 4 << 30
SANDBOX_PROCESSES = 512
CGROUPS = pathlib.Path("/sys/fs/cgroup")
PASSED_ENVIRONMENT = ("SCIKIT_LEARN_DATA", "TF_CPP_MIN_LOG_LEVEL", "NBGRADER_EXECUTION",
                      "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "LANG")
HELP = ("install Debian's bubblewrap package (apt-get install bubblewrap), or grade without "
        "the sandbox with --Sandbox.isolate=False (see README)")


def rootless():
    """Whether the grader is not root: then each sandbox gets a user namespace of its own
    (bwrap --unshare-user) instead of a user id of its own (setpriv, which needs root)."""
    return os.geteuid() != 0


@functools.lru_cache(maxsize=None)
def sandbox_problem():
    """None when bwrap can make the sandbox here, otherwise what is wrong."""
    for tool in ("bwrap", "prlimit") + (() if rootless() else ("setpriv",)):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    # The same chain as a kernel's: namespaces, then a user of its own.
    base = ["bwrap", "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/",
            "/", "--proc", "/proc", "--dev", "/dev"]
    if rootless():
        trial = base[:1] + ["--unshare-user", "--cap-drop", "ALL"] + base[1:] + ["--", "true"]
    else:
        trial = base + ["--", "setpriv", "--reuid=100000", "--regid=100000", "--clear-groups",
                        "--no-new-privs", "true"]
    trial = subprocess.run(trial, capture_output=True, text=True)
    if trial.returncode != 0:
        why = " ".join(trial.stderr.split())
        if rootless():
            return (f"bwrap cannot create the sandbox here without root ({why}): enable "
                    "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
                    "and user.max_user_namespaces=15000; on Ubuntu also "
                    "kernel.apparmor_restrict_unprivileged_userns=0), or grade as root")
        return f"bwrap cannot create the sandbox here ({why})"
    return None


def observer_environment():
    """What a kernel needs to run the hidden cells' observer (outside the sandbox too)."""
    return {"PYTHONPATH": str(STUDENT_KERNEL), "IPYTHONDIR": str(STUDENT_KERNEL / "ipython")}


def pid_namespace(pid):
    """The PID namespace of a process ("pid:[4026532571]"), or None once it has ended."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def processes_in(namespace, but=()):
    """{pid: (state, start time)} of the live (not zombie) processes of a PID namespace, as
    this process numbers them, except the pids in `but`."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in but:
            continue
        if pid_namespace(entry.name) != namespace:
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                found[int(entry.name)] = (fields[0], int(fields[19]))
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
    return found


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


class Cgroup:
    """One sandbox's memory and pids cgroup, where the grader may make one (root): cgroup v2
    where /sys/fs/cgroup is cgroup2, otherwise the v1 memory and pids hierarchies. Every
    process of the sandbox is in it, so the limits hold for the sandbox as a whole."""

    def __init__(self, folders):
        self.folders = folders

    @classmethod
    def create(cls, name, memory=SANDBOX_MEMORY, processes=SANDBOX_PROCESSES):
        """The cgroup, or None where it cannot be made (not root, no controllers)."""
        if rootless():
            return None
        if (CGROUPS / "cgroup.controllers").exists():
            settings = {CGROUPS / name: {"memory.max": memory, "memory.swap.max": 0,
                                         "pids.max": processes}}
            with contextlib.suppress(OSError):
                (CGROUPS / "cgroup.subtree_control").write_text("+memory +pids")
        elif (CGROUPS / "memory").is_dir() and (CGROUPS / "pids").is_dir():
            settings = {CGROUPS / "memory" / name: {"memory.limit_in_bytes": memory},
                        CGROUPS / "pids" / name: {"pids.max": processes}}
        else:
            return None
        cgroup = cls(list(settings))
        try:
            for folder, values in settings.items():
                folder.mkdir()
                for setting, value in values.items():
                    if setting != "memory.swap.max" or (folder / setting).exists():
                        (folder / setting).write_text(str(value))
        except OSError:
            cgroup.remove()
            return None
        return cgroup

    def oom_killed(self):
        """Whether the kernel's memory limit killed a process of this cgroup."""
        for folder in self.folders:
            for name in ("memory.events", "memory.oom_control"):  # v2, v1
                with contextlib.suppress(OSError, ValueError):
                    for line in (folder / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
        return False

    def prefix(self):
        """A command prefix that enters the cgroup, then runs the rest of the command."""
        enter = " && ".join(f"echo $$ > {folder / 'cgroup.procs'}" for folder in self.folders)
        return ["/bin/sh", "-c", f'{enter} && exec "$@"', "cgroup"]

    def remove(self):
        for folder in self.folders:
            for _ in range(50):
                with contextlib.suppress(OSError):
                    pids = (folder / "cgroup.procs").read_text().split()
                    send(map(int, pids), signal.SIGKILL)
                with contextlib.suppress(FileNotFoundError):
                    try:
                        folder.rmdir()
                    except OSError:
                        time.sleep(0.05)
                        continue
                break


def send(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


class KernelSandbox:
    """One notebook's sandbox: a scratch folder (the student's files go into it when their
    turn comes), a folder for the kernel's IPC sockets and connection file, a grading seed, a
    user of its own (a user id as root, a user namespace otherwise), a cgroup where one can be
    made, and the bwrap command around the kernel. It is started before its student is known
    (KernelPool) and serves one student only: `receive` gives it that student's files."""

    def __init__(self, folder_name, enabled, seed=None):
        self.enabled = enabled
        self.seed = secrets.randbelow(1 << 31) if seed is None else seed
        self.deadline = self.time_limit = None  # set by `receive`
        self.out_of_time = False
        self._scratch = tempfile.TemporaryDirectory(prefix="calificacion-")
        self.scratch = pathlib.Path(self._scratch.name)
        self.work = self.scratch / folder_name
        self.work.mkdir()
        self.left_out = []
        self.runtime = self.scratch / "kernel"
        self.connection_file = self.runtime / "kernel.json"
        # IPython wants a writable profile folder: the kernel's user gets one with our startup
        # files only (not the state other kernels left next to them).
        startup = pathlib.Path("ipython", "profile_default", "startup")
        shutil.copytree(STUDENT_KERNEL / startup, self.runtime / startup)
        self.uid = 100_000 + secrets.randbelow(1 << 30)
        self.cgroup = Cgroup.create(f"calificacion-{self.uid}") if enabled else None
        # The kernel's own stdout and stderr (TensorFlow's and IPython's start-up lines): a
        # file of the instructor's, not the grading process's console.
        self.output = open(self.scratch / "kernel-output.txt", "wb")
        self.process = self.bwrap_pid = self.reaper_pid = self.namespace = None
        self.kernel_pid = None
        self.stopped = threading.Event()
        self.bombs = 0
        self.started = None  # time.monotonic() at launch
        self.niceness = KERNEL_NICENESS

    def start(self, kernel_name, ahead=False):
        """Launches the kernel (jupyter_client's launcher, as its provisioner would) on IPC
        sockets in the runtime folder; it loads the observer and the libraries of the
        notebook (student_kernel/ipython/.../startup) while no student is known."""
        self.connection_file.parent.mkdir(parents=True, exist_ok=True)
        write_connection_file(str(self.connection_file), transport="ipc",
                              ip=str(self.runtime / "ipc"), key=uuid.uuid4().hex.encode())
        self.hand_over()
        # (without root, nobody could raise its priority again at its turn)
        self.niceness = AHEAD_NICENESS if ahead and not rootless() else KERNEL_NICENESS
        kernel_cmd = kernel_command(kernel_name, str(self.connection_file))
        self.started = time.monotonic()
        self.process = launch_kernel(self.command(kernel_cmd), env=self.environment(),
                                     cwd=str(self.work), stdout=self.output,
                                     stderr=self.output)
        self.bwrap_pid = self.process.pid
        return self

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def receive(self, notebook_dir, time_limit):
        """The student's turn: a copy of the regular files of their notebook folder (nothing
        in it is followed; submission_files) and the notebook's time limit from now on."""
        self.left_out = submission_files.copy_regular_files(
            notebook_dir, self.work, **submission_files.configured_limits())
        self.hand_over()
        if self.enabled and self.niceness != KERNEL_NICENESS:
            # Every thread of the sandbox's own user id (PRIO_USER: all of them at once).
            os.setpriority(os.PRIO_USER, self.uid, KERNEL_NICENESS)
            self.niceness = KERNEL_NICENESS
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit

    def environment(self):
        environment = {name: os.environ[name] for name in PASSED_ENVIRONMENT
                       if name in os.environ}
        environment.update(CALIFICACION_SEMILLA=str(self.seed), PYTHONUNBUFFERED="1")
        if not self.enabled:
            return {**os.environ, **environment, **observer_environment()}
        venv_bin = pathlib.Path(sys.executable).parent
        return {**environment, "PATH": f"{venv_bin}:/usr/bin:/bin", "HOME": "/tmp",
                "PYTHONPATH": INSIDE_OBSERVER, "IPYTHONDIR": str(self.runtime / "ipython"),
                "MPLBACKEND": "Agg"}

    def output_tail(self, lines=15):
        self.output.flush()
        text = (self.scratch / "kernel-output.txt").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def inside_work(self):
        return f"{INSIDE_HOME}/{self.work.name}" if self.enabled else str(self.work)

    def command(self, kernel_cmd):
        """The cgroup (as root), bwrap, then a lower priority and the limits, then a user with
        no rights (as root: setpriv; otherwise bwrap's own user namespace), then the kernel."""
        if not self.enabled:
            return kernel_cmd
        binds = [("--ro-bind", sys.base_prefix, sys.base_prefix),
                 ("--ro-bind", sys.prefix, sys.prefix),
                 ("--ro-bind", str(STUDENT_KERNEL), INSIDE_OBSERVER),
                 ("--bind", str(self.work), self.inside_work()),
                 ("--bind", str(self.runtime), str(self.runtime))]
        data = os.environ.get("SCIKIT_LEARN_DATA")
        if data and os.path.isdir(data):
            binds.append(("--ro-bind", data, data))
        args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--hostname", "calificacion",
                "--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(512 << 20), "--tmpfs", "/tmp"]
        if rootless():
            args[1:1] = ["--unshare-user", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = pathlib.Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/fonts"):
            args += ["--ro-bind-try", path, path]
        made = {"/", "/tmp", "/usr", "/proc", "/dev"}
        for kind, source, target in binds:
            for parent in reversed(pathlib.PurePosixPath(target).parents):
                if str(parent) not in made:
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
            made.add(target)
            args += [kind, source, target]
        args += ["--chdir", self.inside_work(), "--clearenv"]
        for name, value in self.environment().items():
            args += ["--setenv", name, value]
        args += ["--", "nice", "-n", str(self.niceness), "prlimit", *LIMITS, "--"]
        if not rootless():
            user = str(self.uid)
            args += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
                     "--no-new-privs", "--"]
        return (self.cgroup.prefix() if self.cgroup else []) + args + kernel_cmd

    def hand_over(self):
        """As root, the kernel's user owns the scratch copy and the connection folder, nothing
        else (without root, the kernel is the instructor's user in a namespace of its own)."""
        if self.enabled and not rootless():
            for folder, _, files in os.walk(self.scratch):
                os.chown(folder, self.uid, self.uid)
                for name in files:
                    os.chown(os.path.join(folder, name), self.uid, self.uid)

    def processes(self):
        """The sandbox's processes but bwrap's own init (see processes_in)."""
        return processes_in(self.namespace, but=(self.reaper_pid,)) if self.namespace else {}

    def find_kernel(self):
        """Called once the kernel answers, before any cell runs: bwrap's child is the init of
        the sandbox's PID namespace, and the kernel its only other process. From then on a
        watchdog looks at the sandbox four times a second."""
        if self.enabled and self.bwrap_pid:
            self.reaper_pid = next(iter(children_of(self.bwrap_pid)), None)
            self.namespace = self.reaper_pid and pid_namespace(self.reaper_pid)
            running = self.processes()
            self.kernel_pid = min(running, key=lambda pid: running[pid][1]) if running else None
            threading.Thread(target=self.watch, daemon=True).start()

    def watch(self):
        """A fork bomb fills the machine's cores long before the cell's time limit, slowing
        every other student graded meanwhile. Past MAX_PROCESSES its copies are stopped, not
        killed: stopped, they still fill the process limit, so the kernel's next fork fails and
        its cell ends with that error; `after_cell` then kills them."""
        try:  # the kernels run at nice 10; as root, the watchdog outranks them further
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -10)
        except PermissionError:
            pass
        while not self.stopped.wait(0.25):
            if time.monotonic() > self.deadline:
                self.out_of_time = True
                send(self.processes(), signal.SIGKILL)  # the kernel too: it is over
            elif len(self.processes()) > MAX_PROCESSES:
                self.bombs += 1
                self.stop_strays()

    def stop_strays(self):
        """Stops every process of the sandbox but the kernel (a stopped process cannot fork);
        returns them."""
        for _ in range(200):
            strays = {pid: state for pid, (state, _) in self.processes().items()
                      if pid != self.kernel_pid}
            running = [pid for pid, state in strays.items() if state not in "Tt"]
            if not running:
                break
            send(running, signal.SIGSTOP)
        return strays

    def after_cell(self):
        """Kills what the cell left running (stopped first: killing copies that still fork
        would only make room for new ones)."""
        if self.enabled and self.kernel_pid is not None:
            send(self.stop_strays(), signal.SIGKILL)

    def why_it_died(self):
        """(English for the log, Spanish for the student) of what ended a kernel that died:
        the cgroup's OOM kill, or the signal or exit status of the sandbox's process."""
        if self.cgroup and self.cgroup.oom_killed():
            gib = SANDBOX_MEMORY >> 30
            return (f"over the {gib} GiB memory limit",
                    f"superó el límite de memoria de {gib} GiB")
        try:
            code = self.process.wait(timeout=5) if self.process else None
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and (code < 0 or code > 128):  # bwrap: 128 + the child's signal
            number = -code if code < 0 else code - 128
            name = signal.Signals(number).name if number in set(signal.Signals) else "?"
            return (f"signal {number}, {name}", f"un fallo nativo (señal {number}, {name})")
        return (f"exit status {code}", f"el proceso terminó (código de salida {code})")

    def close(self):
        """Ends the sandbox: its kernel (if still running), its cgroup, its scratch folder."""
        self.stopped.set()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()
        self.output.close()
        if self.cgroup:
            self.cgroup.remove()
        self._scratch.cleanup()


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel inside `sandbox` and signals only the kernel
    (jupyter_client signals the process group, which would end bwrap, and the sandbox with it)."""

    sandbox = Any(None, allow_none=True)
    # Every message from the kernel is read as an attacker's (grading/kernel_messages.py).
    @default("client_factory")
    def _client_factory_default(self):
        return kernel_messages.GuardedKernelClient

    @default("session")
    def _session_default(self):
        return kernel_messages.GuardedSession(parent=self)

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox is not None:  # the kernel's connection file, written when it started
            self.connection_file = str(self.sandbox.connection_file)
            self.load_connection_file()
            # Not written again: the kernel may be reading it right now.
            self._connection_file_written = True
            kw["cwd"] = str(self.sandbox.work)
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        """With a sandbox, the kernel is already running in it (KernelPool started it): its
        process is adopted, as if the provisioner had just launched it."""
        if self.sandbox is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        provisioner = self.provisioner
        provisioner.process = self.sandbox.process
        provisioner.pid = self.sandbox.process.pid
        with contextlib.suppress(OSError):
            provisioner.pgid = os.getpgid(provisioner.pid)
        provisioner.cwd = kw.get("cwd")
        self._reconcile_connection_info(provisioner.connection_info)

    async def _async_signal_kernel(self, signum):
        if self.sandbox is not None and self.sandbox.kernel_pid is not None:
            try:
                os.kill(self.sandbox.kernel_pid, signum)
            except ProcessLookupError:
                pass
        else:
            await super()._async_signal_kernel(signum)


def kernel_command(kernel_name, connection_file):
    """The kernelspec's command, as jupyter_client formats it."""
    manager = AsyncKernelManager(kernel_name=kernel_name)
    manager.connection_file = connection_file
    # nbclient's own argument for IPython kernels: no history file.
    history = ["--HistoryManager.hist_file=:memory:"] if manager.ipykernel else []
    return manager.format_kernel_cmd(extra_arguments=history)


class KernelPool:
    """Sandboxed kernels started ahead, so that no student waits for a kernel to start and
    import TensorFlow: while one student's notebook runs, the next student's kernel starts in
    a sandbox of its own (an empty scratch folder, a seed of its own) and loads its libraries.
    Each kernel is taken once (`take`), given one student's files, and ended with that
    student's grading; a spare that nobody takes is ended with the process (or when the next
    student needs another kind of kernel).

    Kernels are launched from one long-lived thread of the pool: bwrap's --die-with-parent
    ends a sandbox when the thread that started it ends."""

    def __init__(self):
        # A Dask worker sets this: another student may come at any time. Otherwise a spare is
        # started only for a notebook this process has still to grade (more_to_grade).
        self.more_may_come = False
        self.launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-pool")
        self.spare = None  # (kind, future of a started KernelSandbox)
        self.lock = threading.Lock()
        atexit.register(self.close)

    def _launch(self, kind, ahead, seed=None):
        folder_name, kernel_name, enabled = kind
        sandbox = KernelSandbox(folder_name, enabled, seed)
        try:
            return sandbox.start(kernel_name, ahead)
        except BaseException:
            sandbox.close()
            raise

    def take(self, kind):
        """A started sandbox of this kind (folder name, kernel name, isolated), never given
        out before: the spare when it is of this kind and still running, else a new one."""
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is not None:
            spare_kind, future = spare
            try:
                sandbox = future.result()
            except Exception:  # the next launch says why, if it fails again
                sandbox = None
            if sandbox is not None and spare_kind == kind and sandbox.alive():
                return sandbox
            if sandbox is not None:
                sandbox.close()
        return self.launcher.submit(self._launch, kind, False).result()

    def again(self, kind, seed):
        """A new sandbox for the same student, whose kernel died: started now, with the seed
        of the kernel it replaces (the hidden tests' inputs stay the same)."""
        return self.launcher.submit(self._launch, kind, False, seed).result()

    def prepare(self, kind):
        """Starts the spare for the next student (at most one waits)."""
        with self.lock:
            if self.spare is None:
                self.spare = (kind, self.launcher.submit(self._launch, kind, True))

    def close(self):
        with self.lock:
            spare, self.spare = self.spare, None
        if spare is not None:
            with contextlib.suppress(Exception):
                spare[1].result().close()


def more_to_grade(student):
    """Whether this `nbgrader autograde` grades a student after `student`: nbgrader grades the
    folders of submitted/ that match its student and assignment, in sorted order. True where
    this process is not nbgrader's command (a guess: a spare too many is only thrown away)."""
    app = Application.instance() if Application.initialized() else None
    coursedir = getattr(app, "coursedir", None)
    if coursedir is None:
        return True
    pattern = coursedir.format_path(coursedir.submitted_directory, coursedir.student_id,
                                    coursedir.assignment_id)
    students = [pathlib.Path(folder).parent.name for folder in sorted(glob.glob(pattern))]
    return student not in students or students.index(student) < len(students) - 1


@functools.lru_cache(maxsize=None)
def kernel_pool():
    """The process's pool (one per `nbgrader autograde` process or Dask worker)."""
    return KernelPool()


@functools.lru_cache(maxsize=None)
def start_loading_the_grader():
    """The grader imports TensorFlow (about 4 s): load it while the first kernel starts (its
    cells wait for it: SandboxedExecute.start_new_kernel_client)."""
    thread = threading.Thread(target=importlib.import_module, args=("grading.calificador",),
                              daemon=True)
    thread.start()
    return thread


class Sandbox(Configurable):
    """The settings: `c.Sandbox.isolate = False` (or `--Sandbox.isolate=False`) grades
    without the sandbox, where bubblewrap cannot run; `c.Sandbox.time_limit` bounds one
    notebook's run."""

    # (not `enabled`: nbconvert's preprocessors skip themselves when that is False)
    isolate = Bool(True, help="Run each student's kernel in a bubblewrap sandbox.").tag(
        config=True)
    time_limit = Integer(300, help="Seconds one notebook's kernel may run (sandboxed kernels "
                         "only); then it is stopped and the cells left score 0.").tag(config=True)

    def require_sandbox(self):
        if self.isolate and sandbox_problem():
            raise SystemExit(f"Cannot sandbox the students' kernels: {sandbox_problem()}; "
                             f"{HELP}.")


class RequireSandbox(Sandbox, NbGraderPreprocessor):
    """First of autograde's sanitize preprocessors: made before the first notebook is written,
    it stops autograde (SystemExit, which nbgrader does not catch per student) when the sandbox
    cannot run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_sandbox()

    def preprocess(self, nb, resources):
        return nb, resources


class SandboxedExecute(Sandbox, Execute):
    """nbgrader's Execute, with each kernel sandboxed and a grading seed per notebook."""

    prestart = Bool(True, help="Start the next student's kernel in its sandbox while this "
                    "student's notebook runs (KernelPool).").tag(config=True)
    restarts = Integer(3, help="Fresh kernels one notebook may get after its kernel died (a "
                       "native crash, the memory limit): the part where it died scores 0, the "
                       "notebook's cells but the tests run again up to the next part, and "
                       "grading goes on from there, within the notebook's time limit."
                       ).tag(config=True)
    skip_cells = Unicode("", help="A regular expression: the locked course cells that grade "
                         "nothing and whose grade_id it matches are not run (their outputs "
                         "stay empty). A student cannot skip a test cell this way: nbgrader "
                         "puts a graded cell back, as the master has it.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
        self.require_sandbox()
        self._sandbox = None
        self._cell_index = None

    def preprocess(self, nb, resources=None, km=None):
        start_loading_the_grader()
        student = self._student = resources.get("nbgrader", {}).get("student", "?")
        if not self.isolate:
            self.log.warning("Grading %s WITHOUT the sandbox: the student's code runs with your "
                             "rights (Sandbox.isolate = False)", student)
        self._timings = resources.setdefault("grading", {}).setdefault("timings", {})
        self._kind = (pathlib.Path(resources["metadata"]["path"]).name,
                      self.kernel_name or nb.metadata.get("kernelspec", {}).get("name")
                      or "python3", bool(self.isolate))
        clock = time.monotonic()
        self._sandbox = kernel_pool().take(self._kind)
        self._sandbox.receive(resources["metadata"]["path"], self.time_limit)
        # The hidden tests' inputs: the seed this kernel was started with.
        resources["grading"]["seed"] = self._sandbox.seed
        self._timings["sandbox"] = time.monotonic() - clock
        # How long before this student's turn the kernel was started (0: started for them).
        self._timings["started_ahead"] = max(0.0, clock - self._sandbox.started)
        self._budget = kernel_messages.OutputBudget()
        for path, why in submission_files.summary(self._sandbox.left_out):
            self.log.warning("Left out of the sandbox of %s: %s is %s", student, path, why)
        try:
            return self._with_restarts(nb, resources, km, student)
        except Exception:
            self.log.error("The kernel of %s failed; its last output lines:\n%s", student,
                           self._sandbox.output_tail())
            raise
        finally:
            clock = time.monotonic()
            self._sandbox.close()
            self._timings["kernel_end"] = (self._timings.get("kernel_end", 0)
                                           + time.monotonic() - clock)
            if self._budget.cut:
                self.log.warning("Output cut in the notebook of %s: cells %s wrote more "
                                 "than the limits", student, sorted(self._budget.cut))
            if self._sandbox.bombs:
                self.log.warning("Fork bomb in the kernel of %s: its processes were killed",
                                 student)
            self._sandbox = None

    def _with_restarts(self, nb, resources, km, student):
        """Runs the notebook; where its kernel dies (the student's own failure), the cell gets
        a Spanish note, and, within `restarts` and the time limit, a fresh kernel with the same
        seed runs the cells again but the tests and those that killed a kernel, up to the next
        part, then the rest. Where it may not, the graded cells after it score 0."""
        first_cells = {index for index, cell in enumerate(nb.cells)
                       if cell.metadata.get("nbgrader", {}).get("solution")}
        start, dead, restarts = 0, set(), 0
        while True:
            view, where = self._resumed(nb, start, dead)
            try:
                super().preprocess(view, resources, km)
                return nb, resources
            except (DeadKernelError, CellTimeoutError) as error:
                index = where[self._cell_index]
                dead.add(index)
                following = min((k for k in first_cells if k > max(index, start - 1)),
                                default=None)
                deadline = self._sandbox.deadline  # the notebook's, kept across restarts
                again = (isinstance(error, DeadKernelError) and not self._sandbox.out_of_time
                         and following is not None and restarts < self.restarts
                         and deadline - time.monotonic() > 10)
                why, message = self._kernel_end(error, again)
                if index >= start:  # (a cell run again keeps its first run's outputs)
                    nb.cells[index].setdefault("outputs", []).append(new_output(
                        "error", ename=type(error).__name__, evalue=message,
                        traceback=[message]))
                # ("died (signal 11, SIGSEGV)" -> "died in cell 40 (signal 11, SIGSEGV)")
                what = (why.replace("died (", f"died in cell {index} (", 1)
                        if why.startswith("died (") else f"{why} in cell {index}")
                if not again:
                    self.log.warning("The kernel of %s %s: the graded cells after it score 0",
                                     student, what)
                    return nb, resources
                restarts += 1
                self.log.warning("The kernel of %s %s: a fresh kernel grades from cell %s on "
                                 "(restart %s of %s)", student, what, following, restarts,
                                 self.restarts)
                seed = self._sandbox.seed
                self._sandbox.close()
                self._sandbox = kernel_pool().again(self._kind, seed)
                # What is left of the time limit once the new kernel is up (finding why the
                # old one died and starting this one count against the notebook too).
                self._sandbox.receive(resources["metadata"]["path"],
                                      max(1.0, deadline - time.monotonic()))
                start = following

    def _resumed(self, nb, start, dead):
        """(the notebook to run, [index in nb of each of its cells]): from `start` on, the
        notebook's own cells (their outputs land in nb); before it, copies of the cells that
        are neither tests nor cells that killed a kernel, run again for their definitions
        (their outputs are dropped)."""
        if start == 0:
            return nb, list(range(len(nb.cells)))
        again = [index for index, cell in enumerate(nb.cells[:start])
                 if cell.cell_type == "code" and index not in dead and not (
                     cell.metadata.get("nbgrader", {}).get("grade")
                     and not cell.metadata.get("nbgrader", {}).get("solution"))]
        cells = []
        for index in again:
            copy = nbformat.from_dict(nb.cells[index])
            copy.outputs = []
            cells.append(copy)
        view = nbformat.from_dict({**nb, "cells": []})
        view.metadata = nb.metadata
        view.cells = cells + nb.cells[start:]
        return view, again + list(range(start, len(nb.cells)))

    def _kernel_end(self, error, again=False):
        """(what the log says, what the student reads) of a kernel that ended the run."""
        if self._sandbox.out_of_time:
            return (f"was stopped at the time limit ({self.time_limit} s)",
                    f"El cuaderno superó su tiempo límite ({self.time_limit} s): el kernel se "
                    "detuvo durante esta celda.")
        if isinstance(error, CellTimeoutError):  # nbclient gave up after the interrupt
            return ("did not answer the interrupt after the cell timeout",
                    f"Esta celda no terminó en {self.timeout} s y no atendió la interrupción: "
                    "el kernel se detuvo aquí.")
        english, spanish = self._sandbox.why_it_died()
        then = ("las partes siguientes se califican con un kernel nuevo" if again else
                "las celdas calificadas que siguen no puntúan")
        return (f"died ({english})",
                f"El kernel se detuvo en esta celda: {spanish}. Esta parte no puntúa; {then}.")

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.sandbox = self._sandbox
        km.session.student = self._student
        return km

    def start_new_kernel(self, **kwargs):
        self._clock = time.monotonic()
        return super().start_new_kernel(**kwargs)

    def start_new_kernel_client(self):
        """Once the kernel answers (a spare usually already does): the sandbox's watchdog
        starts, and the pool starts the next student's kernel."""
        kc = super().start_new_kernel_client()
        # The grader's own TensorFlow import holds this process's interpreter for seconds at
        # a time: done before the first cell, it cannot delay the kernel's messages past
        # nbclient's IOPub timeout (4 s), which would fail a cell that did nothing wrong.
        start_loading_the_grader().join()
        now = time.monotonic()
        self._timings["kernel_start"] = now - self._clock
        # What the kernel's start cost in all, ahead of this student's turn or not.
        self._timings["kernel_start_ahead"] = now - self._sandbox.started
        self._sandbox.find_kernel()
        if self.prestart and (kernel_pool().more_may_come or more_to_grade(self._student)):
            kernel_pool().prepare(self._kind)
        return kc

    def skipped(self, cell):
        nbgrader = cell.metadata.get("nbgrader", {})
        return bool(self.skip_cells and nbgrader.get("locked") and not nbgrader.get("grade")
                    and not nbgrader.get("solution")
                    and re.fullmatch(self.skip_cells, nbgrader.get("grade_id", "")))

    def preprocess_cell(self, cell, resources, index):
        if self.skipped(cell):
            return cell, resources
        self._cell_index = index
        clock = time.monotonic()
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            nbgrader = cell.metadata.get("nbgrader", {})
            kind = ("cells_tests" if nbgrader.get("grade") and not nbgrader.get("solution")
                    else "cells_notebook")
            self._timings[kind] = self._timings.get(kind, 0) + time.monotonic() - clock

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output, within the notebook's OutputBudget: past it, the cell gets one
        Spanish note and the rest of its output is dropped as it arrives."""
        content = msg["content"]
        MIME = student_kernel_module("observador").MIME

        observation = MIME in (content.get("data") or {})
        if self._budget.admits(cell_index, content, observation):
            return super().output(outs, msg, display_id, cell_index)
        note = self._budget.note_once(cell_index)
        if note:
            outs.append(new_output("stream", name="stderr", text=note))
        return None

    def _update_display_id(self, display_id, msg):
        """An update replaces a display's data: it counts, and past the budget it is dropped."""
        if self._budget.admits(self._cell_index, msg["content"]):
            super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widgets are not part of this assignment: their messages (which nbclient would keep,
        whatever their size, in the notebook's metadata) are dropped."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        """nbclient's loop over the kernel's output messages, giving way to the other tasks
        after each one: a kernel that floods its output still gets its cell's timeout and
        interrupt, which nbclient's shell-channel task sends."""
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            await asyncio.sleep(0)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        if self._sandbox is not None:
            self._sandbox.after_cell()
