"""Copy the front-end files the built book loads (MathJax, require.js, the Jupyter widget manager) into it.

The files come from the npm registry at build time: ``make offline-assets`` runs ``npm ci`` here, from the
committed ``package.json`` and ``package-lock.json``, into ``tools/offline/node_modules`` (ignored by git).
After ``jupyter-book build``, ``make book`` runs this script, which copies them into ``_build/html/_vendor/``,
so the book typesets math and renders widgets with no network. They are deliberately not in ``_static``:
jupyter-book would add every script there to every page.

``_config.yml`` points at the copies: Sphinx's ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` (both
relative to ``_static``, hence the leading ``../``). The paths below and those in ``_config.yml`` must agree;
``tests/browser/test_book_html.py`` checks that every page loads them from here, and nothing from anywhere else.

Usage: python tools/offline/copy_assets.py [HTML_DIR]   (default: _build/html)
"""

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = HERE / "node_modules"

# (source under node_modules, destination under _vendor, files to leave out)
ASSETS = [
    # The MathJax 3 component tree: tex-mml-chtml.js loads its fonts and any TeX extension it autoloads
    # (boldsymbol, ...) from beside itself, so the whole es5/ directory is needed.
    ("mathjax/es5", "mathjax", ()),
    ("requirejs/require.js", "requirejs/require.js", ()),
    # embed-amd.js with the font files its CSS refers to; source maps are left out.
    ("@jupyter-widgets/html-manager/dist", "html-manager", ("*.map",)),
]


def copy_assets(html_dir):
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        sys.exit(f"error: {html_dir} holds no built book (no index.html); run jupyter-book build first")
    missing = [source for source, _, _ in ASSETS if not (MODULES / source).exists()]
    if missing:
        sys.exit(f"error: {', '.join(missing)} missing under {MODULES}; run `make offline-assets` (npm ci)")
    vendor = html_dir / "_vendor"
    for source, destination, leave_out in ASSETS:
        source, target = MODULES / source, vendor / destination
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns(*leave_out))
        else:
            shutil.copy2(source, target)
    # our own few lines that tell require.js where the widget manager lives (see the file)
    shutil.copy2(HERE / "widgets-config.js", vendor / "widgets-config.js")
    print(f"offline assets copied into {vendor}")


if __name__ == "__main__":
    copy_assets(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
