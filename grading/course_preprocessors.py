"""nbgrader preprocessors of this course, registered in nbgrader_config.py."""
import json
import re
import time

from nbformat.v4 import new_output
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor
from nbgrader.utils import is_grade

from grading import student_kernel_module


ANSI = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"^Cell In\[(\d+)\]")
# TensorFlow's eager errors start with the op's internal name: "{{function_node __wrapped__Mul_
# device_/job:localhost/replica:0/task:0/device:CPU:0}} Incompatible shapes: ... [Op:Mul] name: "
TF_NOISE = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*name: $")


def students_own(cell):
    """A cell the student wrote: a solution cell, or one they added (not the course's)."""
    nbgrader = cell.metadata.get("nbgrader", {})
    return nbgrader.get("solution", False) or not (nbgrader.get("locked") or
                                                   nbgrader.get("grade"))


class ShortenTracebacks(NbGraderPreprocessor):
    """For `autograde` (after VerifyObservations) and `generate_feedback`: every traceback keeps
    only what helps the student and nothing of the course's or the grader's machine.

    A traceback keeps its header, the frames of the student's own cells (solution cells and
    cells they added, found by execution count) and its last line; frames of library code
    (TensorFlow, with the instructor's paths), of the course's cells and of the test cells (whose
    hidden part must stay hidden) are dropped, and counted. In a graded test cell, an
    AssertionError (a visible check or a hidden verdict) shows only its Spanish message; any other
    error came from the student's code, and says so in Spanish above their frames.
    """

    def preprocess(self, nb, resources):
        self.own_cells = {cell.execution_count for cell in nb.cells
                          if cell.cell_type == "code" and cell.get("execution_count")
                          and students_own(cell)}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["evalue"] = TF_NOISE.sub("", output.get("evalue", ""))
                output["traceback"] = self.shortened(output, is_grade(cell) and
                                                     not students_own(cell))
        return cell, resources

    def shortened(self, output, in_test_cell):
        message = f"{output['ename']}: {output['evalue']}".rstrip(": ")
        if in_test_cell and output["ename"] == "AssertionError":
            return [message]
        frames = [(entry, ANSI.sub("", entry)) for entry in output.get("traceback", [])[:-1]]
        frames = [(entry, plain) for entry, plain in frames
                  if CELL_FRAME.match(plain) or plain.startswith("File ")]
        own = [entry for entry, plain in frames
               if CELL_FRAME.match(plain) and int(CELL_FRAME.match(plain)[1]) in self.own_cells]
        if not own:
            return [message]
        where = "durante esta prueba" if in_test_cell else "en esta celda"
        lines = [f"Su código lanzó {output['ename']} {where}. Las líneas de sus celdas por "
                 "donde pasó el error:"] + own
        if len(frames) > len(own):
            lines.append(f"(se omiten {len(frames) - len(own)} pasos más: código de TensorFlow, "
                         "de las pruebas o del curso)")
        return lines + [message]


