"""The front-end files the built book serves itself (MathJax and its font, require.js, the Jupyter widget manager,
reveal.js).

The files come from the npm registry: ``make offline-assets`` runs ``npm ci`` here, from the committed
``package.json`` and ``package-lock.json``, into ``tools/offline/node_modules`` (ignored by git).

Sphinx serves them: the book's Sphinx extension (``tools/sphinx/book_html.py``) calls :func:`stage` when an
HTML build starts, which lays out ``tools/offline/site/_vendor/`` as links into ``node_modules``, and adds
``tools/offline/site`` to ``html_extra_path``; Sphinx then copies ``_vendor/`` into the site's root. So any
HTML build of the book (``make book``, or a plain ``jupyter-book build .``) typesets math and renders widgets
with no network. They are deliberately not in ``_static``: jupyter-book would add every script there to every
page.

``_config.yml`` points at the copies: Sphinx's ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` (both
relative to ``_static``, hence the leading ``../``). The paths below and those in ``_config.yml`` must agree;
``tests/deploy/browser/test_book_html.py`` checks that every page loads them from here, and nothing from anywhere else.
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"
SITE = HERE / "site"  # what Sphinx copies into the built site's root (html_extra_path); ignored by git

# (source under node_modules, destination under _vendor)
ASSETS = [
    # MathJax 4: tex-mml-chtml.js loads any TeX extension it autoloads (boldsymbol, ...), the accessibility tools
    # the context menu turns on (a11y/, sre/ with the speech worker and its rule files) and the SVG renderer the
    # menu offers from beside itself, so the whole package is needed.
    ("mathjax", "mathjax"),
    # and its font, New Computer Modern, which it looks for beside itself (_config.yml: loader.paths.fonts): the
    # parts the HTML and SVG renderers load in a browser (characters beyond the basic ones, the woff2 fonts),
    # not the package's copies for node (cjs/, mjs/)
    ("@mathjax/mathjax-newcm-font/chtml.js", "mathjax-newcm-font/chtml.js"),
    ("@mathjax/mathjax-newcm-font/chtml", "mathjax-newcm-font/chtml"),
    ("@mathjax/mathjax-newcm-font/svg.js", "mathjax-newcm-font/svg.js"),
    ("@mathjax/mathjax-newcm-font/svg", "mathjax-newcm-font/svg"),
    ("requirejs/require.js", "requirejs/require.js"),
    # embed-amd.js with the font files its CSS refers to (source maps are left out: EXCLUDE)
    ("@jupyter-widgets/html-manager/dist", "html-manager"),
    # the lecture decks (tools/sphinx/slides.py): reveal.js, its theme's fonts, and its notes and math plugins
    ("reveal.js/dist", "reveal.js/dist"),
    ("reveal.js/plugin/notes", "reveal.js/plugin/notes"),
    ("reveal.js/plugin/math", "reveal.js/plugin/math"),
]
# our own few lines that tell require.js where the widget manager lives (see the file)
OWN = [(HERE / "widgets-config.js", "widgets-config.js")]
# Patterns (relative to SITE) that Sphinx leaves out when it copies the site (added to exclude_patterns)
EXCLUDE = ["_vendor/html-manager/*.map", "_vendor/reveal.js/dist/*.map"]


class MissingAssets(RuntimeError):
    pass


def stage():
    """Lay out SITE/_vendor as symbolic links to the npm files; return SITE (for ``html_extra_path``)."""
    missing = [source for source, _ in ASSETS if not (MODULES / source).exists()]
    if missing:
        raise MissingAssets(
            f"{', '.join(missing)} missing under {MODULES}: run `make offline-assets` (npm ci in tools/offline) "
            "before building the book; it serves MathJax and the widget manager itself"
        )
    vendor = SITE / "_vendor"
    links = [(MODULES / source, destination) for source, destination in ASSETS] + OWN
    for source, destination in links:
        link = vendor / destination
        link.parent.mkdir(parents=True, exist_ok=True)
        target = os.path.relpath(source, link.parent)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        link.symlink_to(target, target_is_directory=source.is_dir())
    return SITE
