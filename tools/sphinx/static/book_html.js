// Figures wider than the text column (multi-panel figures, every figure on a phone) are shown scaled down;
// a click or tap opens the figure itself (SVG) at full size, where the browser zooms it freely.
document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll("main .cell_output img, main figure img")) {
    if (img.closest("a") || !img.getAttribute("src")) continue;
    const link = document.createElement("a");
    link.href = img.getAttribute("src");
    link.className = "figure-enlarge";
    link.title = "Open the figure at full size";
    // A figure with a phone layout (tools/sphinx/phone_figures.py) is a <picture>: the link goes around it,
    // and opens the full layout.
    const shown = img.parentElement.matches("picture") ? img.parentElement : img;
    shown.replaceWith(link);
    link.append(shown);
    // An SVG's natural width is its size as drawn (text at the size the figure was made with). A figure without
    // a phone layout is kept on a phone at no less than a fixed share of that (the stylesheet), so a
    // multi-panel figure's labels stay legible and the figure scrolls sideways in its link instead.
    if (shown === img && /\.svg$|^data:image\/svg/.test(img.getAttribute("src"))) {
      const natural = () => img.naturalWidth && img.style.setProperty("--gmmlab-natural-width", `${img.naturalWidth}px`);
      if (img.complete) natural();
      else img.addEventListener("load", natural, {once: true});
    }
  }
});

// MathJax breaks a display formula wider than its column into lines (_config.yml: output.displayOverflow) when it
// typesets it, at the column's width then. When the window's width changes (a phone turned, a window widened),
// the formulas are typeset again from their measuring step, so that they are broken for the new width: once
// the resizing has stopped for a moment (a window dragged wider fires many resize events), and one typesetting
// after another.
//
// Formulas are out of the Tab order (_config.yml: MathJax's menu setting inTabOrder), except a formula that is
// still cut and scrolls in its box (one MathJax could not break, a row of an aligned block): the keyboard needs a
// stop there to scroll it (WCAG 2.1.1). Which formulas scroll depends on the width, so this is redone after each
// typesetting. The attribute is set on MathJax's container, as MathJax itself does; data-gmmlab-scroll-stop marks
// the ones set here and keeps the value MathJax gave. When done, the page's root gets data-gmmlab-math="ready"
// (the browser tests wait for it); while the formulas are typeset again for a new width, it is "resizing".
(() => {
  if (!document.querySelector('script[src*="tex-mml-chtml"]')) return;
  const root = document.documentElement;
  const updateStops = () => {
    for (const container of document.querySelectorAll("mjx-container")) {
      const scroller = container.matches("div.math > mjx-container") ? container : container.closest("span.math");
      if (!scroller) continue;
      if (scroller.scrollWidth > scroller.clientWidth) {
        // MathJax 4 keeps a formula out of the Tab order with tabindex="-1" (it still takes focus on a click)
        if (container.tabIndex < 0) {
          container.dataset.gmmlabScrollStop = container.getAttribute("tabindex") || "";
          container.setAttribute("tabindex", "0");
        }
      } else if ("gmmlabScrollStop" in container.dataset) {
        const before = container.dataset.gmmlabScrollStop;
        if (before) container.setAttribute("tabindex", before);
        else container.removeAttribute("tabindex");
        delete container.dataset.gmmlabScrollStop;
      }
    }
    root.dataset.gmmlabMath = "ready";
  };
  // MathJax measures the room a display formula has with a test element it puts into the formula's div.math,
  // which lays out its children in a row: the test element got a share of the row, as little as a few pixels,
  // and the formulas were broken at every relation, even at 1280 px. static/book_html.css takes the test element
  // out of the row and makes it as wide as the row less the room the equation's number takes (its width and the
  // gap before it), which is set here, before MathJax typesets (it waits for the page to be read; this script
  // runs before that) and again before each typesetting for a new width.
  const reserveNumbers = () => {
    for (const number of document.querySelectorAll("div.math > span.eqno")) {
      const row = number.parentElement;
      const room = number.getBoundingClientRect().width + (parseFloat(getComputedStyle(row).columnGap) || 0);
      row.style.setProperty("--gmmlab-eqno-room", `${room}px`);
    }
  };
  reserveNumbers();
  // measured once MathJax's fonts are in: before, the formulas are laid out with other widths
  const measured = () => document.fonts.ready.then(updateStops);
  // the window's width the formulas were last broken for (read before MathJax's first typesetting starts)
  let width = window.innerWidth;
  // the last typesetting, which the next one waits for: first MathJax's own, once it has loaded
  let typeset = new Promise((resolve) => {
    const started = () => {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) resolve(MathJax.startup.promise.then(measured));
      else setTimeout(started, 50);
    };
    started();
  });
  const rebreak = () => {
    if (window.innerWidth === width) return measured();  // only the height changed: the breaks stand
    width = window.innerWidth;
    reserveNumbers();
    const {STATE} = MathJax._.core.MathItem;
    return MathJax.startup.document.rerenderPromise(STATE.METRICS).then(measured);
  };
  let timer = 0;
  window.addEventListener("resize", () => {
    root.dataset.gmmlabMath = "resizing";
    clearTimeout(timer);
    timer = setTimeout(() => {
      // a failure is reported, and the next width typesets again
      typeset = typeset.then(rebreak).catch((error) => { console.error(error); width = null; return measured(); });
    }, 150);
  });
})();

// Search snippets are the text of a page around the words found (Sphinx's searchtools.js, Search.htmlToText,
// reads the page's HTML as served): formulas came out as raw TeX, and the header's buttons, the toggles of
// hidden code and the page's side and foot navigation as their labels. Formulas become an ellipsis, and the
// page's controls are left out, before Sphinx takes the text. Patched once the page's scripts have run, before
// the search (which waits for the search index) reads any page.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const pageToText = Search.htmlToText;
  const controls = ".bd-header-article, .bd-sidebar-secondary, .prev-next-area, .bd-footer-article, " +
    "button, summary, .headerlink";
  Search.htmlToText = (htmlString, anchor) => {
    const html = new DOMParser().parseFromString(htmlString, "text/html");
    html.querySelectorAll(controls).forEach((element) => element.remove());
    html.querySelectorAll("span.math, div.math").forEach((formula) => formula.replaceWith(" … "));
    return pageToText(html.documentElement.outerHTML, anchor);
  };
});
