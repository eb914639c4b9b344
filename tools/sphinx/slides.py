"""The lecture decks: one reveal.js deck per chapter, made by the book's own build from ``slides/<chapter>.md``.

A deck's source is a short Markdown file beside the book, ``slides/kmeans.md`` for ``book/kmeans.md`` (the
name gives the chapter). It holds only what a lecture adds to the chapter; everything it shows of the chapter
is taken from the chapter as this build made it, so a deck cannot drift from its book:

* ``# Title`` opens the title slide, ``## Title`` every other slide. A ``##`` title must be the title of a
  section of the chapter: the slide links to that section, with its number (``2.3 Lloyd's algorithm``).
* A paragraph that is only ``{numref}`fig-kmeans-data``` shows the chapter's figure: the image this build
  rendered from the chapter's code (so a change to the figure code changes the deck), its alt text, and its
  number, linked to the figure in the book. A paragraph that is only ``{eq}`eq-kmeans-objective``` shows the
  chapter's equation, its TeX taken from the chapter and tagged with the book's number.
* Inline, ``{eq}`label``` gives the equation's number, ``{numref}`label``` "Figure 2.1" and ``{ref}`label```
  the title of a section or exercise, each linked to the book; ``$...$`` is maths. Other Markdown is
  CommonMark (parsed with markdown-it-py, as MyST is).
* A line ``Note:`` (reveal.js's convention) starts the slide's speaker notes: what to draw on the board,
  which exercise to set. The last slide's notes add the problem sets that practise the chapter, from the
  course manifest (``gmmlab_course/course.toml``).

A label that does not resolve, a ``##`` title that is no section of the chapter, or a typed decimal (numbers
come from the chapter's figures and equations) stops the build with an error naming the deck and the line.

The decks are written at the end of every HTML build into ``slides/`` of the site (beside ``book/``, so their
links to the book are relative and work wherever the site is served), with reveal.js and MathJax from the
npm lock (``tools/offline/assets.py``). Each chapter page that has a deck links it under its title. ``make
slides`` adds a PDF handout per deck (``tools/slides/handouts.py``); ``tests/deploy/browser/test_slides.py``
checks the decks in Chromium.
"""

import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from docutils import nodes
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.myst_role import myst_role_plugin
from sphinx.errors import ExtensionError

OUT = "slides"  # the decks' folder in the built site
VENDOR = "../_vendor"  # reveal.js and MathJax, relative to a deck (tools/offline/assets.py)
# reveal.js lays every slide out at this size and scales it to the window (16:9, as projectors are)
WIDTH, HEIGHT = 1280, 720
# "3.14" or "0.5" typed into a slide: numbers come from the chapter (its figures and equations)
TYPED_DECIMAL = re.compile(r"(?<![\w.\\])\d+\.\d+(?![\w.])")


class SlideError(ExtensionError):
    pass


@dataclass
class Slide:
    title: str
    level: int
    line: int
    body: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    notes_line: int = 0


def chapters_with_decks(app):
    """{docname: deck source} for every ``slides/<name>.md`` beside the book: the deck of ``book/<name>``."""
    return {f"book/{path.stem}": path for path in sorted((Path(app.srcdir) / "slides").glob("*.md"))}


def _shown(path):
    return f"slides/{path.name}"


def split_slides(path):
    """The slides of a deck source, in order: each heading starts one, ``Note:`` starts its notes."""
    slides, in_fence = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else re.match(r"(#{1,2}) (.+?)\s*$", line)
        if heading:
            slides.append(Slide(heading.group(2), len(heading.group(1)), number))
        elif not slides:
            if line.strip():
                raise SlideError(f"{_shown(path)}:{number}: text before the first heading")
        elif not in_fence and line.strip() == "Note:":
            slides[-1].notes.append("")
            slides[-1].notes_line = number
        elif slides[-1].notes:
            slides[-1].notes.append(line)
        else:
            slides[-1].body.append(line)
    if not slides or slides[0].level != 1 or any(slide.level != 2 for slide in slides[1:]):
        raise SlideError(f"{_shown(path)}: a deck is one '# title' slide, then '## section' slides")
    return slides


def plain(title):
    """A title as typed: Sphinx's smart quotes turned back into straight ones."""
    return title.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))