class DropDuplicateCellIds(DeduplicateIds):
    """For `autograde`: a student who copied a graded cell must not stop the class's grading.

    nbgrader's DeduplicateIds keeps the last cell of each grade_id and sets the metadata of the
    earlier copies to `{}`; CheckCellMetadata then reads `{}` as an old metadata schema and
    stops the whole batch ("One or more notebooks ... use an old version"). Remove the key
    instead: the earlier copy becomes an ordinary cell, as it is at run time.
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


# {student: {term: seconds}} of the notebooks graded in this process, for the Dask task that
# graded them (grading/dask_grading.py takes its student's out).
TIMINGS = {}


class VerifyObservations(NbGraderPreprocessor):
    """For `autograde`, right after SandboxedExecute: decides every hidden check outside the
    student's kernel.

    In the kernel, each graded cell's hidden part only publishes an observation (what the
    student's functions returned on inputs fixed by this grading's seed; see
    student_kernel/observador.py). Here the observations are taken out of every cell's outputs
    (they are data, not feedback), and `calificador.veredicto` compares each graded cell's
    observation with references computed in this process. A failed check becomes an error output
    with its Spanish message, which is what SaveAutoGrades scores as 0. A cell that already
    failed in the kernel (a visible assert, the student's own error) keeps its error.
    """

    def preprocess(self, nb, resources):
        from grading import calificador  # loaded in the background by SandboxedExecute
        MIME = student_kernel_module("observador").MIME

        clock = time.monotonic()
        seed = resources["grading"]["seed"]
        timings = resources["grading"].setdefault("timings", {})
        timings["observations"] = 0.0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            observations = [output["data"][MIME] for output in cell.outputs
                            if MIME in output.get("data", {})]
            timings["observations"] += sum(observation_seconds(o) for o in observations)
            cell.outputs = [output for output in cell.outputs
                            if MIME not in output.get("data", {})]
            failed = any(output.output_type == "error" for output in cell.outputs)
            if is_grade(cell) and not failed:
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                message = calificador.veredicto(grade_id, observations, seed)
                if message:
                    cell.outputs.append(new_output("error", ename="AssertionError",
                                                   evalue=message, traceback=[message]))
        timings["verdicts"] = time.monotonic() - clock
        student = resources.get("nbgrader", {}).get("student", "?")
        TIMINGS[student] = dict(timings)
        self.log.info("Seconds grading %s: %s", student,
                      json.dumps({name: round(value, 3) for name, value in timings.items()}))
        return nb, resources


def observation_seconds(observation):
    """What the kernel says its observation took (bench/run.py's breakdown; a number from the
    student's kernel, never used for a grade)."""
    seconds = observation.get("segundos") if isinstance(observation, dict) else None
    return float(seconds) if isinstance(seconds, (int, float)) and 0 <= seconds < 1e4 else 0.0


class SummarizeByPart(NbGraderPreprocessor):
    """For `generate_feedback`, after GetGrades: the summary table of the feedback page
    (grading/templates/retroalimentacion). `resources["resumen"]` lists each part (the function
    a test cell's grade_id names: test_<function>_<what>) with its tests, by the readable name
    of their first comment line, points got and possible, and the part's subtotal; with what
    an instructor added in the formgrader: extra credit (in the points got, and alone) and the
    comment on the part's solution cell."""

    def preprocess(self, nb, resources):
        parts, names, comments = {}, {}, {}
        # Longest name first, so that test_build_decoder_x never goes to a part named "build".
        solutions = sorted((cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
                            if cell.metadata.get("nbgrader", {}).get("solution")),
                           key=len, reverse=True)
        for cell in nb.cells:
            nbgrader = cell.metadata.get("nbgrader", {})
            if nbgrader.get("solution"):
                comments[nbgrader["grade_id"]] = instructors_comment(nbgrader)
            if not nbgrader.get("grade") or nbgrader.get("solution"):
                continue
            grade_id = nbgrader["grade_id"]
            part = next((name for name in solutions if grade_id.startswith(f"test_{name}_")),
                        grade_id)
            names[grade_id] = first_comment(cell.source) or grade_id
            entry = parts.setdefault(part, {"nombre": part, "pruebas": [], "obtenidos": 0.0,
                                            "posibles": 0.0, "extra": 0.0})
            entry["pruebas"].append({"id": grade_id, "nombre": names[grade_id],
                                     "obtenidos": float(nbgrader.get("score") or 0),
                                     "posibles": float(nbgrader.get("points") or 0),
                                     "extra": float(nbgrader.get("extra_credit") or 0)})
            for total in ("obtenidos", "posibles", "extra"):
                entry[total] += entry["pruebas"][-1][total]
        for part, entry in parts.items():
            entry["comentario"] = comments.get(part)
        resources["resumen"] = list(parts.values())
        resources["nombres_de_pruebas"] = names
        return nb, resources


def instructors_comment(nbgrader):
    """The comment GetGrades put on a solution cell, unless it is nbgrader's own for an
    unanswered cell."""
    comment = (nbgrader.get("comment") or "").strip()
    return comment if comment and comment != "No response." else None


def first_comment(source):
    """The comment a test cell opens with, on one line ("# Divide en lotes de batch_size."
    -> "Divide en lotes de batch_size.")."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    # What grading checks besides ("Al calificar, además: ...") is for the notebook's reader.
    return " ".join(lines).split(" Al calificar")[0]

