"""What the feedback students get back, and the pages the formgrader shows, leave out: nbgrader preprocessors and
an nbconvert filter.

Every byte of a submission is the student's (see :mod:`gmmlab_course.collect` for the whole threat model), and a
notebook is also a web page: the Markdown of a written answer, a raw cell and an output of type ``text/html``,
``text/markdown``, ``image/svg+xml`` or ``application/javascript`` all reach the HTML that nbconvert writes, and
from there the browser of the student who reads the feedback, or of the instructor who grades in the formgrader
(whose page can call the formgrader's API with the instructor's session). So:

- :class:`SanitiseStudentMarkup` (in ``c.Autograde.autograde_preprocessors`` after ``SandboxedGrade``, and in
  ``c.GenerateFeedback.preprocessors``) keeps only outputs of type text, LaTeX and PNG, with HTML and Markdown
  outputs passed through :func:`clean_html`, cleans raw cells the same way and keeps only the PNG content of a
  Markdown cell's attachments;
- :func:`markdown2html` replaces nbconvert's filter of that name (``c.HTMLExporter.filters``), which the feedback
  page and the formgrader's page both render Markdown cells with: Markdown is rendered first and the *result* is
  cleaned, so maths, code, tables and PNG images render as they should and no markup a student typed survives;
- :func:`clean_html` is `nh3 <https://nh3.readthedocs.io>`_ (the Rust sanitiser ammonia) with an allow-list:
  no ``<script>``, ``<style>``, ``<iframe>``, ``<svg>`` or ``<form>``, no ``on*=`` handlers or ``style``
  attributes, links only to ``http``, ``https``, ``mailto`` or within the page, images only as ``data:``
  PNG or JPEG;
- :class:`FeedbackFilesOnly` (in ``c.GenerateFeedback.preprocessors``): ``nbgrader generate_feedback`` copies every
  file of ``autograded/<student>/<assignment>/`` into ``feedback/``, which ``release_feedback`` hands to the
  student; this removes everything there but the notebooks' feedback pages and the two files release_feedback
  reads (``timestamp.txt``, written by the course's collect, and ``submission_secret.txt``);
- :class:`HideTestTracebacks` reduces errors in test cells to their messages.
"""

import os
import shutil
import stat

import jinja2
import nh3
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "q", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class"},
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
IMAGE_SOURCES = ("data:image/png;base64,", "data:image/jpeg;base64,")
# Output types kept in a notebook a browser will show; text/html and text/markdown are cleaned, all else dropped
# (image/svg+xml and the JavaScript types can run script; the sandbox's figures are PNGs).
KEPT_OUTPUTS = {"text/plain", "text/latex", "image/png"}
CLEANED_OUTPUTS = {"text/html", "text/markdown"}
# What nbgrader's release_feedback reads beside the pages (nbgrader/exchange/default/release_feedback.py)
RELEASE_FEEDBACK_READS = {"timestamp.txt", "submission_secret.txt"}


def _attribute_filter(tag, attribute, value):
    if tag == "img" and attribute == "src":
        return value if value.startswith(IMAGE_SOURCES) else None
    if tag == "a" and attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def clean_html(html):
    """``html`` with everything but the allow-listed tags, attributes and URLs removed (nh3).

    >>> clean_html('<p onclick="x()">a <b>b</b><script>alert(1)</script></p>')
    '<p>a <b>b</b></p>'
    >>> clean_html('<a href="javascript:alert(1)">x</a><img src="x" onerror="alert(1)">')
    '<a rel="noopener noreferrer">x</a><img>'
    """
    return nh3.clean(
        str(html), tags=ALLOWED_TAGS, clean_content_tags={"script", "style"}, attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter, url_schemes={"http", "https", "mailto", "data"},
    )


class _Attachments(dict):
    """A cell's attachments, in which one the Markdown names but the cell lacks is an empty PNG: nbconvert stops
    the whole page at a missing attachment."""

    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return {"image/png": ""}


@jinja2.pass_context
def markdown2html(context, source):
    """nbconvert's Markdown rendering (maths kept for MathJax, code highlighted, attachments embedded), then
    :func:`clean_html`: a drop-in for the template filter ``markdown2html``.

    Images are never read from disk (nbconvert's ``embed_images`` stays off): a student's ``![](../gradebook.db)``
    would otherwise be embedded into the page.
    """
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    cell = context.get("cell", {}) or {}
    path = context.get("resources", {}).get("metadata", {}).get("path", "")
    attachments = _Attachments(cell.get("attachments", {}) or {})
    renderer = IPythonRenderer(escape=False, attachments=attachments, embed_images=False, path=path)
    return clean_html(MarkdownWithMath(renderer=renderer).render(source))


def _png(attachment):
    png = attachment.get("image/png") if isinstance(attachment, dict) else None
    return png if isinstance(png, str) else ""


class SanitiseStudentMarkup(NbGraderPreprocessor):
    """Outputs reduced to text, LaTeX, PNG and cleaned HTML or Markdown; raw cells cleaned; PNG attachments only."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                data = output.get("data")
                if not isinstance(data, dict):
                    continue
                for mimetype in list(data):
                    if mimetype in CLEANED_OUTPUTS:
                        text = data[mimetype]
                        data[mimetype] = clean_html("".join(text) if isinstance(text, list) else text)
                    elif mimetype not in KEPT_OUTPUTS:
                        self.log.info("Dropped a %s output of cell %d", mimetype, index)
                        del data[mimetype]
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        if "attachments" in cell:  # every name kept (a missing one stops nbconvert), only PNG content
            cell.attachments = {name: {"image/png": _png(item)} for name, item in cell.attachments.items()}
        return cell, resources


class FeedbackFilesOnly(NbGraderPreprocessor):
    """Remove from a student's ``feedback/`` folder whatever ``generate_feedback`` copied from ``autograded/``
    beside the feedback pages, keeping the two files ``release_feedback`` needs.

    nbgrader's converters copy every non-notebook file of the input folder into the output folder before the
    notebooks are converted; this runs as the first notebook is converted, when that copy is complete.
    """

    def preprocess(self, nb, resources):
        converter = getattr(self.parent, "parent", None)
        coursedir = getattr(converter, "coursedir", None)
        if coursedir is None:
            raise ValueError("FeedbackFilesOnly runs only in nbgrader generate_feedback (GenerateFeedback.preprocessors)")
        info = resources["nbgrader"]
        source = resources.get("metadata", {}).get("path", "")
        folder = coursedir.format_path(coursedir.feedback_directory, info["student"], info["assignment"])
        pages = {os.path.splitext(name)[0] + ".html" for name in os.listdir(source) if name.endswith(".ipynb")}
        for name in os.listdir(folder) if os.path.isdir(folder) else []:  # made by nbgrader if it copied any
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode) and (name in pages or name in RELEASE_FEEDBACK_READS):
                continue
            self.log.info("Not returned as feedback: %s", path)
            if stat.S_ISDIR(mode):
                shutil.rmtree(path)  # never follows links
            else:
                os.unlink(path)
        return nb, resources


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