class Chapter:
    """What a deck takes from its chapter, read from this build's environment (labels, numbers, images)."""

    def __init__(self, app, docname):
        self.app, self.env, self.docname = app, app.env, docname
        self.page = app.builder.get_target_uri(docname)
        self.doctree = self.env.get_and_resolve_doctree(docname, app.builder)
        self.sections = {}
        for section in self.doctree.findall(nodes.section):
            if section.children and isinstance(section[0], nodes.title) and section["ids"]:
                self.sections.setdefault(plain(section[0].astext()), (section[0].astext(), section["ids"][0]))
        self.title = next(iter(self.sections.values()))[0]

    def href(self, anchor=""):
        return f"../{self.page}" + (f"#{anchor}" if anchor else "")

    def section_number(self, anchor):
        number = self.env.toc_secnumbers.get(self.docname, {}).get(f"#{anchor}" if anchor else "")
        return ".".join(map(str, number)) if number else ""

    def figure_number(self, figtype, anchor):
        number = self.env.toc_fignumbers.get(self.docname, {}).get(figtype, {}).get(anchor)
        return ".".join(map(str, number)) if number else ""

    def node_with_id(self, anchor):
        for node in self.doctree.findall(nodes.Element):
            if anchor in node.get("ids", ()):
                return node
        return None

    def equation(self, label):
        """(TeX, number, anchor) of the chapter's display equation ``label``."""
        located = self.env.get_domain("math").equations.get(label)
        if not located or located[0] != self.docname:
            raise KeyError(f"no equation {label!r} in {self.docname}")
        for node in self.doctree.findall(nodes.math_block):
            if node.get("label") == label:
                # as the book shows it: numbered like figures under math_numfig (Sphinx's get_node_equation_number)
                number = self.figure_number("displaymath", node["ids"][0]) or str(node.get("number") or "")
                return node.astext(), number, node["ids"][0]
        raise KeyError(f"equation {label!r} is not in the built {self.docname}")

    def figure(self, label):
        """(image path relative to the site, alt text, number, anchor) of the chapter's figure ``label``."""
        figure = self.node_with_id(label)
        if not isinstance(figure, nodes.figure):
            raise KeyError(f"no figure {label!r} in {self.docname}")
        image = figure.next_node(nodes.image)
        candidates = image.get("candidates", {})
        # as the HTML builder chooses among an output's formats (Builder.post_process_images)
        uri = next((candidates[kind] for kind in self.app.builder.supported_image_types if kind in candidates),
                   image["uri"])
        name = self.app.builder.images.get(uri)
        if not name:
            raise KeyError(f"figure {label!r} of {self.docname} has no image in this build")
        return f"{self.app.builder.imagedir}/{name}", image.get("alt", ""), self.figure_number("figure", label), label

    def reference(self, label):
        """(title, anchor) of a section or exercise of the chapter named by ``label``."""
        docname, anchor, title = self.env.get_domain("std").labels.get(label, (None, None, None))
        if docname is None:
            docname, anchor = self.env.get_domain("std").anonlabels.get(label, (None, None))
        if docname != self.docname:
            raise KeyError(f"no label {label!r} in {self.docname}")
        if not title:
            node = self.node_with_id(anchor)
            title_node = node.next_node(nodes.title) if node is not None else None
            title = title_node.astext() if title_node is not None else ""
            if not title:  # sphinx-exercise keeps an exercise's title in its first paragraph
                title = node.next_node(nodes.paragraph).astext() if node is not None else label
        return title, anchor


