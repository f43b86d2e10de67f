"""nbgrader preprocessors of this course, registered in nbgrader_config.py."""
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
