"""What the feedback students get back leaves out: nbgrader preprocessors for ``nbgrader generate_feedback``."""

from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked


class HideTestTracebacks(NbGraderPreprocessor):
    """Reduce every error in a test cell to its message.

    A traceback quotes the lines around the failing check, which for a hidden test is hidden test code;
    the message (written in the student's terms) is all a student needs.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell) and is_locked(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