class Renderer:
    """Markdown to reveal.js HTML, with the book's roles resolved against one chapter."""

    def __init__(self, chapter, source):
        self.chapter, self.source = chapter, source
        self.md = MarkdownIt("commonmark").use(dollarmath_plugin).use(myst_role_plugin)
        # markdown-it calls a rule as a method of its renderer: (renderer, tokens, index, options, env)
        self.md.add_render_rule("myst_role", lambda _, *args: self.render_role(*args))
        self.md.add_render_rule("math_inline", lambda _, tokens, i, *__: rf"\({html.escape(tokens[i].content)}\)")
        self.md.add_render_rule("math_block", lambda _, tokens, i, *__: rf"\[{html.escape(tokens[i].content)}\]")
        self.md.core.ruler.push("book_blocks", self.book_blocks)

    def fail(self, line, message):
        raise SlideError(f"{_shown(self.source)}:{line}: {message}")

    @staticmethod
    def book_blocks(state):
        """A paragraph that is only {numref} or {eq} becomes the figure or the equation itself."""
        tokens = state.tokens
        for i in range(len(tokens) - 2):
            opening, inline, closing = tokens[i:i + 3]
            if opening.type == "paragraph_open" and closing.type == "paragraph_close":
                children = [c for c in inline.children or [] if not (c.type == "text" and not c.content.strip())]
                if len(children) == 1 and children[0].type == "myst_role" and children[0].meta["name"] in ("numref", "eq"):
                    opening.hidden = closing.hidden = True
                    children[0].meta["block"] = True
                    inline.children = children

    def render_role(self, tokens, index, options, env):
        token = tokens[index]
        name, label, block = token.meta["name"], token.content.strip(), token.meta.get("block", False)
        chapter = self.chapter
        try:
            if name == "eq":
                tex, number, anchor = chapter.equation(label)
                if block:
                    return (f'<div class="book-equation"><a href="{chapter.href(anchor)}" title="equation ({number}) '
                            f'in the book">\\[{html.escape(tex)}\\tag{{{number}}}\\]</a></div>\n')
                return f'<a href="{chapter.href(anchor)}">({number})</a>'
            if name == "numref":
                src, alt, number, anchor = chapter.figure(label)
                if block:
                    if not alt.strip():
                        raise KeyError(f"figure {label!r} has no alt text in the book")
                    return (f'<figure class="book-figure"><img src="../{src}" alt="{html.escape(alt)}">'
                            f'<figcaption><a href="{chapter.href(anchor)}">Figure {number}</a></figcaption></figure>\n')
                return f'<a href="{chapter.href(anchor)}">Figure {number}</a>'
            if name == "ref":
                title, anchor = chapter.reference(label)
                return f'<a href="{chapter.href(anchor)}">{html.escape(title)}</a>'
        except KeyError as error:
            self.fail(env.get("line", "?"), error.args[0])
        self.fail(env.get("line", "?"), f"role {{{name}}} is not supported in slides (use eq, numref or ref)")

    def markdown(self, lines, first_line):
        text = "\n".join(lines)
        for offset, line in enumerate(lines):
            decimal = TYPED_DECIMAL.search(re.sub(r"\{\w+\}`[^`]*`", "", line))
            if decimal:
                self.fail(first_line + offset, f"typed number {decimal.group()}: show the chapter's figure or "
                                               "equation that holds it instead")
        return self.md.render(text, {"line": first_line})


def problem_sets(chapter):
    """The last slide's note on the graded problem sets that practise the chapter (the course manifest's)."""
    from gmmlab_course.manifest import assignments

    name = Path(chapter.docname).name
    practised = [a.name for a in assignments() if name in a.chapters]
    if not practised:
        return ""
    anchor = chapter.sections.get("Practise it", ("", ""))[1]
    sets = " and ".join(f"<strong>{html.escape(a)}</strong>" for a in practised)
    return f'<p>Set the problem set {sets} (<a href="{chapter.href(anchor)}">Practise it</a>).</p>\n'


def render_deck(app, docname, source):
    """The HTML of ``source``'s deck, and its number of slides."""
    licence = app.config.html_theme_options.get("extra_footer", "")
    if 'rel="license"' not in licence:
        raise SlideError("html.extra_footer (the licence) is missing from _config.yml; every deck states it")
    chapter = Chapter(app, docname)
    renderer = Renderer(chapter, source)
    slides = split_slides(source)
    sections = []
    for slide in slides:
        if slide.level == 1:
            anchor, heading = "", f"<h1>{html.escape(chapter.title)}</h1>"
            label = f"Chapter {chapter.section_number('')}: {chapter.title} (the book)"
        else:
            if plain(slide.title) not in chapter.sections:
                renderer.fail(slide.line, f"'{slide.title}' is no section title of {docname}")
            title, anchor = chapter.sections[plain(slide.title)]
            heading = f"<h2>{html.escape(title)}</h2>"
            label = f"{chapter.section_number(anchor)} {title} (the book)".strip()
        body = renderer.markdown(slide.body, slide.line + 1)
        notes = renderer.markdown(slide.notes[1:], slide.notes_line + 1) if slide.notes else ""
        if slide is slides[-1]:
            notes += problem_sets(chapter)
        footer = ""
        if slide.level == 1:
            footer = f"<footer>{licence}</footer>"
        sections.append(
            f'<section data-book="{chapter.href(anchor)}">\n<div class="slide-frame">\n{heading}\n'
            f'<div class="slide-body">\n{body}</div>\n'
            f'<a class="book-link" href="{chapter.href(anchor)}">{html.escape(label)}</a>\n{footer}\n</div>\n'
            + (f'<aside class="notes">\n{notes}</aside>\n' if notes else "") + "</section>"
        )
    return PAGE.format(title=html.escape(f"{chapter.title}: lecture slides"), vendor=VENDOR,
                       sections="\n".join(sections), config=json.dumps(REVEAL_CONFIG)), len(slides)


