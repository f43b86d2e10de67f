"""Who copied from whom: the code of the students' solution cells, compared pairwise.

Instructor's side only (never in a student's kernel). For every student in submitted/, the
code of each solution cell (found by its nbgrader metadata: a cell whose grade_id names one of
the assignment's parts, wherever the student moved it) is compared with every classmate's by
copydetect: Pygments tokens (so renamed variables and functions do not hide a copy) and
winnowed fingerprints, as MOSS. The released notebook's code (the stubs, the given functions,
the test cells) is boilerplate and never counts, so two blank submissions are not a pair and a
part left blank by both is not an overlap.

    report = compare_class(course_folder)
    print(report.table())                        # ranked pairs, with the parts they share
    report.write(folder)                         # similitud.html (side by side), similitud.png

A submission that cannot be read still appears, with a note.
"""
import dataclasses
import html
import itertools
import pathlib

import zlib

import copydetect.utils
import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files

from grading import submission_files

ASSIGNMENT = "vae_olivetti"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
# copydetect's defaults: a match counts from 25 filtered characters, and is certain from 30.
NOISE, GUARANTEE = 25, 30
THRESHOLD = 0.5  # a pair over this share of both students' own code is reported


def _stable_kgram_hashes(string, k):
    """copydetect hashes k-grams with Python's hash(), which changes from one process to the
    next (PYTHONHASHSEED), and so would the winnowed fingerprints and every score: the same
    k-grams, hashed with CRC-32, give the same report on every run."""
    return np.array([zlib.crc32(string[i:i + k].encode("utf-8", "surrogatepass"))
                     for i in range(len(string) - k + 1)], dtype=np.int64)


copydetect.utils.hashed_kgrams = _stable_kgram_hashes


@dataclasses.dataclass
class Submission:
    student: str
    parts: dict  # {part: code}, in the assignment's order
    note: str = ""

    def code(self):
        """The student's code as one file, and the span of each part in it."""
        text, spans = "", {}
        for part, code in self.parts.items():
            start = len(text)
            text += code.rstrip() + "\n\n"
            spans[part] = (start, len(text))
        return text, spans


@dataclasses.dataclass
class Pair:
    first: str
    second: str
    score: float  # the smaller of the two shares: how much of each one's code is shared
    shares: tuple  # (share of the first's code, share of the second's)
    parts: list  # the parts at least PART_SHARE of which is shared code
    slices: tuple = ()  # (first, second): 2xN character spans of the shared code


def solution_parts(source_notebook):
    """The assignment's parts: the grade_ids of the master's solution cells, in order."""
    notebook = nbformat.read(source_notebook, as_version=4)
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("solution")]


def read_submission(student, folder, parts):
    """A student's solution code by part (a part without its cell is empty), read as data
    from an attacker: the notebook only, a regular file within the size limit, never a link
    (submission_files)."""
    files = submission_files.read_submission(folder, notebooks=(NOTEBOOK,)).files
    if NOTEBOOK not in files:
        return Submission(student, dict.fromkeys(parts, ""),
                          "not compared: no notebook (missing, a link or too large)")
    try:
        notebook = nbformat.reads(files[NOTEBOOK].decode("utf-8"), as_version=4)
        cells = {cell.metadata.get("nbgrader", {}).get("grade_id"): str(cell.source)
                 for cell in notebook.cells if cell.cell_type == "code"}
    except Exception as error:  # noqa: BLE001 (any unreadable file is a note, not a stop)
        return Submission(student, dict.fromkeys(parts, ""),
                          f"not compared: the notebook cannot be read ({type(error).__name__})")
    missing = [part for part in parts if part not in cells]
    note = f"no cell for {', '.join(missing)}" if missing else ""
    return Submission(student, {part: cells.get(part, "") for part in parts}, note)


def released_code(release_notebook):
    """{grade_id or cell id: code} of the released notebook's code cells: the stubs, the
    given functions, the tests."""
    notebook = nbformat.read(release_notebook, as_version=4)
    return {cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id"): cell.source
            for cell in notebook.cells if cell.cell_type == "code"}


def boilerplate(released):
    """The fingerprints of every k-gram of the released code (not only the winnowed ones, so
    that the released code never counts, whatever surrounds it in a student's file)."""
    code = "\n\n".join(released.values())
    return np.array(sorted(fingerprint("liberado.py", code, window=1).hashes))


