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

// Formulas are out of the Tab order (_config.yml: MathJax's menu setting inTabOrder), except a formula that is
// cut and scrolls in its box: the keyboard needs a stop there to scroll it (WCAG 2.1.1). Which formulas scroll
// depends on the width of the window, so this is redone when it changes. The attribute is set on MathJax's
// container, as MathJax itself does; data-gmmlab-scroll-stop marks the ones set here. When done, the page's
// root gets data-gmmlab-math="ready" (the browser tests wait for it).
(() => {
  if (!document.querySelector('script[src*="tex-mml-chtml"]')) return;
  const update = () => {
    for (const container of document.querySelectorAll("mjx-container")) {
      const scroller = container.matches("div.math > mjx-container") ? container : container.closest("span.math");
      if (!scroller) continue;
      if (scroller.scrollWidth > scroller.clientWidth) {
        if (!container.hasAttribute("tabindex")) {
          container.setAttribute("tabindex", "0");
          container.dataset.gmmlabScrollStop = "";
        }
      } else if ("gmmlabScrollStop" in container.dataset) {
        container.removeAttribute("tabindex");
        delete container.dataset.gmmlabScrollStop;
      }
    }
    document.documentElement.dataset.gmmlabMath = "ready";
  };
  const whenTypeset = () => {
    // measured once MathJax's fonts are in: before, the formulas are laid out with other widths
    if (window.MathJax && MathJax.startup && MathJax.startup.promise)
      MathJax.startup.promise.then(() => document.fonts.ready).then(update);
    else setTimeout(whenTypeset, 50);
  };
  whenTypeset();
  let frame = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(update);
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
