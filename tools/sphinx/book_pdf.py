"""The PDF book as a printed textbook: numbers as on the web, solutions at the end of their chapter.

Loaded by ``_config.yml`` (``sphinx: local_extensions``); does nothing for the HTML builders.
``tests/book/test_pdf_book.py`` checks the result in the PDF.

* Theorems, lemmas and exercises are numbered as in the HTML ("Exercise 1.1", "Theorem 6.2"), by chapter.
  sphinx-jupyterbook-latex sets ``numfig_secnum_depth = 2`` for a book with parts: LaTeX then numbers figures
  and equations by chapter (depth 1 would be the part), as the HTML does, but Sphinx's own numbers, which
  sphinx-proof and sphinx-exercise print, count from the chapter's document and came out by section
  ("Exercise 1.7.1"). Those are renumbered as the HTML's, the chapter's number and a count within it.
* Each chapter's solutions are gathered in a last section, *Solutions*, instead of under their exercises
  (where the web edition hides them until asked): every exercise ends with a link to its solution and the
  page it is on, and every solution's title already links back to its exercise (sphinx-exercise).
"""

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, solution_node

SOLUTIONS_TITLE = "Solutions"


# Numbered by LaTeX's own counters in the PDF; every other kind is numbered by Sphinx (env.toc_fignumbers).
LATEX_NUMBERED = {"figure", "table", "code-block", "section"}


def _number_by_chapter(app, env):
    """Sphinx's numbers of the chapter's theorems and exercises, as (chapter, count in chapter)."""
    if app.builder.format != "latex":
        return
    for kinds in env.toc_fignumbers.values():
        for kind, numbers in kinds.items():
            if kind in LATEX_NUMBERED:
                continue
            in_order = sorted(numbers, key=numbers.get)
            for count, node_id in enumerate(in_order, start=1):
                numbers[node_id] = (numbers[node_id][0], count)


def _latex_label(env, solution):
    """The label sphinx-exercise's LaTeX writer puts before a solution: exercise's docname, solution's label."""
    docname = env.sphinx_exercise_registry[solution["target_label"]]["docname"]
    return f"{docname}:{solution['label']}"


class GatherSolutions(SphinxPostTransform):
    """Move every solution of a chapter into a *Solutions* section at its end, linked from its exercise.

    Runs on the LaTeX builder's one tree of the whole book, after sphinx-exercise has titled the solutions
    (priorities 20 to 22) and sphinx-jupyterbook-latex has arranged the parts (700): each chapter is a
    ``start_of_file`` node whose first section is the chapter.
    """

    default_priority = 800
    formats = ("latex",)

    def run(self, **kwargs):
        for chapter_file in list(self.document.findall(addnodes.start_of_file)):
            # A part is a start_of_file too, around its chapters' (and Sphinx does not re-parent a file's
            # top-level nodes when it inlines them): a solution belongs to the file of its own document.
            solutions = [node for node in chapter_file.findall(solution_node) if node["docname"] == chapter_file["docname"]]
            if not solutions:
                continue
            chapter = next(child for child in chapter_file.children if isinstance(child, nodes.section))
            exercises = {
                node.get("label"): node
                for node in chapter_file.findall(
                    lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))
                )
            }
            section = nodes.section(ids=[f"solutions-{chapter_file['docname'].replace('/', '-')}"])
            section += nodes.title(SOLUTIONS_TITLE, SOLUTIONS_TITLE)
            for solution in solutions:
                solution.parent.remove(solution)
                section += solution
                exercise = exercises.get(solution["target_label"])
                if exercise is not None:
                    exercise += _link_to(_latex_label(self.env, solution), "Solution on page")
                    solution += _link_to(f"exercise:{solution['target_label']}", "The exercise is on page")
            chapter += section


def _link_to(label, text):
    """A last line for an exercise or a solution: "<text> N", a link to the label, on page N."""
    return nodes.raw(
        "",
        "\n\\par\\hyperref[%s]{\\textit{%s~\\pageref*{%s}}}\n" % (label, text, label),
        format="latex",
    )


def setup(app):
    # after Sphinx has numbered everything (TocTreeCollector, on env-get-updated), before anything is written
    app.connect("env-check-consistency", _number_by_chapter)
    app.add_post_transform(GatherSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