def fingerprint(name, code, hashes=None, window=GUARANTEE - NOISE + 1):
    return CodeFingerprint(name, NOISE, window, boilerplate=hashes, language="python",
                           fp=_Text(code))


def without_stubs(submission, released):
    """A part whose code is still the released stub (but for blank lines and spaces at the
    ends of lines) is empty: two students who left it blank share nothing."""
    def plain(code):
        return [line.rstrip() for line in code.strip().splitlines() if line.strip()]
    for part, code in submission.parts.items():
        if plain(code) == plain(released.get(part, "")):
            submission.parts[part] = ""
    return submission


class _Text:
    """What CodeFingerprint reads its code from (its `fp`)."""

    def __init__(self, text):
        self.text = text

    def read(self):
        return self.text


def part_shares(slices, spans):
    """{part: the share of that part's characters inside the shared spans}."""
    shares = {}
    for part, (start, end) in spans.items():
        covered = sum(max(0, min(e, end) - max(s, start)) for s, e in zip(*slices))
        if end > start and covered:
            shares[part] = covered / (end - start)
    return shares


PART_SHARE = 0.3  # a part is named where at least this share of it is shared code


@dataclasses.dataclass
class Report:
    submissions: list
    pairs: list  # every pair with shared code, highest score first
    matrix: np.ndarray  # pairwise scores, in the order of `submissions`
    threshold: float = THRESHOLD

    def flagged(self):
        return [pair for pair in self.pairs if pair.score >= self.threshold]

    def table(self, rows=10):
        """The ranked pairs, for the terminal."""
        lines = [f"{'score':>5}  {'students':<40}  parts mostly shared"]
        for pair in self.pairs[:rows]:
            mark = "  <-- over the threshold" if pair.score >= self.threshold else ""
            lines.append(f"{pair.score:5.2f}  {pair.first + ' / ' + pair.second:<40}  "
                         f"{', '.join(pair.parts) or '(small fragments)'}{mark}")
        if not self.pairs:
            lines.append("  (no two students share code beyond the released notebook's)")
        lines += [f"note: {s.student}: {s.note}" for s in self.submissions if s.note]
        lines.append(f"{len(self.flagged())} pair(s) of {len(self.submissions)} students over "
                     f"the threshold ({self.threshold:.2f} of each one's own code).")
        return "\n".join(lines)

    def write(self, folder):
        """similitud.html (the pairs, their shared code highlighted side by side) and
        similitud.png (the class at a glance); returns their paths."""
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        picture = folder / "similitud.png"
        self.heat_map(picture)
        page = folder / "similitud.html"
        page.write_text(self.html(picture.name), encoding="utf-8")
        return page, picture

    def heat_map(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = [s.student for s in self.submissions]
        size = max(4.0, 0.28 * len(names) + 2)
        figure, axes = plt.subplots(figsize=(size + 1.5, size))
        image = axes.imshow(self.matrix, vmin=0, vmax=1, cmap="magma_r")
        axes.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        axes.set_yticks(range(len(names)), names, fontsize=7)
        axes.set_title("Código compartido entre pares de estudiantes")
        axes.set_xlabel("estudiante")
        axes.set_ylabel("estudiante")
        figure.colorbar(image, ax=axes, label="fracción del código propio compartida")
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)

    def html(self, picture):
        code = {s.student: s.code() for s in self.submissions}
        sections = []
        for pair in self.flagged() or self.pairs[:5]:
            sides = []
            for student, slices in zip((pair.first, pair.second), pair.slices):
                text, _ = code[student]
                sides.append(f"<td><h3>{html.escape(student)}</h3><pre>"
                             f"{highlighted(text, slices)}</pre></td>")
            sections.append(
                f"<h2>{html.escape(pair.first)} / {html.escape(pair.second)}: "
                f"{pair.score:.2f}</h2><p>Partes: {html.escape(', '.join(pair.parts))}</p>"
                f"<table role=\"presentation\"><tr>{''.join(sides)}</tr></table>")
        notes = "".join(f"<li>{html.escape(s.student)}: {html.escape(s.note)}</li>"
                        for s in self.submissions if s.note)
        rows = "".join(f"<tr><td>{p.score:.2f}</td><td>{html.escape(p.first)}</td>"
                       f"<td>{html.escape(p.second)}</td><td>{html.escape(', '.join(p.parts))}"
                       "</td></tr>" for p in self.pairs)
        # WCAG 2.1 AA (README, Accessibility): the page's content in <main>; the heat map (a
        # colorblind-safe map) has a caption and the table of pairs, with the same scores in
        # text, as its long description; the side-by-side tables are layout, not data.
        return f"""<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Similitud entre entregas</title>
<style>body{{font-family:sans-serif;margin:2em}} td{{vertical-align:top;padding:0 1em}}
pre{{font-size:12px}} mark{{background:#ffd54f}} table.pares td{{border-bottom:1px solid #ddd}}
figure{{margin:1em 0}} caption{{text-align:left;font-weight:bold}}
</style></head><body><main>
<h1>Similitud entre entregas ({len(self.submissions)} estudiantes)</h1>
<p>Código de las celdas de solución comparado por pares (copydetect: tokens y huellas, como
MOSS); el código del cuaderno liberado no cuenta. Puntuación: la menor de las dos fracciones
del código propio que comparten; umbral {self.threshold:.2f}.</p>
<figure>
<img src="{html.escape(picture)}" aria-describedby="tabla-pares"
alt="Mapa de calor de la similitud entre pares de estudiantes: una celda por par, más oscura
cuanto más código comparten; la tabla de pares da las mismas puntuaciones en texto.">
<figcaption>Fracción del código propio que comparte cada par de estudiantes, de 0 (claro) a 1
(oscuro). La tabla siguiente da cada puntuación en texto, de mayor a menor.</figcaption>
</figure>
<table class="pares" id="tabla-pares"><caption>Pares de estudiantes por puntuación de
similitud</caption><tr><th scope="col">puntuación</th><th scope="col">estudiante</th>
<th scope="col">estudiante</th><th scope="col">partes</th></tr>{rows}</table>
{''.join(sections)}
<ul>{notes}</ul>
</main></body></html>
"""


