"""Small fixes to the book's HTML, so that every page loads cleanly and passes the accessibility scan.

Loaded by ``_config.yml`` (``sphinx: local_extensions``); ``tests/deploy/browser/test_book_html.py`` checks the
result in a browser.

* Every inline script is included once: sphinx-thebe and sphinx-togglebutton register their inline
  configuration twice (once with the file name None, once with ""), and the second ``const THEBE_JS_URL``
  on a page throws "Identifier 'THEBE_JS_URL' has already been declared".
* Bibliography entries are list items: docutils marks the citation list ``role="list"`` but its entries
  ``role="doc-biblioentry"``, which a list may not contain (axe-core: aria-required-children, critical).
* ``static/book_html.css`` darkens links on the tinted backgrounds of admonitions, theorems and exercises
  to reach WCAG AA contrast, keeps display equations inside the text column (a wide one scrolls in its own
  box, never the page, and fades out where it is cut), gives the header's controls a visible keyboard focus,
  narrows the boxes' margins on phones, and lets figures grow to their natural size (on phones a figure
  shows its phone layout, ``phone_figures.py``; one without keeps at least 60% of its size and scrolls).
  ``static/book_html.js`` opens a figure at full size on a click, has MathJax break the display formulas again
  when the window's width changes, gives a formula cut by its box the Tab stop the keyboard needs to scroll it
  (MathJax keeps the others out of the Tab order, ``_config.yml``), and keeps raw TeX and
  button labels out of the search's snippets. On phones, code names in tables are not broken mid-word.
* Every page's footer links the PDF edition, ``gmmlab-book.pdf`` at the site's root, where ``make pdf`` copies
  it from ``_build/latex``.
* The vendored MathJax and widget manager (``tools/offline/assets.py``) are served by Sphinx itself, through
  ``html_extra_path``, so every HTML build of the book is complete.
"""

import sys
from pathlib import Path

from sphinx.errors import ExtensionError

STATIC = Path(__file__).resolve().parent / "static"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "offline"))
import assets  # noqa: E402  (tools/offline/assets.py)


def _unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            filename = getattr(script, "filename", script) or ""
            attributes = getattr(script, "attributes", {}) or {}
            key = (str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items())))
            if key not in seen:
                seen.add(key)
                unique.append(script)
        context["script_files"] = unique
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


PDF_NAME = "gmmlab-book.pdf"


def _pdf_link(app, pagename, templatename, context, doctree):
    """Adds the link to the PDF edition to the footer (the theme's ``extra_footer``), relative to the page."""
    href = context["pathto"](PDF_NAME, 1)
    link = f'<p class="gmmlab-pdf-link">The whole book as one PDF, to print: <a href="{href}">{PDF_NAME}</a> (A4).</p>'
    context["theme_extra_footer"] = (context.get("theme_extra_footer") or "") + link


def _add_static(app):
    if app.builder.format != "html":
        return
    app.config.html_static_path.append(str(STATIC))
    app.add_css_file("book_html.css")
    app.add_js_file("book_html.js", defer="defer")
    try:
        site = assets.stage()
    except assets.MissingAssets as error:
        raise ExtensionError(str(error)) from None
    app.config.html_extra_path.append(str(site))
    app.config.exclude_patterns.extend(assets.EXCLUDE)


def setup(app):
    app.connect("builder-inited", _add_static)
    # late, after myst-nb, sphinx.ext.mathjax and the theme have added their scripts to the page
    app.connect("html-page-context", _unique_scripts, priority=900)
    app.connect("html-page-context", _pdf_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
