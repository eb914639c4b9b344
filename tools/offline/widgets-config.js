// Loaded between require.js and the widget manager (embed-amd.js) on pages with widgets (_config.yml,
// nb_ipywidgets_js). The widget manager loads its fonts from beside the URL that require.js gives its
// modules; without this that is the page's own folder, where they are not. Point it at _vendor/html-manager/,
// found from this script's own URL, so the same build works at any depth and under any host.
(function () {
  var vendor = document.currentScript.src.replace(/[^/]*$/, "");
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": vendor + "html-manager" } });
})();