REVEAL_CONFIG = {
    "width": WIDTH, "height": HEIGHT, "margin": 0.04, "hash": True, "slideNumber": "c/t",
    "center": False, "transition": "none",
    # the handout: one PDF page per slide, notes left out
    "pdfMaxPagesPerSlide": 1, "pdfSeparateFragments": False, "showNotes": False,
    # MathJax 4 with its font from beside it (loader.paths.fonts), and the book's accessibility settings
    # (_config.yml: hidden MathML for screen readers; speech and Braille only when the reader turns them on)
    "mathjax3": {"mathjax": f"{VENDOR}/mathjax/tex-mml-chtml.js",
                 "loader": {"paths": {"fonts": "[mathjax]/.."}},
                 "tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]},
                 "options": {"menuOptions": {"settings": {"inTabOrder": False, "assistiveMml": True, "enrich": False,
                                                          "speech": False, "braille": False}}}},
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{vendor}/reveal.js/dist/reset.css">
<link rel="stylesheet" href="{vendor}/reveal.js/dist/reveal.css">
<link rel="stylesheet" href="{vendor}/reveal.js/dist/theme/white.css">
<link rel="stylesheet" href="slides.css">
</head>
<body>
<div class="reveal"><div class="slides">
{sections}
</div></div>
<script src="{vendor}/reveal.js/dist/reveal.js"></script>
<script src="{vendor}/reveal.js/plugin/notes/notes.js"></script>
<script src="{vendor}/reveal.js/plugin/math/math.js"></script>
<script>
Reveal.initialize(Object.assign({config}, {{plugins: [RevealNotes, RevealMath.MathJax3]}}));
</script>
</body>
</html>
"""


def write_decks(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / OUT
    out.mkdir(exist_ok=True)
    (out / "slides.css").write_text((Path(__file__).parent / "static" / "slides.css").read_text())
    known, problems, decks = set(app.env.found_docs), [], chapters_with_decks(app)
    for stale in [*out.glob("*.html"), *out.glob("*.pdf")]:  # the deck and handout of a source since removed
        if f"book/{stale.stem}" not in decks:
            stale.unlink()
    for docname, source in decks.items():
        try:
            if docname not in known:
                raise SlideError(f"{_shown(source)}: no chapter {docname} in the book for this deck")
            page, _ = render_deck(app, docname, source)
        except SlideError as error:  # every deck's first problem at once, not one per build
            problems.append(str(error))
            continue
        (out / f"{Path(docname).name}.html").write_text(page, encoding="utf-8")
    if problems:
        raise SlideError("the lecture decks could not be built:\n" + "\n".join(problems))
    # `make slides` and the brief's _build/slides/: the same folder
    link = Path(app.outdir).parent / "slides"
    if not link.exists() and not link.is_symlink():
        link.symlink_to(os.path.relpath(out, link.parent), target_is_directory=True)


def link_deck(app, pagename, templatename, context, doctree):
    """Under a chapter's title, a link to its deck."""
    body = context.get("body")
    if not body or pagename not in chapters_with_decks(app):
        return
    deck = f"{'../' * pagename.count('/')}{OUT}/{Path(pagename).name}.html"
    link = (f'<p class="lecture-slides"><a href="{deck}">Lecture slides for this chapter</a> '
            "(reveal.js; press S for the speaker notes)</p>")
    context["body"] = re.sub(r"(</h1>)", lambda match: match.group(1) + link, body, count=1)


def reread_when_decks_change(app, env, added, changed, removed):
    """A chapter whose deck was added or removed since the last build is written again, with or without its link."""
    decks = set(chapters_with_decks(app))
    before = getattr(env, "gmmlab_slide_decks", None)
    env.gmmlab_slide_decks = decks
    return sorted(docname for docname in decks ^ (before or set()) if docname in env.found_docs)


def setup(app):
    app.connect("env-get-outdated", reread_when_decks_change)
    app.connect("html-page-context", link_deck)
    app.connect("build-finished", write_decks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
