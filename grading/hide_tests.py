"""nbgrader preprocessor for `generate_feedback`: keeps hidden tests hidden.

nbgrader's ClearHiddenTests (registered before this one in nbgrader_config.py) removes the
hidden regions from the test cells' source. A failed hidden test would still show its code in
the traceback, which Python prints line by line. This preprocessor keeps only the last line of
each error in a graded test cell (`AssertionError: <Spanish message>`), which says what was
expected without showing how it is checked.
"""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


class HideTestTracebacks(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    message = f"{output['ename']}: {output['evalue']}".rstrip(": ")
                    output["traceback"] = [message]
        return cell, resources
