"""nbgrader preprocessors of this course, registered in nbgrader_config.py."""
from nbformat.v4 import new_output
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor
from nbgrader.utils import is_grade


class HideTestTracebacks(NbGraderPreprocessor):
    """For `generate_feedback`: keeps hidden tests hidden.

    nbgrader's ClearHiddenTests (registered before this one) removes the hidden regions from
    the test cells' source, but a failed hidden test would still show its code in the
    traceback, which Python prints line by line. Keep only the last line of each error in a
    graded test cell (`AssertionError: <Spanish message>`): it says what was expected without
    showing how it is checked.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output['ename']}: {output['evalue']}".rstrip(": ")
                    output["traceback"] = [message]
        return cell, resources


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
        import calificador  # loaded in the background by SandboxedExecute
        from observador import MIME

        seed = resources["calificacion"]["semilla"]
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            observations = [output["data"][MIME] for output in cell.outputs
                            if MIME in output.get("data", {})]
            cell.outputs = [output for output in cell.outputs
                            if MIME not in output.get("data", {})]
            failed = any(output.output_type == "error" for output in cell.outputs)
            if is_grade(cell) and not failed:
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                message = calificador.veredicto(grade_id, observations, seed)
                if message:
                    cell.outputs.append(new_output("error", ename="AssertionError",
                                                   evalue=message, traceback=[message]))
        return nb, resources
