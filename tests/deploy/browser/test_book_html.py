"""The built HTML book, read the way a student reads it: in a browser, with no network.

``make test`` builds the book first (``make book``: jupyter-book build, in which Sphinx copies MathJax and
the widget manager into ``_build/html/_vendor``, see tools/offline/assets.py). This module serves ``_build/html``
with ``python -m http.server`` on 127.0.0.1, visits every page once in Debian's Chromium and checks:

* every page loads with no console error, no uncaught exception, no failed request and no HTTP error;
* no request leaves 127.0.0.1 (MathJax, require.js and the widget manager come from ``_vendor/``);
* MathJax typeset every formula and no raw TeX is left in the text;
* every image in the content has a real alt text (not empty, not a file name);
* every internal link points at a file of the site and every #anchor at an id of its page;
* the search page finds "responsibilities";
* every executable page has its launch (Binder, JupyterLab) and download (.ipynb, source) buttons, with
  launch URLs that have no double slash and name a file of the repository;
* pages with widget state load the widget manager from ``_vendor/`` and render their widgets, and no other
  page loads it;
* axe-core finds no serious or critical accessibility violation, at 390 and 1280 px;
* at 390, 800 and 1280 px the menu button opens the chapter list and a chapter is reachable from it, with one
  search button in sight; no page scrolls sideways (at 800 px: the phone's page widened, see RESIZED); at 1280 px
  no display equation is wider than its box;
* at 390 px MathJax breaks display equations at their relations and operators to fit the column: the only ones
  that still scroll hold an alignment (aligned, cases, array), and each fades out at its cut edge and keeps its
  number in sight; widened to 800 px, the equations are broken again for the new width; no inline formula is
  wider than its line, every SVG figure shows its phone layout, whole and with its 12 pt text at least 11 px
  high (at 1280 px the figure as drawn), and code names in tables are not broken mid-word;
* the Tab key reaches every header control (menu, launch, repository, download), which then shows a focus
  ring, and stops at no formula but one that scrolls in its box (to scroll it);
* every figure is SVG or has at least twice the pixels it is shown at;
* the EM stepper (gmmlab.widgets.em_animation) moves with no kernel and no network.

Every list the checks iterate over must be non-empty: an empty site fails, it does not pass.
"""

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

from browser.kit import HTML, REPO, NetworkGuard, background_server, free_port, is_notebook_source

sys.path.insert(0, str(REPO / "tools"))
from execute import toc_documents  # noqa: E402  (tools/execute.py: what _toc.yml lists)

pytestmark = [pytest.mark.slow(minutes=6), pytest.mark.browser]

VENDOR_SCRIPTS = {
    "mathjax": "_vendor/mathjax/tex-mml-chtml.js",
    "requirejs": "_vendor/requirejs/require.js",
    "widgets": "_vendor/html-manager/embed-amd.js",
    "widgets-config": "_vendor/widgets-config.js",
}

# Runs in the page after it loaded: waits for MathJax (if the page loads it) to finish typesetting.
WAIT_FOR_MATHJAX = """async () => {
    if (!document.querySelector('script[src*="tex-mml-chtml"]')) return 'no mathjax';
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return 'mathjax did not start';
    await MathJax.startup.promise;
    // then static/book_html.js gives the formulas that scroll their Tab stop, once MathJax's fonts are in
    for (let i = 0; i < 200 && document.documentElement.dataset.gmmlabMath !== 'ready'; i++)
        await new Promise(r => setTimeout(r, 50));
    if (document.documentElement.dataset.gmmlabMath !== 'ready') return 'book_html.js did not mark the math ready';
    return 'typeset';
}"""

# Waits (up to 20 s) until the widget manager rendered every widget view of the page.
WAIT_FOR_WIDGETS = """async () => {
    const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
    for (let i = 0; i < 400; i++) {
        const rendered = Array.from(views).filter(s => s.parentElement.querySelector('.jupyter-widgets'));
        if (rendered.length === views.length) break;
        await new Promise(r => setTimeout(r, 50));
    }
}"""

