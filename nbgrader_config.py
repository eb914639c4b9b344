"""nbgrader configuration of the gmmlab course (read by every `nbgrader` command run from this directory).

Directories, mapped onto the course layout:

- ``solutions/<assignment>/``  the source: instructor versions with solutions and hidden tests;
- ``exercises/<assignment>/``  the release: student versions made by ``nbgrader generate_assignment``
  (committed, so Binder users open them directly; regenerate with ``make exercises``);
- ``submitted/``, ``autograded/``, ``feedback/``  the instructor's working directories (git-ignored).

The gradebook lives outside the released material: ``gradebook.db`` in the course root (git-ignored), or
wherever the environment variable ``GMMLAB_GRADEBOOK`` points (an SQLite file path). ``nbgrader autograde`` is
sandboxed (gmmlab_course/autograde.py; the course's instructor tools are the package gmmlab_course,
installed with ``pip install .[instructor]``): it refuses to run where bubblewrap is missing, unless
``GMMLAB_UNSANDBOXED_GRADING=1`` says knowingly that student code may run as you. The course's grading secret
(hidden-test seeds) is ``.gmmlab/grading-secret`` (git-ignored; keep it for identical regrades).
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

from gmmlab_course import manifest  # noqa: E402 (the course's one list: its id and problem sets)

c.CourseDirectory.course_id = manifest.course_id()
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

_gradebook = os.environ.get("GMMLAB_GRADEBOOK")
if _gradebook:
    c.CourseDirectory.db_url = "sqlite:///" + os.path.abspath(_gradebook)

# Release: outputs cleared, solution regions replaced by a stub, hidden tests removed (nbgrader defaults).
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding (gmmlab_course/autograde.py): submissions are first rebuilt on the released notebook, so awkward
# notebooks (duplicated, split or re-ordered cells, lost metadata, old nbformat) are graded, not zeroed; then every
# cell but the tests runs in a sandbox (bubblewrap, a throwaway uid, no network, no course files, CPU, memory and
# process limits) and the test cells, restored from the gradebook, run in the trusted grader, which calls the
# student's functions in the sandbox. nbgrader's Execute step (a kernel running everything as the instructor) is
# not used. Limits are in CPU seconds, so a loaded machine never costs a correct submission a point.
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput,
    OverwriteCells, OverwriteKernelspec, SaveAutoGrades,
)
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402

from gmmlab_course.autograde import NormaliseSubmission, SandboxedGrade  # noqa: E402
from gmmlab_course.feedback import (  # noqa: E402
    FeedbackFilesOnly, HideTestTracebacks, SanitiseStudentMarkup,
)

c.Autograde.sanitize_preprocessors = [
    ClearOutput, NormaliseSubmission, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    SandboxedGrade, SanitiseStudentMarkup, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties,
    CheckCellMetadata,
]
c.SandboxedGrade.cpu_limit = 60  # CPU seconds per cell or per call of a graded function
c.SandboxedGrade.idle_limit = 30  # seconds without computing (sleeping, blocked) before a cell or call is stopped
c.OverwriteCells.add_missing_cells = True


# Feedback HTML returned to students: grades, test cells without their hidden tests, messages only, and no markup
# of the student's that could run in a browser; feedback/ gets the pages and nothing else a submission held
# (gmmlab_course/feedback.py). The same Markdown filter renders the formgrader's pages.
c.GenerateFeedback.preprocessors = [
    GetGrades, ClearHiddenTests, HideTestTracebacks, SanitiseStudentMarkup, FeedbackFilesOnly,
    CSSHTMLHeaderPreprocessor,
]
c.HTMLExporter.filters = {"markdown2html": "gmmlab_course.feedback.markdown2html"}


# ---- export (owned by the appendix work)
# Grades out and submissions in (gmmlab_course/export.py and collect.py; book/instructors.md shows this section).
# `nbgrader export` writes grades.csv with a status column: graded, "not graded" (a submission that could not be
# autograded: empty score, never 0), "needs manual grading" (written answers still pending: empty score) or missing
# (nothing submitted: 0).
c.ExportApp.plugin_class = "gmmlab_course.export.StatusCsvExportPlugin"
# `nbgrader zip_collect <assignment>` reads Canvas's "Download Submissions" zip from downloaded/<assignment>/archive/.
# Canvas names each file <sortable name>_[LATE_]<Canvas user id>_<attachment id>_<file name>[-<n>].ipynb (-<n> when
# the file was resubmitted); the Canvas user id is looked up in the gradebook's lms_user_id.
c.ZipCollectApp.collector_plugin = "gmmlab_course.collect.CanvasCollector"
c.ZipCollectApp.extractor_plugin = "gmmlab_course.collect.CanvasExtractor"  # no links, no zip bombs
c.FileNameCollectorPlugin.named_regexp = (
    r".*/[^/_]+_(?:LATE_)?(?P<lms_user_id>[0-9]+)_[0-9]+_(?P<file_id>[^/]+?)(?:-[0-9]+)?\.ipynb$"
)
c.ZipCollectApp.strict = True  # a notebook named unlike the released one is skipped, with a warning
