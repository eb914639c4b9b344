"""Phones get each figure in its phone layout: a ``<picture>`` whose ``<source>`` is chosen below 576 px.

Loaded by ``_config.yml`` (``sphinx: local_extensions``); ``tests/deploy/browser/test_book_html.py`` checks the
result at 390 px.

The contract with :func:`gmmlab.plotting.use_style`: the SVG output of a figure carries, in its output metadata
for ``image/svg+xml``, the key ``gmmlab.plotting.PHONE_SVG_KEY`` whose value is the same figure laid out for a
phone (``gmmlab.plotting.phone_figure``: 4.5 inches wide, at most two panels side by side), a whole SVG
document. Jupyter ignores that metadata, so a notebook shows the normal figure.

myst-nb writes each image output to a file named by the sha256 of its data and keeps only width and height of
its metadata, so this reads the executed notebooks (the execution cache's, and any myst-nb saved with outputs in
``_build/jupyter_execute``), matches each output's SVG to its image by that hash, and writes the phone SVG beside
the image (``<hash>-phone.svg``). For the
HTML builder, each such image becomes

.. code-block:: html

   <picture><source media="(max-width: 575.98px)" srcset="../_images/<hash>-phone.svg"><img ...></picture>

with the ``<img>`` (its alt text, the figure's number and caption around it) as Sphinx writes it, and the phone
file copied into ``_images``. The breakpoint is the theme's and ``static/book_html.css``'s phone width. Other
builders (the PDF uses the ``application/pdf`` output) see nothing of it.
"""

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

import nbformat
from docutils import nodes
from myst_nb.sphinx_ext import OUTPUT_FOLDER

from gmmlab.plotting import PHONE_SVG_KEY

PHONE_MEDIA = "(max-width: 575.98px)"
OUTPUT_NAME = re.compile(r"^([0-9a-f]{64})\.svg$")


class phone_picture(nodes.General, nodes.Element):
    """An image (its only child) with a phone rendering, ``self["srcset"]`` relative to the site's root."""


def _visit_picture(self, node):
    srcset = f"{self.builder.imgpath}/{node['srcset']}"
    self.body.append(f'<picture><source media="{PHONE_MEDIA}" srcset="{self.encode(srcset)}">')


def _depart_picture(self, node):
    self.body.append("</picture>")


@lru_cache(maxsize=None)
def _phone_svgs_of(notebook_path, mtime):
    """{sha256 of an SVG output, as myst-nb names its file: the phone SVG} of one executed notebook."""
    notebook = nbformat.read(notebook_path, as_version=4)
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            phone = output.get("metadata", {}).get("image/svg+xml", {}).get(PHONE_SVG_KEY)
            svg = output.get("data", {}).get("image/svg+xml")
            if phone and svg:
                # as myst_nb.core.render.NbElementRenderer.render_image hashes the data for the file name
                digest = hashlib.sha256(os.linesep.join(svg.splitlines()).encode("utf-8")).hexdigest()
                found[digest] = phone
    return found


def _phone_svgs(app):
    """{sha256: phone SVG} of every executed notebook of the build: the execution cache's (myst-nb's ``cache``
    mode takes each output from there and saves the page's notebook without them) and myst-nb's own copies."""
    cache = app.env.mystnb_config.execution_cache_path or Path(app.outdir).parent / ".jupyter_cache"
    notebooks = [*Path(cache).glob("executed/*/*.ipynb"), *(Path(app.outdir).parent / OUTPUT_FOLDER).rglob("*.ipynb")]
    found = {}
    for notebook in notebooks:
        found.update(_phone_svgs_of(str(notebook), notebook.stat().st_mtime_ns))
    return found


def _add_pictures(app, doctree, docname):
    if app.builder.format != "html":
        return
    folder = Path(app.outdir).parent / OUTPUT_FOLDER
    images = [image for image in doctree.findall(nodes.image)
              if OUTPUT_NAME.match(Path(image.get("candidates", {}).get("image/svg+xml", image["uri"])).name)]
    phones = _phone_svgs(app) if images else {}
    for image in images:
        digest = OUTPUT_NAME.match(Path(image.get("candidates", {}).get("image/svg+xml", image["uri"])).name)[1]
        if digest not in phones:
            continue
        phone_file = folder / f"{digest}-phone.svg"
        if not phone_file.exists() or phone_file.read_text(encoding="utf-8") != phones[digest]:
            phone_file.write_text(phones[digest], encoding="utf-8")
        # registered as the builder registers an image of the page, so copy_image_files puts it in _images
        source = os.path.relpath(phone_file, app.srcdir)
        app.builder.images[source] = app.env.images.add_file(docname, source)
        picture = phone_picture(srcset=app.builder.images[source])
        image.replace_self(picture)
        picture += image


def setup(app):
    app.add_node(phone_picture, html=(_visit_picture, _depart_picture))
    app.connect("doctree-resolved", _add_pictures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
