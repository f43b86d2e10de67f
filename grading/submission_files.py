"""A student's submission folder, read as data from an attacker: regular files only.

A submission reaches the instructor's side through `nbgrader collect` (from the exchange's
inbound, which students write), an LMS zip unpacked by hand, or the Dask client. Any of them can
hold a symbolic link to a classmate's notebook, a hard link to a file outside the folder, a FIFO
that blocks whoever reads it, a device or a socket. Here none of those is ever followed or read:

* every folder and file is opened relative to its parent's descriptor with O_NOFOLLOW, and its
  kind is checked on the open descriptor, so an entry swapped for a link during the walk is not
  followed either;
* a regular file whose hard links are not all inside the folder is left out (its content belongs
  to a file elsewhere), unless it is one of the assignment's notebooks at the folder's top: a
  classmate who hard-links a student's notebook must not cost that student the notebook (and a
  notebook linked from a classmate's is a copy, as a copied file would be);
* a folder over `SubmissionFiles.max_bytes` is graded without its extra files: only its notebooks
  (and nbgrader's small timestamp.txt);
* so is a folder of more than `SubmissionFiles.max_files` entries (files and folders: a virtual
  environment or a `node_modules` handed in by mistake): the walk stops at the limit, so reading
  a folder of 100,000 files costs what reading 1,000 does, and every entry at the folder's top
  but the notebooks is left out whole;
* what is left out is returned as (relative path, why), for the log and the report
  (`summary`: a few lines per reason, not one per file of a crowd).

Three doors use it: `SafeCollect` (nbgrader's collect, registered in nbgrader_config.py),
`leave_out_unsafe_files` (autograde's pre-convert hook: what nbgrader's own copies and reads
never see) and the Dask client (`dask_grading.submission_as_data`); the sandbox's scratch copy
uses `copy_regular_files`.
"""
import dataclasses
import os
import pathlib
import stat

from nbgrader.exchange.default.collect import ExchangeCollect
from traitlets import Integer
from traitlets.config import Application, Configurable
from traitlets.log import get_logger

MAX_BYTES = 50_000_000
MAX_FILES = 1_000
# Where autograde's hook moves what it leaves out: beside the assignment's folder in the student's
# submitted/ folder (submitted/<student>/.left_out_by_grader/<assignment>/), out of the folder
# nbgrader walks (nbgrader's listing also walks the folders it ignores, quadratically: 10,000
# folders there took 2 minutes). nbgrader_config.py also adds it to CourseDirectory.ignore.
LEFT_OUT_FOLDER = ".left_out_by_grader"
# Skipped without a note: nbgrader's own default ignores, and our folder.
SKIPPED = {".ipynb_checkpoints", "__pycache__", LEFT_OUT_FOLDER}
# nbgrader's own small files at a submission's top, kept with the notebooks in a folder over a
# limit when they are small regular files: the submission's time (late penalties) and the
# secret `nbgrader submit` leaves, which release_feedback needs for every student it releases.
NBGRADERS_FILES, NBGRADERS_FILE_BYTES = ("timestamp.txt", "submission_secret.txt"), 4096
KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
         stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}
NO_FOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class SubmissionFiles(Configurable):
    """`c.SubmissionFiles.max_bytes`, `c.SubmissionFiles.max_files`: a submission folder larger
    than this, or with more entries, is graded without its extra files (its notebooks only)."""

    max_bytes = Integer(MAX_BYTES, help="Bytes a submission folder may hold; over it, only "
                        "its notebooks are graded.").tag(config=True)
    max_files = Integer(MAX_FILES, help="Files and folders a submission folder may hold; over "
                        "it, only its notebooks are graded.").tag(config=True)

    @property
    def limits(self):
        return {"max_bytes": self.max_bytes, "max_files": self.max_files}


def configured_limits(config=None):
    """{"max_bytes", "max_files"} of `config`, or of the running nbgrader application's."""
    if config is None and Application.initialized():
        config = Application.instance().config
    return SubmissionFiles(config=config).limits


class Crowded(Exception):
    """The walk met more entries than the folder may hold."""


@dataclasses.dataclass
class Submission:
    files: dict  # relative path -> bytes, regular files only
    left_out: list  # [(relative path, why)]

    def notes(self):
        return [f"left out {what}: {why}" for what, why in summary(self.left_out)]


def summary(left_out, shown=3):
    """[(what, why)] of what was left out, at most `shown` entries per reason: a crowd of
    100,000 files is a few lines in a log or a report, not 100,000 ("a, b, c and 99,997 more")."""
    by_reason = {}
    for path, why in left_out:
        by_reason.setdefault(why, []).append(path)
    lines = []
    for why, paths in by_reason.items():
        if len(paths) <= shown:
            lines.extend((path, why) for path in paths)
        else:
            lines.append((f"{', '.join(paths[:shown])} and {len(paths) - shown:,} more", why))
    return lines


