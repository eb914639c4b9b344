"""nbgrader configuration of the gmmlab course (read by every `nbgrader` command run from this directory).

Directories, mapped onto the course layout:

- ``solutions/<assignment>/``  the source: instructor versions with solutions and hidden tests;
- ``exercises/<assignment>/``  the release: student versions made by ``nbgrader generate_assignment``
  (committed, so Binder users open them directly; regenerate with ``make exercises``);
- ``submitted/``, ``autograded/``, ``feedback/``  the instructor's working directories (git-ignored).

The gradebook lives outside the released material: ``gradebook.db`` in the course root (git-ignored), or
wherever the environment variable ``GMMLAB_GRADEBOOK`` points (an SQLite file path).
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "gmmlab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

_gradebook = os.environ.get("GMMLAB_GRADEBOOK")
if _gradebook:
    c.CourseDirectory.db_url = "sqlite:///" + os.path.abspath(_gradebook)

# The four assignments, in course order (nbgrader db assignment add / formgrader use these names).
ASSIGNMENTS = ["ps1-kmeans", "ps2-likelihood", "ps3-em-steps", "ps4-em"]

# Release: outputs cleared, solution regions replaced by a stub, hidden tests removed (nbgrader defaults).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: the python3 kernel, a per-cell timeout (a student's infinite loop is interrupted after this
# many seconds, that cell errors and grading goes on), and deleted test cells put back before running.
c.Execute.kernel_name = "python3"
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.OverwriteCells.add_missing_cells = True


class HideTestTracebacks(NbGraderPreprocessor):
    """Feedback only: reduce every error in a test cell to its message.

    A traceback quotes the lines around the failing check, which for a hidden test is hidden test code;
    the message (written in the student's terms) is all a student needs.
    """

    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbgrader.get("grade") and nbgrader.get("locked"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


# Feedback HTML returned to students: grades, test cells without their hidden tests, messages only.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, HideTestTracebacks, CSSHTMLHeaderPreprocessor]