# Everything the checks need from one page, read from the live DOM.
COLLECT = r"""() => {
    const main = document.querySelector('main') || document.body;
    const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax';
    const rawTex = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const tex = /\\[A-Za-z]{2,}|\\[()\[\]]|\$\$|\$[^$\s][^$]*\\[A-Za-z]+[^$]*\$/;
    while (walker.nextNode()) {
        const node = walker.currentNode, el = node.parentElement;
        if (!el || el.closest(skip)) continue;
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden') continue;
        if (tex.test(node.textContent)) rawTex.push(node.textContent.trim().slice(0, 160));
    }
    const math = Array.from(document.querySelectorAll('.math'));
    // Display equations wider than their box (they scroll sideways): does each show that it continues (the
    // fade of book_html.css at the edge where it is cut, on the right at first), and is its number in sight,
    // beside the formula rather than under it? A formula that fits must not be faded.
    function displayScrolls() {
        const found = [];
        for (const c of document.querySelectorAll('div.math > mjx-container[display="true"]')) {
            const style = getComputedStyle(c), box = c.getBoundingClientRect();
            const mask = style.maskImage || style.webkitMaskImage || '';
            const fade = {start: parseFloat(style.getPropertyValue('--gmmlab-fade-start')) || 0,
                          end: parseFloat(style.getPropertyValue('--gmmlab-fade-end')) || 0};
            // scrolls at all (if only by a pixel, its scroll timeline is active and it fades)
            const scrolls = c.scrollWidth > c.clientWidth;
            const eqno = c.parentElement.querySelector(':scope > span.eqno');
            let number = null;
            if (eqno) {
                const r = eqno.getBoundingClientRect();
                number = {text: eqno.textContent.trim(), width: r.width,
                          inWindow: r.left >= 0 && r.right <= window.innerWidth + 0.5,
                          besideFormula: r.left >= box.right - 1 || r.right <= box.left + 1,
                          visible: getComputedStyle(eqno).visibility !== 'hidden'};
            }
            found.push({
                equation: (c.parentElement.id || '') + ': ' + c.textContent.trim().slice(0, 60),
                scrolls: scrolls,
                // an alignment (aligned, cases, array...: a table of MathML), which MathJax narrows only as far as
                // it can break within its cells
                aligned: !!c.querySelector('mjx-mtable'),
                // the lines MathJax broke it into (a formula it did not break has no line boxes: one line)
                lines: Math.max(1, c.querySelectorAll('mjx-linebox').length),
                atStart: c.scrollLeft === 0,
                // the fade is drawn by a mask whose edges come from the two custom properties
                cue: mask.includes('gradient') && fade.end >= 8 && fade.start === 0,
                faded: mask.includes('gradient') && (fade.start > 0 || fade.end > 0),
                fade: fade,
                number: number,
            });
        }
        return found;
    }
    function formulas() {
        return Array.from(document.querySelectorAll('mjx-container')).map(c => {
            const scroller = c.matches('div.math > mjx-container') ? c : c.closest('span.math');
            return {text: c.textContent.trim().slice(0, 60),
                    stop: c.tabIndex >= 0 || !!c.querySelector('[tabindex]:not([tabindex^="-"]), a[href], button, input'),
                    scrolls: !!scroller && scroller.scrollWidth > scroller.clientWidth};
        });
    }
    return {
        url: location.href,
        ids: Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.getAttribute('name')),
        links: Array.from(document.querySelectorAll('a[href]')).map(a => ({raw: a.getAttribute('href'), href: a.href})),
        images: Array.from(main.querySelectorAll('img')).map(img => ({
            src: img.getAttribute('src') || '', alt: img.getAttribute('alt'),
            loaded: img.complete && img.naturalWidth > 0,
            naturalWidth: img.naturalWidth, shownWidth: img.getBoundingClientRect().width,
            // the phone layout a <picture> offers (tools/sphinx/phone_figures.py), the file the browser chose, and
            // how far the figure's link (static/book_html.js) scrolls sideways
            phone: img.parentElement.matches('picture')
                ? (img.parentElement.querySelector('source[media]') || {}).srcset || null : null,
            phoneMedia: img.parentElement.matches('picture')
                ? (img.parentElement.querySelector('source[media]') || {}).media || null : null,
            currentSrc: img.currentSrc,
            boxOverflow: img.closest('a.figure-enlarge')
                ? img.closest('a.figure-enlarge').scrollWidth - img.closest('a.figure-enlarge').clientWidth : 0})),
        pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        displayOverflow: Array.from(document.querySelectorAll('div.math > mjx-container'))
            .filter(c => c.scrollWidth - c.clientWidth > 1)
            .map(c => (c.parentElement.id || '') + ': ' + c.parentElement.textContent.trim().slice(0, 80)),
        displayScrolls: displayScrolls(),
        // formulas the Tab key stops at (a focusable container, or anything focusable inside one) although they
        // fit their box, and formulas cut in their box (it scrolls: the container of a display formula, the
        // span.math of an inline one) that the keyboard cannot reach to scroll
        mathTabStops: formulas().filter(f => f.stop && !f.scrolls).map(f => f.text),
        mathScrollNoStop: formulas().filter(f => f.scrolls && !f.stop).map(f => f.text),
        mathScrolls: formulas().filter(f => f.scrolls).length,
        // inline formulas (a span.math outside display math) wider than their box, which cuts them
        inlineMath: document.querySelectorAll('span.math').length,
        inlineOverflow: Array.from(document.querySelectorAll('span.math'))
            .filter(s => s.scrollWidth > s.clientWidth)
            .map(s => `${s.scrollWidth - s.clientWidth} px: ${s.textContent.trim().slice(0, 60)}`),
        // code names in tables (not the index's) laid out on more than one line although their text has no
        // break point (a space, a - or /, or before an opening bracket): broken mid-word
        tableCode: document.querySelectorAll('.bd-content table:not(.indextable) code.literal').length,
        tableCodeBroken: Array.from(document.querySelectorAll('.bd-content table:not(.indextable) code.literal'))
            .filter(c => Array.from(c.getClientRects()).filter(r => r.width > 0).length > 1
                         && !/[\s\/(\[-]/.test(c.textContent.trim()))
            .map(c => c.textContent.trim()),
        rawTex: rawTex,
        mathCount: math.length,
        mathUntypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 120)),
        mjxCount: document.querySelectorAll('mjx-container').length,
        scripts: Array.from(document.querySelectorAll('script[src]')).map(s => s.src),
        launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a[href]')).map(a => a.href),
        download: Array.from(document.querySelectorAll('.dropdown-download-buttons a[href]')).map(a => a.href),
        widgetState: !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]'),
        widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
        widgetsRendered: Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
            .filter(s => s.parentElement.querySelector('.jupyter-widgets')).length,
        requireLoaded: typeof window.requirejs === 'function',
        widgetManagerLoaded: typeof window.requirejs === 'function' &&
            window.requirejs.defined('@jupyter-widgets/html-manager/dist/libembed-amd'),
    };
}"""