def kind_of(mode):
    return KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _entries(folder_fd, prefix, found, left_out, budget):
    """Walks a folder by descriptor: found gets (relative path, lstat) of its regular files.
    Raises Crowded past `budget` ([entries the walk may still meet]) entries."""
    entries = []
    with os.scandir(folder_fd) as listing:
        for entry in listing:
            if entry.name in SKIPPED:
                continue
            budget[0] -= 1
            if budget[0] < 0:
                raise Crowded
            entries.append(entry)
    entries.sort(key=lambda entry: entry.name)
    for entry in entries:
        path = prefix + entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as error:
            left_out.append((path, f"unreadable ({error.strerror})"))
            continue
        if stat.S_ISDIR(info.st_mode):
            try:
                inner = os.open(entry.name, NO_FOLLOW | os.O_DIRECTORY, dir_fd=folder_fd)
            except OSError as error:
                left_out.append((path, f"unreadable ({error.strerror})"))
                continue
            try:
                _entries(inner, path + "/", found, left_out, budget)
            finally:
                os.close(inner)
        elif stat.S_ISREG(info.st_mode):
            found.append((path, info))
        else:
            left_out.append((path, kind_of(info.st_mode)))


def _read_beneath(root_fd, path, expected):
    """The bytes of `path` under root_fd, opened component by component without following a
    link; None when it is no longer the regular file the walk saw."""
    *folders, name = path.split("/")
    opened = []
    try:
        parent = root_fd
        for folder in folders:
            parent = os.open(folder, NO_FOLLOW | os.O_DIRECTORY, dir_fd=parent)
            opened.append(parent)
        fd = os.open(name, NO_FOLLOW, dir_fd=parent)
    except OSError:
        return None
    finally:
        for fd_ in opened:
            os.close(fd_)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (
                expected.st_dev, expected.st_ino):
            return None
        with os.fdopen(fd, "rb", closefd=False) as stream:
            content = stream.read(expected.st_size + 1)
        return content if len(content) == expected.st_size else None
    finally:
        os.close(fd)


def _scan(root, max_bytes, notebooks, max_files=MAX_FILES):
    """([(relative path, lstat)] of the regular files to read, [(relative path, why)] left
    out) of the folder open at `root`."""
    found, left_out = [], []
    try:
        _entries(root, "", found, left_out, [max_files])
    except Crowded:
        return _crowded(root, max_bytes, notebooks, max_files)
    seen = {}
    for _, info in found:
        seen[info.st_dev, info.st_ino] = seen.get((info.st_dev, info.st_ino), 0) + 1
    regular = []
    for path, info in found:
        if info.st_nlink > seen[info.st_dev, info.st_ino] and path not in notebooks:
            left_out.append((path, "a hard link to a file outside the folder"))
        else:
            regular.append((path, info))
    return _within(regular, left_out, max_bytes), left_out


def _crowded(root, max_bytes, notebooks, max_files):
    """A folder of more than max_files entries: its notebooks at the top (the assignment's,
    or any when `notebooks` is empty, up to max_files of them) within max_bytes; every other
    entry at its top left out whole (a folder with everything inside it)."""
    kept, left_out, total = [], [], 0
    why = f"the folder holds more than {max_files:,} files: only its notebooks are graded"
    with os.scandir(root) as listing:
        for entry in listing:
            if entry.name in SKIPPED:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as error:
                left_out.append((entry.name, f"unreadable ({error.strerror})"))
                continue
            notebook = (entry.name in notebooks if notebooks
                        else entry.name.endswith(".ipynb") and len(kept) < max_files)
            notebook = notebook or kept_beside_notebooks(entry.name, info)
            if not notebook:
                left_out.append((entry.name, why))
            elif not stat.S_ISREG(info.st_mode):
                left_out.append((entry.name, kind_of(info.st_mode)))
            elif total + info.st_size > max_bytes:
                left_out.append((entry.name, f"the folder is over {max_bytes / 1e6:g} MB: only "
                                             "its notebooks are graded"))
            else:
                kept.append((entry.name, info))
                total += info.st_size
    return sorted(kept), sorted(left_out)


def read_submission(folder, max_bytes=MAX_BYTES, contents=True, notebooks=(),
                    max_files=MAX_FILES):
    """The regular files of a submission folder (with their bytes, unless contents=False),
    never following a link, the folder itself included; and what was left out. `notebooks`:
    the file names of the assignment's notebooks. Linear in the folder's entries, and it reads
    at most max_files + 1 of them (and then the folder's top)."""
    try:
        root = os.open(folder, NO_FOLLOW | os.O_DIRECTORY)
    except OSError as error:
        why = "a symbolic link" if os.path.islink(folder) else f"unreadable ({error.strerror})"
        return Submission({}, [(".", why)])
    try:
        regular, left_out = _scan(root, max_bytes, notebooks, max_files)
        files = {}
        for path, info in regular:
            content = _read_beneath(root, path, info) if contents else b""
            if content is None:
                left_out.append((path, "changed while it was read"))
            else:
                files[path] = content
        return Submission(files, sorted(left_out))
    finally:
        os.close(root)


