"""A submission the grader cannot grade is NOT GRADED, never a silent zero.

A notebook that cannot be read (not UTF-8, not JSON, JSON nested deeper than any reader should
follow, not a notebook nbformat knows) is found by the course before nbgrader parses it: by
autograde's pre-convert hook on the command line (submission_files.leave_out_unsafe_files) and
by the Dask client before it sends the student. So is a submission with no notebook left to
grade (its notebook was a link). For each such student the course keeps one line, the reason:

* in the log and the report: "NOT GRADED: <student>: <reason>" (one line, no traceback);
* in MARKER, beside the submission (submitted/<student>/.left_out_by_grader/<assignment>/),
  which `nbgrader export` reads (grading/lms_export.py): the grade is left blank in grades.csv
  and in the LMS files, and the reason printed;
* in the student's feedback folder, a short Spanish page named as the notebook's feedback
  (vae_olivetti.html), with the submission's timestamp.txt and submission_secret.txt beside it
  as generate_feedback leaves them: `nbgrader release_feedback` releases it and the student's
  `fetch_feedback` finds it like any feedback: the notebook could not be read, why, and what to
  do.

Grading the student again clears all three first. The reasons are the course's own words, never
text taken from the student's file.
"""
import html
import json
import os
import pathlib
import secrets
import stat

import nbformat

from grading.submission_files import LEFT_OUT_FOLDER, NBGRADERS_FILES, NBGRADERS_FILE_BYTES

MARKER = "NOT_GRADED.txt"
NOTEBOOK = "vae_olivetti.ipynb"
# What release_feedback reads beside each page (copied from the submission, at most this long).
BESIDE_THE_PAGE, BESIDE_BYTES = NBGRADERS_FILES, NBGRADERS_FILE_BYTES

# JSON nested deeper than this is no notebook: nbformat's own deepest is about 10 levels (an
# output's data, a widget state a little more). Python's JSON decoder would recurse much deeper.
MAX_DEPTH = 64

# The reasons, in English for the instructor, in Spanish for the student.
NOT_UTF8 = "not UTF-8 text"
NOT_JSON = "not JSON (the file is cut or corrupted)"
TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"
NOT_A_NOTEBOOK = "JSON, but not a Jupyter notebook nbformat can read"
NO_NOTEBOOK = "no notebook left to grade"
REFUSED = "nbgrader refused the notebook"  # dask_grading.REFUSALS: its metadata was changed
SPANISH = {
    NOT_UTF8: "el archivo no es texto UTF-8",
    NOT_JSON: "el archivo no es JSON válido: está cortado o dañado",
    TOO_DEEP: "el JSON del archivo está anidado a una profundidad que ningún cuaderno tiene",
    NOT_A_NOTEBOOK: "el archivo es JSON, pero no un cuaderno de Jupyter",
    NO_NOTEBOOK: "en la entrega no había un cuaderno que calificar (era un enlace o faltaba)",
    REFUSED: "se modificaron los metadatos de nbgrader de sus celdas de prueba o de solo lectura",
}


def deeper_than(value, limit=MAX_DEPTH):
    """True when a decoded JSON value nests lists and objects deeper than `limit`; counted with a
    stack of its own, never by recursion."""
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            stack.extend((inner, depth + 1)
                         for inner in (value.values() if isinstance(value, dict) else value))
    return False


def unreadable(content):
    """Why the bytes of a submitted notebook cannot be graded (one of the reasons above), or
    None when nbformat reads them as a notebook."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    try:
        value = json.loads(text)
    except RecursionError:  # Python's decoder gives up near 1,000 levels
        return TOO_DEEP
    except ValueError:
        return NOT_JSON
    if deeper_than(value):
        return TOO_DEEP
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception:  # noqa: BLE001 (whatever nbformat raises: the student's file)
        return NOT_A_NOTEBOOK
    return None


def aside(course, student, assignment):
    return pathlib.Path(course) / "submitted" / student / LEFT_OUT_FOLDER / assignment


def feedback_page(course, student, assignment, notebook=NOTEBOOK):
    return (pathlib.Path(course) / "feedback" / student / assignment /
            (pathlib.Path(notebook).stem + ".html"))


def small_file(path):
    """The text of a small regular file of the submission, or None (never a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        content = stream.read(BESIDE_BYTES + 1)
    return content.decode("utf-8", "replace") if len(content) <= BESIDE_BYTES else None


def record(course, student, assignment, reason, notebook=NOTEBOOK):
    """Keeps the reason beside the submission and writes the student's Spanish page, with what
    release_feedback reads beside it."""
    marker = aside(course, student, assignment) / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(reason + "\n", encoding="utf-8")
    page = feedback_page(course, student, assignment, notebook)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(spanish_page(reason, notebook), encoding="utf-8")
    submitted = pathlib.Path(course) / "submitted" / student / assignment
    for name in BESIDE_THE_PAGE:
        text = small_file(submitted / name)
        if text is None:  # (release_feedback needs both; the student cannot fetch it then)
            text = secrets.token_hex(64) if name == "submission_secret.txt" else ""
        (page.parent / name).write_text(text, encoding="utf-8")


def clear(course, student, assignment, notebook=NOTEBOOK):
    """Before a student is graded again: no reason kept from an earlier grading, and not its
    page (generate_feedback writes the student's page again)."""
    marker = aside(course, student, assignment) / MARKER
    if marker.is_file() and not marker.is_symlink():
        page = feedback_page(course, student, assignment, notebook)
        if page.is_file() and not page.is_symlink():
            page.unlink()
        marker.unlink()


def not_graded(course, assignment):
    """{student: reason} of the students of `assignment` that the last grading could not
    grade."""
    found = {}
    for marker in sorted(pathlib.Path(course, "submitted").glob(
            f"*/{LEFT_OUT_FOLDER}/{assignment}/{MARKER}")):
        if marker.is_file() and not marker.is_symlink():
            found[marker.parents[2].name] = marker.read_text(encoding="utf-8").strip()
    return found


def spanish_page(reason, notebook):
    why = next((spanish for english, spanish in SPANISH.items() if english in reason),
               "el archivo no se pudo leer")
    return f"""<!DOCTYPE html>
<html lang="es">
<head><meta charset="utf-8"><title>Tu entrega no se pudo calificar</title></head>
<body>
<h1>Tu entrega no se pudo calificar</h1>
<p>El cuaderno <code>{html.escape(notebook)}</code> que entregaste no se pudo leer:
{html.escape(why)}. No tiene nota: no es un cero, y ninguna de sus partes se calificó.</p>
<p>Qué hacer: ábrelo en JupyterLab. Si no abre, descarga de nuevo la tarea (<em>Fetch</em>),
copia en ella tus soluciones y vuelve a entregarla (<em>Submit</em>). Si abre bien, avisa a tu
profesor: la calificación se repetirá con tu entrega.</p>
</body>
</html>
"""


def reason_for(path):
    """unreadable() of a regular file, read without following a link (its size is already
    bounded by the submission's limit)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as stream:
        return unreadable(stream.read())