def source_of(docname):
    """The repository file a docname was built from (book/kmeans -> book/kmeans.md), or None."""
    for suffix in (".ipynb", ".md", ".rst"):
        if (REPO / f"{docname}{suffix}").is_file():
            return REPO / f"{docname}{suffix}"
    return None


def site_pages():
    """The HTML pages of the built site (everything but the asset folders _static, _sources, _vendor, ..., and the
    lecture decks in slides/, which test_slides.py checks as the slides they are)."""
    return sorted(
        path.relative_to(HTML).as_posix()
        for path in HTML.rglob("*.html")
        if not path.relative_to(HTML).parts[0].startswith("_") and path.relative_to(HTML).parts[0] != "slides"
    )


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make book` first (make test does)")
    for name, script in VENDOR_SCRIPTS.items():
        if not (HTML / script).is_file():
            pytest.fail(f"{name} is not served by the built book ({script} missing): run `make book`")
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(HTML)]
    url = f"http://127.0.0.1:{port}/"
    with background_server(command, url=url, what="http.server", timeout=30):
        yield url


WIDTHS = (390, 800, 1280)  # a phone, a tablet, a laptop (with both sidebars)
# axe-core scans the phone and the laptop layouts; the tablet's differs from them only in which sidebars show, and
# a scan costs several times the rest of a page's visit (measured: 19 s against 4 s on kmeans), which the suite's
# time budget cannot pay at three widths.
AXE_WIDTHS = (390, 1280)
# Pages are loaded at 390 and 1280 px; the tablet's width is read from the phone's page widened to 800 px, as a
# reader turns a tablet or widens a window (the layout and static/book_html.js's Tab stops follow the resize), so
# that MathJax does not typeset every page a third time.
RESIZED = {390: (800,)}

# Runs in the page after its viewport changed: waits until static/book_html.js has had MathJax break the display
# formulas again for the new width and has redone the formulas' Tab stops (its resize handler marks the math ready
# again; typesetting a chapter again takes about as long as typesetting it at first, hence up to 30 s).
MARK_RESIZING = "() => { document.documentElement.dataset.gmmlabMath = 'resizing'; }"
WAIT_FOR_RESIZE = """async () => {
    if (!document.querySelector('script[src*="tex-mml-chtml"]')) return 'no mathjax';
    for (let i = 0; i < 600 && document.documentElement.dataset.gmmlabMath !== 'ready'; i++)
        await new Promise(r => setTimeout(r, 50));
    return document.documentElement.dataset.gmmlabMath;
}"""


def visit_all(site, browser, width):
    """Visit every page once at ``width``; return {width: {page: what it showed}} (see COLLECT), with its errors
    and, at AXE_WIDTHS, its axe scan; and the same for each width of RESIZED[width], read from the page resized."""
    from axe_playwright_python.sync_playwright import Axe

    pages = site_pages()
    assert pages, f"the built site at {HTML} has no pages"
    axe = Axe()
    context = browser.new_context(viewport={"width": width, "height": 900})
    guard = NetworkGuard().attach(context)
    results = {width: {}, **{other: {} for other in RESIZED.get(width, ())}}
    try:
        for name in pages:
            page = context.new_page()
            events = {"console": [], "pageerror": [], "failed": [], "http": []}
            page.on("console", lambda m, e=events: m.type == "error" and e["console"].append(m.text))
            page.on("pageerror", lambda error, e=events: e["pageerror"].append(str(error)))
            page.on("requestfailed", lambda r, e=events: e["failed"].append(f"{r.url} ({r.failure})"))
            page.on("response", lambda r, e=events: r.status >= 400 and e["http"].append(f"{r.status} {r.url}"))
            page.goto(site + name, wait_until="load")
            page.wait_for_load_state("networkidle")
            events["mathjax"] = page.evaluate(WAIT_FOR_MATHJAX)
            page.evaluate(WAIT_FOR_WIDGETS)
            info = page.evaluate(COLLECT)
            info.update({kind: list(value) if isinstance(value, list) else value  # the page's own
                         for kind, value in events.items()})
            # axe-core's scan (preload off: its stylesheet preloading resolves @import against the page and
            # asks for files that do not exist, which no reader's browser does)
            if width in AXE_WIDTHS:
                violations = axe.run(page, options={"resultTypes": ["violations"], "preload": False})
                info["axe"] = [
                    {"id": v["id"], "impact": v["impact"], "help": v["help"],
                     "targets": [str(node["target"]) for node in v["nodes"]][:5]}
                    for v in violations.response["violations"]
                ]
            info["blocked"], guard.blocked = guard.blocked, []
            results[width][name] = info
            for other in RESIZED.get(width, ()):
                page.evaluate(MARK_RESIZING)
                page.set_viewport_size({"width": other, "height": 900})
                state = page.evaluate(WAIT_FOR_RESIZE)
                assert state in ("ready", "no mathjax"), (
                    f"{name} widened to {other} px: static/book_html.js did not redo the formulas' Tab stops ({state})")
                results[other][name] = page.evaluate(COLLECT)
            page.close()
    finally:
        context.close()
    return results


@pytest.fixture(scope="module")
def crawl(site, browser):
    """Every page at 1280 px (see visit_all)."""
    return visit_all(site, browser, 1280)[1280]


@pytest.fixture(scope="module")
def narrow_crawls(site, browser):
    """Every page at the phone's width, and widened to the tablet's: {width: {page: info}}."""
    return visit_all(site, browser, 390)


def report(problems):
    return "\n".join(f"{page}: {problem}" for page, problem in problems)


def test_every_page_of_the_table_of_contents_is_built():
    pages = set(site_pages())
    documents = toc_documents()
    assert documents and pages
    missing = [doc for doc in documents if f"{doc}.html" not in pages]
    assert not missing, f"pages of _toc.yml missing from {HTML}: {missing}"


def test_pages_load_without_errors(crawl):
    problems = [
        (page, f"{kind}: {message}")
        for page, info in crawl.items()
        for kind in ("console", "pageerror", "failed", "http")
        for message in info[kind]
    ]
    assert not problems, "pages with console errors or failed requests:\n" + report(problems)


def test_no_request_leaves_localhost(crawl):
    problems = [(page, url) for page, info in crawl.items() for url in info["blocked"]]
    assert not problems, "requests to hosts other than 127.0.0.1:\n" + report(problems)
    scripts = {src for info in crawl.values() for src in info["scripts"]}
    assert any(VENDOR_SCRIPTS["mathjax"] in src for src in scripts), "no page loads MathJax from _vendor/"


def test_math_is_typeset(crawl):
    assert sum(info["mathCount"] for info in crawl.values()) > 0, "the book has no math at all?"
    problems = []
    for page, info in crawl.items():
        if info["mathCount"]:
            if info["mathjax"] != "typeset":
                problems.append((page, f"has {info['mathCount']} formulas but MathJax: {info['mathjax']}"))
            problems += [(page, f"formula not typeset: {tex!r}") for tex in info["mathUntypeset"]]
        problems += [(page, f"raw TeX in the text: {text!r}") for text in info["rawTex"]]
    assert not problems, "untypeset math:\n" + report(problems)


def test_figures_have_alt_text(crawl):
    images = [(page, image) for page, info in crawl.items() for image in info["images"]]
    assert images, "the book shows no images at all?"
    problems = []
    for page, image in images:
        alt = (image["alt"] or "").strip()
        if not alt:
            problems.append((page, f"image without alt text: {image['src'][:100]}"))
        elif re.fullmatch(r"[\w./\\-]+\.(png|svg|jpe?g|gif|webp)", alt, flags=re.IGNORECASE):
            problems.append((page, f"image whose alt text is a file name ({alt}): {image['src'][:100]}"))
        if not image["loaded"]:
            problems.append((page, f"image did not load: {image['src'][:100]}"))
    assert not problems, "figures need a real alt text:\n" + report(problems)


def test_internal_links_and_anchors_resolve(site, crawl):
    ids = {page: set(info["ids"]) for page, info in crawl.items()}
    checked, problems = 0, []
    for page, info in crawl.items():
        for link in info["links"]:
            if not link["href"].startswith(site):
                continue  # another site (the repository, Binder, a DOI): not followed offline
            parts = urlsplit(link["href"])
            target = unquote(parts.path[len(urlsplit(site).path):]) or "index.html"
            if target.endswith("/"):
                target += "index.html"
            checked += 1
            if not (HTML / target).is_file():
                problems.append((page, f"link {link['raw']!r} -> missing file {target}"))
            elif parts.fragment and target.endswith(".html"):
                fragment = unquote(parts.fragment)
                if target not in ids:
                    problems.append((page, f"link {link['raw']!r} -> anchor in a page that was not crawled"))
                elif fragment not in ids[target]:
                    problems.append((page, f"link {link['raw']!r} -> no id {fragment!r} in {target}"))
    assert checked, "no internal links found at all"
    assert not problems, "broken internal links:\n" + report(problems)


def open_page(context, url):
    """A new page of ``context`` at ``url``, and the list its uncaught JavaScript errors go to."""
    page, errors = context.new_page(), []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    return page, errors


def test_search_finds_responsibilities(site, guarded_context):
    context, _ = guarded_context
    page, errors = open_page(context, site + "search.html?q=responsibilities")
    page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#search-progress')?.textContent.includes('Preparing')")
    results = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    assert results, "the search for 'responsibilities' found nothing"
    assert not errors, errors
    if (HTML / "book" / "responsibilities.html").is_file():
        assert any("book/responsibilities.html" in href for href in results), results
    # The snippets under the results are the pages' text, without raw TeX and without the labels of the
    # pages' buttons (static/book_html.js).
    page.wait_for_function("() => document.querySelectorAll('#search-results ul.search li p.context').length >= 3")
    snippets = page.eval_on_selector_all("#search-results ul.search li p.context", "ps => ps.map(p => p.textContent)")
    tex = [text for text in snippets if re.search(r"\\[A-Za-z]{2,}|\\[()\[\]]", text)]
    assert not tex, f"raw TeX in search snippets: {tex[:2]}"
    interface = [label for label in SEARCH_INTERFACE for text in snippets if label in text]
    assert not interface, f"button labels in search snippets: {sorted(set(interface))}"


# Labels of the controls on every page (the theme's header buttons, myst-nb's toggles of hidden code)
SEARCH_INTERFACE = ("Show code cell", "Hide code cell", "Fullscreen mode", "Print to PDF", "Launch", "Download source",
                    "Repository", "Open issue", "Toggle")


def test_launch_and_download_buttons(crawl, site):
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    repository = urlsplit(config["repository"]["url"]).path.strip("/")
    branch = config["repository"]["branch"]
    binderhub = config["launch_buttons"]["binderhub_url"].rstrip("/")
    executable, problems = [], []
    for page, info in crawl.items():
        docname = page[: -len(".html")]
        source = source_of(docname)
        if source is None or not is_notebook_source(source):
            if info["launch"]:
                problems.append((page, f"launch buttons on a page that is no notebook: {info['launch']}"))
            continue
        executable.append(page)
        relative = source.relative_to(REPO).as_posix()
        binder = [url for url in info["launch"] if url.startswith(binderhub + "/")]
        if len(binder) != 1:
            problems.append((page, f"expected one Binder launch button, found {info['launch']}"))
        for url in binder:
            parts = urlsplit(url)
            if "//" in parts.path or "//" in parts.query:
                problems.append((page, f"double slash in the launch URL {url}"))
            if parts.path != f"/v2/gh/{repository}/{branch}":
                problems.append((page, f"launch URL {url} is not for {repository} at {branch}"))
            urlpath = parse_qs(parts.query).get("urlpath", [""])[0]
            if urlpath != f"lab/tree/{relative}":
                problems.append((page, f"launch URL opens {urlpath!r}, not lab/tree/{relative}"))
            path = REPO / urlpath.removeprefix("lab/tree/")
            ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO).returncode == 0
            if not path.is_file() or ignored:
                problems.append((page, f"launch URL {url} names {path.relative_to(REPO)}, not a file of the repository"))
        downloads = [unquote(urlsplit(url).path) for url in info["download"]]
        for suffix in (".ipynb", source.suffix):
            wanted = [d for d in downloads if d.endswith(f"_sources/{docname}{suffix}")]
            if not wanted:
                problems.append((page, f"no download button for the {suffix} file (found {downloads})"))
            for path in wanted:
                if not (HTML / path[len(urlsplit(site).path):]).is_file():
                    problems.append((page, f"download button points at a missing file {path}"))
    assert executable, "no executable page (notebook chapter) in the built book"
    assert not problems, "launch and download buttons:\n" + report(problems)


def test_widget_manager_only_where_widgets_are(crawl):
    """The book's steppers need no widget manager; a page with saved widget state renders it from _vendor/."""
    assert (HTML / VENDOR_SCRIPTS["widgets"]).is_file(), "the widget manager is not served by the built book"
    problems = []
    for page, info in crawl.items():
        loads_manager = any(VENDOR_SCRIPTS["widgets"] in src for src in info["scripts"])
        if not info["widgetState"]:
            if loads_manager:
                problems.append((page, "loads the widget manager but has no widget to render"))
            continue
        for name in ("requirejs", "widgets-config", "widgets"):
            if not any(VENDOR_SCRIPTS[name] in src for src in info["scripts"]):
                problems.append((page, f"{VENDOR_SCRIPTS[name]} is not loaded (scripts: {info['scripts']})"))
        if not info["widgetManagerLoaded"]:
            problems.append((page, "the widget manager (html-manager's libembed-amd) did not load"))
        if info["widgetsRendered"] != info["widgetViews"]:
            problems.append((page, f"{info['widgetsRendered']} of {info['widgetViews']} widget views rendered"))
    assert not problems, "widgets in the static book:\n" + report(problems)


def test_accessibility_no_serious_violations(crawl, narrow_crawls):
    crawls = {width: pages for width, pages in {1280: crawl, **narrow_crawls}.items() if width in AXE_WIDTHS}
    assert sorted(crawls) == sorted(AXE_WIDTHS)
    assert all("axe" in info for pages in crawls.values() for info in pages.values())
    problems = [
        (f"{page} at {width} px", f"{v['impact']}: {v['id']} ({v['help']}) at {v['targets']}")
        for width, pages in crawls.items()
        for page, info in pages.items()
        for v in info["axe"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not problems, "axe-core accessibility violations:\n" + report(problems)


# ------------------------------------------------------------------------------------- layout at every width


def test_no_page_scrolls_sideways(crawl, narrow_crawls):
    crawls = {1280: crawl, **narrow_crawls}
    problems = [
        (f"{page} at {width} px", f"the page is {info['pageOverflow']} px wider than the window")
        for width, pages in crawls.items()
        for page, info in pages.items()
        if info["pageOverflow"] > 0
    ]
    assert sum(len(pages) for pages in crawls.values()) == len(WIDTHS) * len(crawl)
    assert not problems, "pages that scroll sideways:\n" + report(problems)


def test_no_display_equation_overflows_at_1280(crawl):
    assert any(info["mathCount"] for info in crawl.values())
    problems = [(page, f"wider than the text column: {eq}") for page, info in crawl.items() for eq in info["displayOverflow"]]
    assert not problems, "display equations cut off at 1280 px (split them into aligned lines):\n" + report(problems)


def test_figures_are_svg_or_at_least_twice_the_resolution(crawl):
    # the figures and the stepper's frames (not the theme's and Sphinx's small interface icons)
    shown = [
        (page, image) for page, info in crawl.items() for image in info["images"]
        if image["shownWidth"] > 0 and ("_images/" in image["src"] or image["src"].startswith("data:image/"))
    ]
    assert len(shown) >= 20, f"only {len(shown)} figures are shown in the whole book?"
    problems = []
    for page, image in shown:
        src = image["src"]
        if src.lower().endswith(".svg") or src.startswith("data:image/svg+xml"):
            continue
        if image["naturalWidth"] < 2 * image["shownWidth"] - 1:
            problems.append((page, f"{src[:80]}: {image['naturalWidth']} px shown at {image['shownWidth']:.0f} px"))
    assert not problems, "blurry figures (neither SVG nor 2x):\n" + report(problems)
    assert sum(image["src"].endswith(".svg") for _, image in shown) >= 20, "the book's figures are not SVG"


def test_display_equations_are_broken_to_fit_a_phone(crawl, narrow_crawls):
    """At 390 px MathJax breaks a display equation wider than the column into lines at its relations and
    operators (_config.yml: displayOverflow). What still scrolls is an alignment (aligned, cases, array), which MathJax
    narrows only as far as it can break lines within its cells (not inside an underbrace, say). Widened to 800 px (RESIZED), the
    page has MathJax break the equations again for the new width (static/book_html.js): none is on more lines
    than at 390 px, and some on fewer. At 1280 px each fits on one line, unbroken (MathJax breaks at the room the
    formula has beside its number, static/book_html.css, not at a share of it)."""
    broken = [(page, f"{eq['lines']} lines: {eq['equation']}")
              for page, info in crawl.items() for eq in info["displayScrolls"] if eq["lines"] > 1]
    assert not broken, "display equations broken into lines at 1280 px:\n" + report(broken)
    # each page's display equations, in the order of the page
    phone, wide = ({(page, i): eq for page, info in narrow_crawls[width].items()
                    for i, eq in enumerate(info["displayScrolls"])} for width in (390, 800))
    assert sum(eq["lines"] > 1 for eq in phone.values()) >= 20, "MathJax broke hardly any display equation at 390 px?"
    problems = [(page, f"scrolls, but is no alignment MathJax cannot break: {eq['equation']}")
                for (page, _), eq in phone.items() if eq["scrolls"] and not eq["aligned"]]
    assert not problems, "display equations on a phone:\n" + report(problems)
    assert phone.keys() == wide.keys(), "the page widened to 800 px shows other display equations than at 390 px?"
    more = [(page, f"{phone[page, i]['lines']} lines at 390 px, {wide[page, i]['lines']} at 800 px: "
                   f"{phone[page, i]['equation']}")
            for page, i in phone if wide[page, i]["lines"] > phone[page, i]["lines"]]
    assert not more, "display equations on more lines in a wider window:\n" + report(more)
    assert any(wide[key]["lines"] < phone[key]["lines"] for key in phone), (
        "widened to 800 px, no display equation is on fewer lines: MathJax did not break them again")


def test_scrolling_display_equations_show_a_cue_and_keep_their_number_on_a_phone(narrow_crawls):
    """At 390 px a display equation still wider than the column (an alignment, see the test above) scrolls in
    its own box, which shows that it continues (its right edge fades out), with its number beside it, in the
    window. One that fits is not faded."""
    equations = [(page, eq) for page, info in narrow_crawls[390].items() for eq in info["displayScrolls"]]
    scrolling = [(page, eq) for page, eq in equations if eq["scrolls"]]
    fitting = [(page, eq) for page, eq in equations if not eq["scrolls"]]
    # MathJax breaks all but a few (4 of 239 scroll, measured): the check needs at least one to look at
    assert scrolling, "no display equation scrolls at 390 px: is the check looking at them?"
    assert fitting, "no display equation fits a phone?"
    assert any(eq["number"] for _, eq in scrolling), "no scrolling equation has a number: is span.eqno still there?"
    problems = []
    for page, eq in scrolling:
        if eq["atStart"] and not eq["cue"]:
            problems.append((page, f"scrolls with no fade at its cut edge ({eq['fade']}): {eq['equation']}"))
        number = eq["number"]
        if number and not (number["width"] > 0 and number["inWindow"] and number["besideFormula"] and number["visible"]):
            problems.append((page, f"its number {number['text']} is out of sight: {eq['equation']} ({number})"))
    problems += [(page, f"fits but is faded ({eq['fade']}): {eq['equation']}") for page, eq in fitting if eq["faded"]]
    assert not problems, "display equations on a phone:\n" + report(problems)


def test_no_inline_formula_overflows_on_a_phone(narrow_crawls):
    """At 390 px every inline formula fits its line: a long one is set as a display formula broken at its
    relations, or written as shorter inline pieces that wrap between them, never cut in a scrolling box."""
    pages = narrow_crawls[390]
    assert sum(info["inlineMath"] for info in pages.values()) >= 500, "hardly any inline formula at 390 px?"
    problems = [(page, formula) for page, info in pages.items() for formula in info["inlineOverflow"]]
    assert not problems, "inline formulas wider than the column at 390 px:\n" + report(problems)


def test_figures_show_their_phone_layout_on_a_phone(crawl, narrow_crawls):
    """At 390 px every SVG figure shows its phone layout (gmmlab.plotting.phone_figure, served by
    tools/sphinx/phone_figures.py in a <picture>): it fits the column without scrolling sideways, and its text,
    drawn at 12 pt (16 px at its natural size), is shown at least 11 px high. At 1280 px the page shows the figure
    as drawn for it. (A figure without a phone layout, a widget's PNG, keeps the fallback
    of static/book_html.css: at least 60% of its size, scrolling sideways.)"""
    shown = [
        (page, image) for page, info in narrow_crawls[390].items() for image in info["images"]
        if image["shownWidth"] > 0 and image["src"].endswith(".svg") and "_images/" in image["src"]
    ]
    assert len(shown) >= 20, f"only {len(shown)} SVG figures shown at 390 px?"
    problems = []
    for page, image in shown:
        name = image["src"].rsplit("/", 1)[-1][:12]
        if not image["phone"] or image["phoneMedia"] != "(max-width: 575.98px)":
            problems.append((page, f"{name}: no phone layout"))
        elif image["currentSrc"].rsplit("/", 1)[-1] != image["phone"].rsplit("/", 1)[-1]:
            problems.append((page, f"{name}: shows {image['currentSrc'][-30:]}, not its phone layout"))
        elif image["boxOverflow"] > 1:
            problems.append((page, f"{name}: scrolls sideways by {image['boxOverflow']} px"))
        elif image["shownWidth"] / image["naturalWidth"] * 16 < 11:
            problems.append((page, f"{name}: drawn {image['naturalWidth']} px wide, shown at {image['shownWidth']:.0f} px, "
                                   f"its 12 pt text at {image['shownWidth'] / image['naturalWidth'] * 16:.1f} px"))
    assert not problems, "figures not in their phone layout at 390 px:\n" + report(problems)
    # (read from the pages loaded at 1280 px: a page widened after loading fetches the other source at its leisure)
    wide = [(page, image) for page, info in crawl.items() for image in info["images"] if image["phone"]]
    assert len(wide) == len(shown)
    assert all(image["currentSrc"].endswith(image["src"].rsplit("/", 1)[-1]) for _, image in wide), \
        "a page at 1280 px shows a phone layout"


def test_code_names_in_tables_are_not_broken_mid_word_on_a_phone(narrow_crawls):
    """At 390 px the introduction's and the instructors' tables keep each code name whole (a table too wide
    scrolls in its box), rather than breaking `n_components` or `nbgrader_config.py` mid-word."""
    pages = narrow_crawls[390]
    assert sum(info["tableCode"] for info in pages.values()) >= 20, "no code in tables at 390 px?"
    problems = {page: info["tableCodeBroken"] for page, info in pages.items() if info["tableCodeBroken"]}
    assert not problems, "code names broken mid-word at 390 px:\n" + report(problems.items())


def test_only_formulas_that_scroll_are_tab_stops(crawl, narrow_crawls):
    """A keyboard reader tabs from link to link, not through every formula (MathJax's menu setting inTabOrder,
    _config.yml; the formula's context menu turns it back on). A formula cut by its box is the exception: the
    keyboard needs a stop there to scroll it (static/book_html.js)."""
    crawls = {1280: crawl, **narrow_crawls}
    assert sum(info["mjxCount"] for info in crawl.values()) >= 100, "the book has hardly any typeset formula?"
    assert sum(info["mathScrolls"] for info in narrow_crawls[390].values()) >= 1, "no formula scrolls at 390 px?"
    problems = []
    for width, pages in crawls.items():
        for page, info in pages.items():
            if info["mathTabStops"]:
                problems.append((f"{page} at {width} px", f"{len(info['mathTabStops'])} of its {info['mjxCount']} "
                                 f"formulas fit but are Tab stops, e.g. {info['mathTabStops'][:3]}"))
            if info["mathScrollNoStop"]:
                problems.append((f"{page} at {width} px", f"{len(info['mathScrollNoStop'])} formulas scroll but are "
                                 f"no Tab stop, e.g. {info['mathScrollNoStop'][:3]}"))
    assert not problems, "formulas in the Tab order:\n" + report(problems)


# The header's controls (sphinx-book-theme's article header) that a keyboard reader must see focused.
HEADER_CONTROLS = {
    "menu toggle": ".bd-header-article button.primary-toggle",
    "launch": ".bd-header-article .dropdown-launch-buttons > button.dropdown-toggle",
    "repository": ".bd-header-article .dropdown-source-buttons > button.dropdown-toggle, "
                  ".bd-header-article a.btn-source-repository-button",
    "download": ".bd-header-article .dropdown-download-buttons > button.dropdown-toggle",
}

# The look of an element's focus indicator: its outline and its box shadow, as computed.
FOCUS_LOOK = """el => { const s = getComputedStyle(el);
    return {outline: s.outlineStyle === 'none' ? 'none' : `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
            outlineWidth: parseFloat(s.outlineWidth) || 0, shadow: s.boxShadow}; }"""


@pytest.mark.parametrize("width", (390, 1280))
def test_header_controls_show_keyboard_focus(site, browser, width):
    """Tabbing through a chapter reaches every header control, and each then shows a focus ring (WCAG 2.4.7):
    an outline of at least 2 px, or a box shadow it does not have unfocused."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    guard = NetworkGuard().attach(context)
    try:
        page = context.new_page()
        page.goto(site + "book/kmeans.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        page.evaluate(WAIT_FOR_MATHJAX)
        controls = {}
        for name, selector in HEADER_CONTROLS.items():
            found = page.locator(selector).filter(visible=True)
            assert found.count() == 1, f"{found.count()} visible {name} controls in the header at {width} px ({selector})"
            controls[name] = found.first
        unfocused = {name: control.evaluate(FOCUS_LOOK) for name, control in controls.items()}
        focused, stops = {}, 0
        while len(focused) < len(controls) and stops < 400:
            page.keyboard.press("Tab")
            stops += 1
            for name, control in controls.items():
                if name not in focused and control.evaluate("el => el === document.activeElement"):
                    focused[name] = control.evaluate(FOCUS_LOOK)
        missing = sorted(set(controls) - set(focused))
        assert not missing, f"the Tab key never reaches {missing} at {width} px ({stops} stops)"
        invisible = {
            name: (unfocused[name], look) for name, look in focused.items()
            if not (look["outlineWidth"] >= 2 and look["outline"] != "none")
            and look["shadow"] in ("none", unfocused[name]["shadow"])
        }
        assert not invisible, f"header controls with no visible focus at {width} px (unfocused, focused): {invisible}"
        guard.check()
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_menu_opens_the_chapter_list_and_reaches_a_chapter(site, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    guard = NetworkGuard().attach(context)
    try:
        page = context.new_page()
        page.goto(site + "book/intro.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        searches = page.locator("button.search-button__button:visible")
        assert searches.count() == 1, f"{searches.count()} search buttons in sight at {width} px"
        toggles = page.locator(".primary-toggle:visible")
        assert toggles.count() == 1, f"{toggles.count()} visible menu buttons at {width} px"
        chapter = page.locator("nav.bd-docs-nav a.reference[href$='kmeans.html']")
        if width >= 1200:
            # On a laptop the chapter list is shown beside the text; the menu button hides and shows it.
            assert chapter.is_visible()
            toggles.first.click()
            chapter.wait_for(state="hidden", timeout=5_000)  # fails with this timeout if the button does not hide it
            page.locator(".primary-toggle:visible").first.click()
        else:
            assert not chapter.is_visible(), "on a small screen the chapter list should start hidden"
            toggles.first.click()
        chapter.wait_for(state="visible", timeout=5_000)
        chapter.click()
        page.wait_for_url("**/book/kmeans.html", timeout=10_000)
        assert "k-means" in page.locator("main h1").first.inner_text()
        guard.check()
    finally:
        context.close()


# ------------------------------------------------------------------------------------- the offline stepper


def test_em_stepper_moves_without_a_kernel(site, guarded_context):
    context, _ = guarded_context
    page, errors = open_page(context, site + "book/em-algorithm.html")
    page.wait_for_load_state("networkidle")
    players = page.locator(".gmmlab-em-player")
    assert players.count() >= 2, "the EM chapter should carry its two steppers"
    for i in range(players.count()):
        player = players.nth(i)
        player.scroll_into_view_if_needed()
        image, status = player.locator("img"), player.locator(".gmmlab-em-status")
        slider = player.locator("input[type=range]")
        last = int(slider.get_attribute("max"))
        assert player.get_attribute("data-iteration") == "0" and "Iteration 0 of" in status.inner_text()
        first_frame = image.get_attribute("src")

        player.get_by_role("button", name="step forward").click()
        assert player.get_attribute("data-iteration") == "1"
        assert "Iteration 1 of" in status.inner_text()
        assert image.get_attribute("src") != first_frame and "iteration 1" in image.get_attribute("alt")

        slider.focus()
        page.keyboard.press("End")  # drag to the end
        final = player.get_attribute("data-iteration")
        assert int(final) >= last and "the last iteration of the run" in status.inner_text()
        assert player.get_by_role("button", name="step forward").is_disabled()

        player.get_by_role("button", name="step back").click()
        assert int(player.get_attribute("data-iteration")) < int(final)

        page.keyboard.press("Home")
        slider.focus()
        page.keyboard.press("Home")
        player.get_by_role("button", name="play").click()  # plays on its own
        page.wait_for_function(
            "el => +el.dataset.iteration >= 2", arg=player.element_handle(), timeout=10_000
        )
        player.get_by_role("button", name="pause").click()
    assert not errors, errors
