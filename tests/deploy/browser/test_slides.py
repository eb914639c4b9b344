"""The lecture decks (``slides/<chapter>.md``, built by tools/sphinx/slides.py into ``_build/html/slides/``).

Needs the built book (``make book``; ``make test`` builds it) and Debian's Chromium. It checks that

* every chapter of the book's numbered parts has a deck, and every deck source was built;
* opened in Chromium at 1280x720 and at 1920x1080, no slide's content leaves the slide or scrolls inside it
  (every element's box measured on every slide), with no request leaving 127.0.0.1 and no script error;
* maths is typeset by the MathJax the site serves itself (``_vendor/``), and no TeX is left raw;
* every figure has alt text (the book's own) and loads, and shows the very image the chapter page shows;
* every link of every slide resolves, file and anchor, and every slide links to its section of the book;
* each deck's handout, printed as ``make slides`` prints it (tools/slides/handouts.py), has one page per slide;
* one source: a book built in a temporary folder from a small chapter and its deck shows, after the figure's
  code changes, the new figure in the deck.

Every list the checks iterate over must be non-empty: a missing deck fails, it does not pass.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

from browser.kit import HTML, REPO, NetworkGuard, background_server, free_port

sys.path.insert(0, str(REPO / "tools" / "slides"))
import handouts  # noqa: E402  (tools/slides/handouts.py)

pytestmark = [pytest.mark.slow(minutes=2), pytest.mark.browser]

DECKS = HTML / "slides"
VIEWPORTS = [(1280, 720), (1920, 1080)]

# Runs in a deck once it loaded: waits for reveal.js and MathJax, then shows every slide in turn and measures
# it: an element outside the slide's box, or a slide whose content scrolls, is a problem.
MEASURE = """async () => {
  await new Promise(resolve => Reveal.isReady() ? resolve() : Reveal.on('ready', resolve));
  for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 50));
  const mathjax = !!(window.MathJax && MathJax.startup && MathJax.startup.promise);
  if (mathjax) await MathJax.startup.promise;
  await document.fonts.ready;
  Reveal.layout();  // at the window's current size (the test resizes it between measurements)
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const slides = Reveal.getSlides(), results = [];
  for (let i = 0; i < slides.length; i++) {
    Reveal.slide(i);
    await frame();
    const slide = slides[i], box = document.querySelector('.reveal .slides').getBoundingClientRect();
    const problems = [];
    if (slide.scrollHeight > slide.clientHeight + 1 || slide.scrollWidth > slide.clientWidth + 1)
      problems.push(`content ${slide.scrollWidth}x${slide.scrollHeight} scrolls in ${slide.clientWidth}x${slide.clientHeight}`);
    for (const el of slide.querySelectorAll('*')) {
      // speaker notes are not shown; MathJax's assistive MathML is clipped to nothing on purpose
      if (el.closest('aside.notes, mjx-assistive-mml')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;  // nothing shows (MathJax's stretchy-glyph extenders)
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        problems.push(`<${el.tagName.toLowerCase()} class="${el.className}"> at ${Math.round(r.left - box.left)},` +
          `${Math.round(r.top - box.top)} to ${Math.round(r.right - box.left)},${Math.round(r.bottom - box.top)} ` +
          `leaves the slide's ${Math.round(box.width)}x${Math.round(box.height)}`);
        break;
      }
    }
    results.push({
      title: (slide.querySelector('h1, h2') || {}).textContent || '',
      problems,
      math: slide.querySelectorAll('mjx-container').length,
      mathErrors: slide.querySelectorAll('mjx-merror').length,
      rawTex: Array.from(slide.querySelectorAll('.slide-body, .book-equation')).map(e => e.textContent)
        .filter(t => /\\\\[(\\[]|\\$/.test(t)),
      images: Array.from(slide.querySelectorAll('img')).map(img => ({
        src: img.getAttribute('src'), alt: img.getAttribute('alt'), loaded: img.complete && img.naturalWidth > 0})),
      links: Array.from(slide.querySelectorAll('a[href]')).filter(a => !a.closest('aside.notes'))
        .map(a => ({raw: a.getAttribute('href'), href: a.href, cls: a.className})),
      noteLinks: Array.from(slide.querySelectorAll('aside.notes a[href]')).map(a => ({raw: a.getAttribute('href'), href: a.href})),
    });
  }
  const scripts = performance.getEntriesByType('resource').map(e => e.name);
  return {mathjax, slides: results, scripts};
}"""


def deck_sources():
    return sorted((REPO / "slides").glob("*.md"))


def numbered_chapters():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [chapter["file"] for part in toc["parts"] if part.get("numbered") for chapter in part["chapters"]]


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make book` first (make test does)")
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(HTML)]
    url = f"http://127.0.0.1:{port}/"
    with background_server(command, url=url, what="http.server", timeout=30):
        yield url


@pytest.fixture(scope="module")
def visits(site, browser):
    """{(deck, viewport): what MEASURE found}, every deck at every viewport, with its errors and blocked requests.

    Each deck is loaded once and measured at each size in turn (reveal.js scales the slide to the window)."""
    decks = sorted(DECKS.glob("*.html"))
    assert decks, f"no decks in {DECKS}: build the book (make book)"
    results = {}
    width, height = VIEWPORTS[0]
    context = browser.new_context(viewport={"width": width, "height": height})
    guard = NetworkGuard().attach(context)
    try:
        for deck in decks:
            page, errors = context.new_page(), []
            page.on("pageerror", lambda error, e=errors: e.append(str(error)))
            page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
            page.on("response", lambda r, e=errors: r.status >= 400 and e.append(f"{r.status} {r.url}"))
            page.goto(f"{site}slides/{deck.name}", wait_until="load")
            for width, height in VIEWPORTS:
                page.set_viewport_size({"width": width, "height": height})
                info = page.evaluate(MEASURE)
                info["errors"], info["blocked"] = list(errors), list(guard.blocked)
                results[deck.stem, f"{width}x{height}"] = info
            guard.blocked = []
            page.close()
    finally:
        context.close()
    return results


def report(problems):
    return "\n".join(f"{where}: {problem}" for where, problem in problems)


def test_every_numbered_chapter_has_a_deck_and_every_deck_is_built():
    chapters = numbered_chapters()
    assert chapters, "_toc.yml has no numbered chapters"
    missing = [c for c in chapters if not (REPO / "slides" / f"{Path(c).name}.md").is_file()]
    assert not missing, f"chapters without a deck (add slides/<chapter>.md): {missing}"
    for source in deck_sources():
        built = DECKS / f"{source.stem}.html"
        assert built.is_file(), f"{source.relative_to(REPO)} was not built into {built}: run `make book`"
        assert built.stat().st_mtime >= source.stat().st_mtime, f"{built} is older than its source: run `make book`"


def test_no_slide_overflows_and_nothing_fails_to_load(visits):
    problems = [((deck, size, slide["title"]), problem)
                for (deck, size), info in visits.items() for slide in info["slides"] for problem in slide["problems"]]
    problems += [((deck, size), f"error: {error}") for (deck, size), info in visits.items() for error in info["errors"]]
    problems += [((deck, size), f"request off 127.0.0.1: {url}")
                 for (deck, size), info in visits.items() for url in info["blocked"]]
    assert sum(len(info["slides"]) for info in visits.values()) >= 2 * len(VIEWPORTS) * len(deck_sources())
    assert not problems, "slides whose content is cut off, or decks that fail:\n" + report(problems)


def test_math_is_typeset_offline(visits):
    problems = []
    for (deck, size), info in visits.items():
        if not info["mathjax"]:
            problems.append(((deck, size), "MathJax did not start"))
        if not any("/_vendor/mathjax/tex-mml-chtml.js" in name for name in info["scripts"]):
            problems.append(((deck, size), "MathJax not loaded from the site's _vendor/"))
        if not sum(slide["math"] for slide in info["slides"]):
            problems.append(((deck, size), "no typeset formula at all"))
        for slide in info["slides"]:
            problems += [((deck, size, slide["title"]), f"raw TeX: {text[:80]!r}") for text in slide["rawTex"]]
            if slide["mathErrors"]:
                problems.append(((deck, size, slide["title"]), f"{slide['mathErrors']} MathJax errors"))
    assert not problems, "maths not typeset:\n" + report(problems)


@cache
def soup_of(page):
    """A built page, parsed once (a chapter's page is large)."""
    return BeautifulSoup(Path(page).resolve().read_text(encoding="utf-8"), "html.parser")


@cache
def ids_of(page):
    return {tag["id"] for tag in soup_of(page).select("[id]")}


def test_every_figure_has_the_books_alt_text_and_image(visits):
    images, problems = 0, []
    for (deck, size), info in visits.items():
        for slide in info["slides"]:
            for image in slide["images"]:
                images += 1
                where = (deck, size, slide["title"])
                if not (image["alt"] or "").strip():
                    problems.append((where, f"image without alt text: {image['src']}"))
                if not image["loaded"]:
                    problems.append((where, f"image did not load: {image['src']}"))
    # the deck's image is the chapter page's, for the same figure (one file, made by the chapter's code)
    for deck in sorted(DECKS.glob("*.html")):
        for figure in soup_of(deck).select("figure.book-figure"):
            target = urlsplit(figure.select_one("figcaption a")["href"])
            book = soup_of((DECKS / target.path).resolve())
            shown = book.select_one(f"[id='{target.fragment}'] img")
            image = figure.select_one("img")
            if shown is None or (DECKS / image["src"]).resolve() != ((DECKS / target.path).parent / shown["src"]).resolve():
                problems.append((deck.name, f"figure {target.fragment} is not the book's image"))
            elif image["alt"] != shown.get("alt"):
                problems.append((deck.name, f"figure {target.fragment}: alt text differs from the book's"))
    assert images >= len(deck_sources()) * len(VIEWPORTS), "decks with no figures at all?"
    assert not problems, "figures:\n" + report(problems)


def test_every_slide_links_to_its_book_section_and_every_link_resolves(site, visits):
    checked, problems = 0, []
    for (deck, size), info in visits.items():
        if size != "1280x720":
            continue
        for slide in info["slides"]:
            where = (deck, slide["title"])
            book_links = [link for link in slide["links"] if link["cls"] == "book-link"]
            if len(book_links) != 1 or not urlsplit(book_links[0]["href"]).path.endswith(f"/book/{deck}.html"):
                problems.append((where, f"needs one link to its section of book/{deck}.html: {book_links}"))
            for link in slide["links"] + slide["noteLinks"]:
                if not link["href"].startswith(site):
                    continue  # the licences' sites
                parts = urlsplit(link["href"])
                target = HTML / unquote(parts.path[len(urlsplit(site).path):])
                checked += 1
                if not target.is_file():
                    problems.append((where, f"link {link['raw']} -> missing {target.relative_to(HTML)}"))
                elif parts.fragment and unquote(parts.fragment) not in ids_of(target.resolve()):
                    problems.append((where, f"link {link['raw']} -> no id {parts.fragment} in {target.relative_to(HTML)}"))
    assert checked, "no links to the book at all"
    assert not problems, "broken links:\n" + report(problems)


def test_chapter_pages_link_their_deck():
    for source in deck_sources():
        page = HTML / "book" / f"{source.stem}.html"
        links = soup_of(page).select("p.lecture-slides a")
        assert [a["href"] for a in links] == [f"../slides/{source.stem}.html"], f"{page} does not link its deck"


def page_count(pdf):
    pdfinfo = shutil.which("pdfinfo")
    if pdfinfo is None:
        pytest.fail("pdfinfo (Debian's poppler-utils) is missing: `make tex` installs it")
    info = subprocess.run([pdfinfo, str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, flags=re.M).group(1))


def test_each_handout_has_one_page_per_slide(site, browser, tmp_path):
    context = browser.new_context()
    guard = NetworkGuard().attach(context)
    problems = []
    try:
        page = context.new_page()
        for deck in sorted(DECKS.glob("*.html")):
            slides = len(soup_of(deck).select(".slides > section"))
            pdf = tmp_path / f"{deck.stem}.pdf"
            handouts.print_deck(page, f"{site}slides/{deck.name}", pdf)
            pages = page_count(pdf)
            if not slides or pages != slides:
                problems.append((deck.name, f"{pages} PDF pages for {slides} slides"))
        guard.check()
    finally:
        context.close()
    assert not problems, "handouts:\n" + report(problems)


CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Demo

## A section

$$
x = \\sum_k y_k
$$ (eq-demo)

```{code-cell} ipython3
:mystnb:
:  figure:
:    caption: A line.
:    name: fig-demo
:  image:
:    alt: A straight line.
import matplotlib.pyplot as plt
import gmmlab
gmmlab.plotting.use_style()  # SVG figures, as in every chapter
plt.plot([0, 1], [0, 1], color="COLOUR")
plt.show()
```
"""

DECK = """# Demo

## A section

{numref}`fig-demo`

{eq}`eq-demo`

Note:
Draw the line.
"""


def deck_image(book):
    deck = book / "_build" / "html" / "slides" / "demo.html"
    image = BeautifulSoup(deck.read_text(encoding="utf-8"), "html.parser").select_one("figure.book-figure img")
    return (deck.parent / image["src"]).resolve().read_text()


def test_one_source_a_change_to_the_figure_code_changes_the_deck(tmp_path):
    """A small book with the real slides extension: the deck's figure follows the chapter's figure code."""
    book = tmp_path / "book-root"
    (book / "book").mkdir(parents=True)
    (book / "slides").mkdir()
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/demo\n")
    config = {
        "title": "Demo", "only_build_toc_files": True,
        "execute": {"execute_notebooks": "cache"},
        "html": {"extra_footer": '<p><a href="https://creativecommons.org/licenses/by/4.0/" rel="license">CC BY 4.0</a></p>'},
        "sphinx": {"local_extensions": {"slides": str(REPO / "tools" / "sphinx")},
                   "config": {"numfig": True, "math_numfig": True}},
    }
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "slides" / "demo.md").write_text(DECK)
    chapter = book / "book" / "demo.md"
    build = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book), "-W", "--quiet"]
    # the chapter draws with the inline backend, as the book's do (the suite's MPLBACKEND=Agg would show nothing)
    env = {name: value for name, value in os.environ.items() if name != "MPLBACKEND"}
    figures = []
    for colour in ("#0072b2", "#d55e00"):
        chapter.write_text(CHAPTER.replace("COLOUR", colour))
        done = subprocess.run(build, capture_output=True, text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        figures.append(deck_image(book))
    assert "#0072b2" in figures[0] and "#d55e00" not in figures[0]
    assert "#d55e00" in figures[1] and "#0072b2" not in figures[1], "the deck kept the old figure"
    html = (book / "_build" / "html" / "slides" / "demo.html").read_text()
    assert "x = \\sum_k y_k" in html and "\\tag{1}" in html, "the deck lacks the chapter's numbered equation"
    assert json.dumps("Draw the line.")[1:-1] in html
