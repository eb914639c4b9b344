"""The glossary's notation tables: one per part of the book, each symbol listed once, in the chapter that introduces it.

A row of a table reads ``| $symbol$ | meaning | {doc}`chapter` |``. The checks are mechanical: no symbol is listed
twice (in one table or across the parts), the chapter named belongs to the table's part, and it is the first chapter
of the book, in the order of ``_toc.yml``, whose mathematics contains the symbol.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = (ROOT / "book" / "glossary.md").read_text()
ROW = re.compile(r"^\|\s*\$(?P<symbol>[^$]+)\$\s*\|(?P<meaning>[^|]+)\|\s*\{doc\}`(?P<chapter>[\w-]+)`\s*\|\s*$")
MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+)\$", re.S)


def toc_parts():
    """The numbered parts of _toc.yml as {caption: [chapter, ...]}, in order."""
    parts, current = {}, None
    for line in (ROOT / "_toc.yml").read_text().splitlines():
        caption = re.match(r'\s*- caption:\s*"?([^"]+)"?\s*$', line)
        if caption:
            current = caption.group(1) if caption.group(1).startswith("Part") else None
            if current:
                parts[current] = []
        chapter = re.match(r"\s*- file:\s*book/([\w-]+)\s*$", line)
        if chapter and current:
            parts[current].append(chapter.group(1))
    return parts


def tables():
    """The glossary's notation tables as {heading: [(symbol, chapter), ...]}."""
    found, heading = {}, None
    notation = GLOSSARY.split("(glossary-notation)=", 1)[1]
    for line in notation.splitlines():
        if line.startswith("### "):
            heading = line[4:].strip()
            found[heading] = []
        row = ROW.match(line)
        if row and heading:
            found[heading].append((row.group("symbol").strip(), row.group("chapter")))
    return found


def normalise(tex):
    """Spacing and the braces of \\boldsymbol{\\mu} are not part of a symbol."""
    tex = re.sub(r"\\boldsymbol\{(\\[A-Za-z]+|[A-Za-z])\}", r"\\boldsymbol\1", tex)
    return re.sub(r"\s+", "", tex)


def math_of(chapter):
    """The chapter's mathematics, outside its code cells (whose strings may hold dollar signs)."""
    source = (ROOT / "book" / f"{chapter}.md").read_text()
    source = re.sub(r"^```\{code-cell\}.*?^```\s*$", "", source, flags=re.M | re.S)
    return "$".join(normalise(a or b) for a, b in MATH.findall(source))  # "$" keeps formulas apart


def occurs(symbol, math):
    """Whether the symbol occurs in the math as a whole token, not as part of a longer name (N in \\mathcal{N}, M in M_k)."""
    inside_a_name = "".join(rf"(?<!\\{font}\{{)" for font in ("mathcal", "mathbf", "mathrm", "boldsymbol", "operatorname"))
    pattern = r"(?<![A-Za-z\\])" + inside_a_name + re.escape(normalise(symbol)) + r"(?![A-Za-z_])"
    return re.search(pattern, math) is not None


PARTS = toc_parts()
TABLES = tables()


def test_one_table_per_part():
    assert list(TABLES) == list(PARTS), "the glossary needs one notation table per numbered part, titled as in _toc.yml"
    assert all(TABLES.values()), "an empty notation table"


def test_every_symbol_is_listed_once():
    symbols = [normalise(symbol) for rows in TABLES.values() for symbol, _ in rows]
    repeated = sorted({symbol for symbol in symbols if symbols.count(symbol) > 1})
    assert not repeated, f"listed more than once: {repeated}"


@pytest.mark.parametrize("part", list(PARTS))
def test_each_symbol_is_introduced_where_the_table_says(part):
    order = [chapter for chapters in PARTS.values() for chapter in chapters]
    maths = {chapter: math_of(chapter) for chapter in order}
    for symbol, chapter in TABLES[part]:
        assert chapter in PARTS[part], f"${symbol}$: {chapter} is not a chapter of {part}"
        first = next((c for c in order if occurs(symbol, maths[c])), None)
        assert first == chapter, f"${symbol}$ first occurs in {first}, not in {chapter} as the table says"


def test_the_check_finds_a_symbol_only_as_a_whole_token():
    assert occurs("N", normalise(r"\frac{1}{N}")) and not occurs("N", normalise(r"N_k = \sum_n r_{nk}"))
    assert not occurs("N", normalise(r"\mathcal{N}(\mathbf{x} \mid \boldsymbol\mu, \boldsymbol\Sigma)"))
    assert not occurs("P", normalise(r"\boldsymbol\Psi")) and not occurs("M", normalise(r"\mathbf{M}"))
    assert occurs(r"\boldsymbol\mu_k", normalise(r"\boldsymbol{\mu}_k"))
