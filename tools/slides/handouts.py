"""The lecture decks' handouts: a PDF of each deck, one page per slide, printed by Debian's Chromium.

``make slides`` runs this after the book's build has written the decks into ``_build/html/slides/``
(``tools/sphinx/slides.py``); it writes ``<chapter>.pdf`` beside each deck. It prints the way reveal.js
documents: the deck opened with ``?print-pdf``, which lays every slide out on a page of the slide's size
(``pdfMaxPagesPerSlide: 1``, fragments and speaker notes left out), then Chromium's "save as PDF" through
Playwright. The site is served from 127.0.0.1 and nothing is fetched from anywhere else; Playwright drives
``/usr/bin/chromium`` and never downloads a browser. ``tests/deploy/browser/test_slides.py`` prints the decks
with :func:`print_deck` too and counts the pages.

    .venv/bin/python tools/slides/handouts.py [_build/html]
"""

import contextlib
import functools
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Runs in the deck opened with ?print-pdf: waits until reveal.js is ready and has laid out a page for every slide
# (it does so after "ready", then dispatches "pdf-ready" in the same task), MathJax has typeset, and the fonts and
# figures have loaded. A deck that is not laid out within two minutes is reported, never printed half-made.
READY = """async () => {
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  const pages = () => document.querySelectorAll('.reveal .slides .pdf-page').length;
  const laidOut = () => !!(window.Reveal && Reveal.isReady && Reveal.isReady()) && Reveal.getTotalSlides() > 0
    && pages() >= Reveal.getTotalSlides();
  for (let i = 0; i < 2400 && !laidOut(); i++) await sleep(50);
  if (!laidOut()) return {error: window.Reveal ? `reveal.js laid out ${pages()} pages for ${Reveal.getTotalSlides()} `
    + `slides (ready: ${Reveal.isReady && Reveal.isReady()})` : 'reveal.js did not load'};
  for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) await sleep(50);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  await Promise.all(Array.from(document.images).map(img => img.complete ? null
    : new Promise(resolve => { img.onload = img.onerror = resolve; })));
  return {pages: pages(), slides: Reveal.getTotalSlides()};
}"""


def print_deck(page, url, path):
    """Print the deck at ``url`` (served over HTTP) to ``path``; return its number of slides.

    Raises RuntimeError if reveal.js did not lay out exactly one page per slide.
    """
    page.goto(f"{url}?print-pdf", wait_until="load")
    laid_out = page.evaluate(READY)
    if "error" in laid_out:
        raise RuntimeError(f"{url}: {laid_out['error']}")
    if laid_out["pages"] != laid_out["slides"]:
        raise RuntimeError(f"{url}: reveal.js laid out {laid_out['pages']} pages for {laid_out['slides']} slides")
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    return laid_out["slides"]


@contextlib.contextmanager
def serve(directory):
    """The site at ``directory`` on 127.0.0.1 and a free port, for as long as the block runs; yields its URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def main(site=REPO / "_build" / "html"):
    from playwright.sync_api import sync_playwright

    decks = sorted((Path(site) / "slides").glob("*.html"))
    if not decks:
        sys.exit(f"error: no decks under {site}/slides: build the book first (make book)")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with serve(site) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            context = browser.new_context()
            # the decks need nothing but the site: refuse anything else, as the tests do
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                          else route.abort("blockedbyclient"))
            page = context.new_page()
            for deck in decks:
                pdf = deck.with_suffix(".pdf")
                slides = print_deck(page, f"{url}slides/{deck.name}", pdf)
                print(f"{pdf.relative_to(REPO) if pdf.is_relative_to(REPO) else pdf}: {slides} slides")
        finally:
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