def kept_beside_notebooks(path, info):
    return (path in NBGRADERS_FILES and stat.S_ISREG(info.st_mode)
            and info.st_size <= NBGRADERS_FILE_BYTES)


def _within(regular, left_out, max_bytes):
    """All the files when they fit in max_bytes; otherwise the notebooks at the folder's top
    that fit, and none of the extra files."""
    if sum(info.st_size for _, info in regular) <= max_bytes:
        return regular
    kept, total = [], 0
    for path, info in regular:
        if kept_beside_notebooks(path, info) or (
                "/" not in path and path.endswith(".ipynb") and total + info.st_size <= max_bytes):
            kept.append((path, info))
            total += info.st_size
        else:
            left_out.append((path, f"the folder is over {max_bytes / 1e6:g} MB: only its "
                                   "notebooks are graded"))
    return kept


def write_files(files, folder):
    """Writes {relative path: bytes} under `folder` (made by us: no link to follow)."""
    folder = pathlib.Path(folder)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def assignment_notebooks(coursedir, assignment):
    """The file names of an assignment's notebooks, as its source folder holds them."""
    source = pathlib.Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    return tuple(sorted(path.name for path in source.glob("*.ipynb")))


def copy_regular_files(source, target, max_bytes=MAX_BYTES, notebooks=(), max_files=MAX_FILES):
    """Copies the regular files of `source` into a new folder `target`; returns what was left
    out."""
    submission = read_submission(source, max_bytes, notebooks=notebooks, max_files=max_files)
    pathlib.Path(target).mkdir(parents=True, exist_ok=True)
    write_files(submission.files, target)
    return submission.left_out


def leave_out_unsafe_files(assignment=None, student=None, notebooks=(), **_):
    """nbgrader's pre-convert hook for autograde (nbgrader_config.py): before nbgrader copies,
    lists or reads a student's submission, every entry that is not a regular file of its own
    (and, over the size or count limit, every extra file) is moved into LEFT_OUT_FOLDER beside
    it, out of nbgrader's sight; so is a notebook that cannot be read (grading/not_graded.py).
    A notebook moved there is taken off the list nbgrader grades; a student left with none is
    NOT GRADED, in one log line, with the reason kept for the export and the student's page."""
    from grading import not_graded

    if not notebooks:
        return
    folder = pathlib.Path(notebooks[0]).parent  # <root>/submitted/<student>/<assignment>
    root, student = folder.parents[2], folder.parent.name
    not_graded.clear(root, student, folder.name)
    app = Application.instance() if Application.initialized() else None
    names = (assignment_notebooks(app.coursedir, folder.name)
             if hasattr(app, "coursedir") else ())
    left_out = [(path, why) for path, why in read_submission(
        folder, contents=False, notebooks=names, **configured_limits()).left_out if path != "."]
    log = get_logger()
    unreadable = None
    for notebook in list(notebooks):
        path = pathlib.Path(notebook)
        if path.parent == folder and path.name not in {entry for entry, _ in left_out}:
            unreadable = not_graded.reason_for(path)
            if unreadable:
                left_out.append((path.name, f"a notebook that cannot be read ({unreadable})"))
    aside = folder.parent / LEFT_OUT_FOLDER / folder.name
    for path, why in left_out:
        destination = aside / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        for again in range(1, 1000):  # graded again: what an earlier grading moved stays
            if not os.path.lexists(destination):
                break
            destination = aside / f"{path}.{again}"
        os.replace(folder / path, destination)  # moves the entry itself, never its target
        notebooks[:] = [notebook for notebook in notebooks
                        if pathlib.Path(notebook) != folder / path]
    for what, why in summary(left_out):
        log.warning("Left out of the grading of %s: %s is %s (moved to %s)",
                    student, what, why, aside.relative_to(folder.parent.parent))
    if not notebooks:
        reason = (f"the notebook cannot be read: {unreadable}" if unreadable
                  else not_graded.NO_NOTEBOOK)
        log.error("%s has no notebook left to grade: not graded", student)
        log.error("NOT GRADED: %s: %s", student, reason)
        not_graded.record(root, student, folder.name, reason)


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, copying each submission from the exchange with regular files only
    (`c.ExchangeFactory.collect` in nbgrader_config.py): a link, FIFO, device or socket that a
    student left in the exchange is never followed with the instructor's rights."""

    def do_copy(self, src, dest, log=None):
        limits = SubmissionFiles(parent=self).limits
        left_out = copy_regular_files(
            src, dest, limits["max_bytes"],
            assignment_notebooks(self.coursedir, self.coursedir.assignment_id),
            limits["max_files"])
        for path, why in summary(left_out):
            self.log.warning("Not collected from %s: %s is %s", os.path.basename(src), path,
                             why)