def highlighted(text, slices):
    """The code, escaped, with the shared spans in <mark>."""
    out, position = [], 0
    for start, end in sorted(zip(*slices)) if len(slices) else []:
        start, end = max(int(start), position), int(end)
        if end <= start:
            continue
        out += [html.escape(text[position:start]), "<mark>", html.escape(text[start:end]),
                "</mark>"]
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def compare(submissions, boilerplate_hashes, threshold=THRESHOLD):
    """The report for `submissions` (a list of Submission)."""
    prints = {}
    for submission in submissions:
        text, _ = submission.code()
        prints[submission.student] = fingerprint(f"{submission.student}.py", text,
                                                 boilerplate_hashes)
    index = {s.student: k for k, s in enumerate(submissions)}
    matrix = np.zeros((len(submissions), len(submissions)))
    pairs = []
    for first, second in itertools.combinations(submissions, 2):
        if first.note.startswith("not compared") or second.note.startswith("not compared"):
            continue
        overlap, shares, slices = compare_files(prints[first.student], prints[second.student])
        if not overlap:
            continue
        score = float(min(shares))
        matrix[index[first.student], index[second.student]] = score
        matrix[index[second.student], index[first.student]] = score
        shares_by_part = part_shares(slices[0], first.code()[1])
        for part, share in part_shares(slices[1], second.code()[1]).items():
            shares_by_part[part] = max(share, shares_by_part.get(part, 0))
        parts = [part for part in first.parts if shares_by_part.get(part, 0) >= PART_SHARE]
        pairs.append(Pair(first.student, second.student, score,
                          tuple(float(s) for s in shares), parts, slices))
    pairs.sort(key=lambda pair: (-pair.score, pair.first, pair.second))
    return Report(submissions, pairs, matrix, threshold)


def compare_class(course, threshold=THRESHOLD):
    """The report for every student of the course's submitted/."""
    course = pathlib.Path(course)
    parts = solution_parts(course / "source" / ASSIGNMENT / NOTEBOOK)
    submitted = course / "submitted"
    released = released_code(course / "release" / ASSIGNMENT / NOTEBOOK)
    submissions = [without_stubs(read_submission(folder.name, folder / ASSIGNMENT, parts),
                                 released)
                   for folder in sorted(submitted.iterdir()) if folder.is_dir()]
    return compare(submissions, boilerplate(released), threshold)
