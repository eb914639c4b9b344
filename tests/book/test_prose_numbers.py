"""No computed number is typed into the book's prose.

The introduction promises that every number on a page comes from the code on that page. A decimal number
written in prose (outside code, roles and directive options, but including a figure's caption) must therefore be either glued
(``{glue:text}`` and friends, which this scan masks like any other role) or a published figure quoted from
a source, marked by "(quoted" in the same sentence. Formulas count as prose: a worked sum such as
``$(1 + 3)/2 = 2.5$`` or a stated parameter such as ``$\\sigma^2 = 0.2$`` is glued whole, as MyST from the
code (``{glue:md}`key:myst```), so the page cannot drift from the code it runs. Integers are not checked
(most are counts and labels that no code computes); chapters back computed integers with glue.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "book").glob("*.md"))

# Fenced blocks whose body is not prose: code cells and code blocks, math, raw reST, included files.
NOT_PROSE = {"code-cell", "code-block", "code", "eval-rst", "literalinclude", "bibliography"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(\{([\w:-]+)\}|[\w+-]*)")
MASKS = [
    re.compile(r"\\\$"),  # an escaped dollar is not math
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # roles: glue, eq, doc, ref, numref, cite, func, term ...
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"\]\([^)\s]*\)"),  # a link's target
    re.compile(r"<https?://[^>]*>|https?://\S+"),  # bare addresses
    re.compile(r"<!--.*?-->", re.S),  # comments
]
NUMBER = re.compile(r"(?<![\w.])[-+−]?(?:\d+\.\d+|\.\d+|\d+(?:\.\d+)?[eE][-+−]?\d+)(?![\w.]*\w)")
# "section 9.2", "equation (9.23)", "figure 11.4", "version 1.3": references and versions, not results.
REFERENCE = re.compile(
    r"(?:section|sections|chapter|chapters|equation|equations|eq\.|figure|figures|example|exercise|table|"
    r"§|version|python|jupyter book|jupyter-book|sphinx|numpy|scikit-learn)\s*\(?"
    r"(?:[\d.]+(?:,\s*|\s+and\s+|\s*[-–]\s*))*$",  # "sections 11.1 and 11.4", "sections 9.2-9.4"
    re.I,
)


CAPTION = re.compile(r"^:(\s*)(caption:\s*\|?)?(.*)$")


def prose(source):
    """The page with everything that is not prose blanked out by spaces, so offsets still point into the page."""
    lines = source.split("\n")
    keep = [True] * len(lines)
    if lines and lines[0] == "---":  # front matter
        end = lines.index("---", 1)
        keep[: end + 1] = [False] * (end + 1)
    stack = []  # open fences as (marker, skipped?)
    caption_indent = None  # a cell's figure caption (":    caption: |" and its deeper lines) is prose
    for i, line in enumerate(lines):
        if not keep[i]:
            continue
        option = CAPTION.match(line)
        if option and option.group(2):
            caption_indent = len(option.group(1))
        elif caption_indent is not None and option and len(option.group(1)) > caption_indent:
            pass
        else:
            caption_indent = option = None
        if option:
            lines[i] = " " * option.start(3) + line[option.start(3) :]
            continue
        stripped = line.strip()
        fence = FENCE.match(line)
        skipping = any(skip for _, skip in stack)
        if fence and stack and stripped == stack[-1][0][0] * len(stripped) and len(stripped) >= len(stack[-1][0]):
            stack.pop()
            keep[i] = False
            continue
        if fence and not skipping:
            name = fence.group(3) or fence.group(2)
            stack.append((fence.group(1), fence.group(3) is None or name in NOT_PROSE))
            keep[i] = bool(fence.group(3)) and name not in NOT_PROSE  # a directive's argument is prose (a title)
            if keep[i]:
                lines[i] = " " * fence.end() + line[fence.end() :]
            continue
        if skipping:
            keep[i] = False
            continue
        if re.match(r"^\s*:[\w-]+:", line) or re.match(r"^\s*\(.*\)=\s*$", line):  # options, labels
            keep[i] = False
    text = "\n".join(line if k else " " * len(line) for line, k in zip(lines, keep))
    for mask in MASKS:
        text = mask.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    return text


def sentence_around(text, start, end):
    """The sentence (or paragraph, at most) in which text[start:end] stands."""
    left = max(text.rfind("\n\n", 0, start), *(text.rfind(s, 0, start) for s in (". ", ".\n", "? ", "! ")))
    right = [p for p in (text.find(s, end) for s in (". ", ".\n", "\n\n")) if p >= 0]
    return text[left + 1 : min(right) if right else len(text)]


def typed_numbers(source):
    text = prose(source)
    for match in NUMBER.finditer(text):
        if REFERENCE.search(text[max(0, match.start() - 40) : match.start()]):
            continue
        if "(quoted" in sentence_around(text, match.start(), match.end()):
            continue
        yield text.count("\n", 0, match.start()) + 1, match.group()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_typed_decimal_numbers_in_prose(page):
    hits = [f"book/{page.name}:{line}: {number}" for line, number in typed_numbers(page.read_text())]
    assert not hits, "glue these numbers, or mark quoted figures '(quoted)':\n" + "\n".join(hits)


def test_the_scan_sees_prose_and_only_prose():
    source = "\n".join([
        "---", "title: 0.5", "---",
        "A typed 0.25 and 1e-3, $-28.3$ and $x \\approx 4.5$.",
        "Glued {glue:text}`km-x:.2f`, math $x = 0.3$ and", "$$", "y = 0.4", "$$ (eq-y)",
        "```{code-cell} ipython3", ":tags: [remove-cell]", "z = 0.6", "```",
        "```{exercise} Round 2.5", ":label: ex-0.7", "Within an exercise, 0.8.", "```",
        "The textbook prints 28.31 (quoted). Sections 9.2 and 9.3 of it. A [link](https://x.org/v1.2/).",
        "```{code-cell} ipython3", ":mystnb:", ":  figure:", ":    caption: |", ":      Variance 0.2 fixed.",
        ":    name: fig-1.5", ":  image:", ":    alt: a peak of 0.3", "x = 0.9", "```",
    ])  # fmt: skip
    assert list(typed_numbers(source)) == [
        (4, "0.25"), (4, "1e-3"), (4, "-28.3"), (4, "4.5"), (5, "0.3"), (7, "0.4"), (13, "2.5"), (15, "0.8"), (22, "0.2")
    ]  # fmt: skip
