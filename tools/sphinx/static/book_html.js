// Figures wider than the text column (multi-panel figures, every figure on a phone) are shown scaled down;
// a click or tap opens the figure itself (SVG) at full size, where the browser zooms it freely.
document.addEventListener("DOMContentLoaded", () => {
  for (const img of document.querySelectorAll("main .cell_output img, main figure img")) {
    if (img.closest("a") || !img.getAttribute("src")) continue;
    const link = document.createElement("a");
    link.href = img.getAttribute("src");
    link.className = "figure-enlarge";
    link.title = "Open the figure at full size";
    img.replaceWith(link);
    link.append(img);
  }
});
