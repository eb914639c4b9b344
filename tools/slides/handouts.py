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
# what reveal.js does in print mode, and MathJax's typesetting, finished (the math plugin typesets on "ready")
READY = """async () => {
  await new Promise(resolve => Reveal.isReady() ? resolve() : Reveal.on('ready', resolve));
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  await document.fonts.ready;
  return document.querySelectorAll('.reveal .slides .pdf-page').length;
}"""


def print_deck(page, url, path):
    """Print the deck at ``url`` (served over HTTP) to ``path``; return the number of pages reveal.js laid out."""
    page.goto(f"{url}?print-pdf", wait_until="load")
    pages = page.evaluate(READY)
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    return pages


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
                pages = print_deck(page, f"{url}slides/{deck.name}", pdf)
                print(f"{pdf.relative_to(REPO) if pdf.is_relative_to(REPO) else pdf}: {pages} pages")
        finally:
            browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
