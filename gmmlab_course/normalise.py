"""Awkward submissions, put back into the shape of the released notebook before they are graded.

Students duplicate, split, move and retype cells, and editors regenerate cell ids, save old nbformat versions or
drop nbgrader's metadata. nbgrader then crashes or scores the notebook 0. Here every answer is matched back to its
answer cell, by its nbgrader ``grade_id`` or, when the metadata is lost, by the function the code defines, and
the notebook is rebuilt on the released one: each answer cell holds all the code the student wrote for it (in
notebook order, so the last definition wins, as when the student runs all cells), given and test cells are the
released ones, and every other cell the student wrote is kept after the cell it followed.
"""

import ast
import copy

import nbformat


def _meta(cell):
    # a submission's metadata is the student's: it may be missing, null or of any type, which nbgrader.utils'
    # readers (written for notebooks nbgrader made) do not expect
    meta = cell.get("metadata", {})
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def _defined(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def normalise(nb, release_path):
    """(the rebuilt notebook, a list of what was repaired) for submission ``nb`` of the released notebook."""
    release = nbformat.read(str(release_path), as_version=4)
    skeleton = [cell for cell in release.cells if _meta(cell).get("grade_id")]
    by_id = {_meta(cell)["grade_id"]: cell for cell in skeleton}
    answers = {gid: [] for gid, cell in by_id.items() if _meta(cell).get("solution")}
    by_function = {}
    for gid in answers:
        if by_id[gid].cell_type == "code":
            for name in _defined(_text(by_id[gid])):
                by_function.setdefault(name, gid)
    by_source = {_text(cell).strip(): gid for gid, cell in by_id.items() if gid not in answers}
    order = list(by_id)
    release_index = {id(cell): i for i, cell in enumerate(release.cells)}
    free_texts = {_text(c).strip(): i for i, c in enumerate(release.cells) if not _meta(c).get("grade_id")}
    extras = {None: []}
    report, anchor, position = [], None, -1  # the last matched cell: its grade_id, and its index in the release
    seen = set()

    for cell in nb.get("cells", []):
        kind, text, gid = cell.get("cell_type"), _text(cell), _meta(cell).get("grade_id")
        if kind not in ("code", "markdown", "raw"):
            continue
        if gid in by_id:
            if kind != by_id[gid].cell_type:  # retyped (say, code turned into markdown): it keeps its released type
                report.append(f"cell {gid!r} was retyped to {kind} and is graded as {by_id[gid].cell_type}")
            if gid in seen:
                report.append(f"cell {gid!r} appears more than once")
            seen.add(gid)
            if gid in answers:
                answers[gid].append(text)
            anchor, position = gid, release_index[id(by_id[gid])]
            continue
        if gid is not None:
            report.append(f"cell with unknown grade_id {gid!r} kept as an ordinary cell")
        defined = [by_function[name] for name in _defined(text) if name in by_function] if kind == "code" else []
        written = _written_answer_at(position + 1, release, answers)
        if defined:
            answers[defined[0]].append(text)
            report.append(f"code without nbgrader metadata matched to answer {defined[0]!r} by the function it defines")
            anchor, position = defined[0], release_index[id(by_id[defined[0]])]
        elif text.strip() in by_source:
            anchor = by_source[text.strip()]
            seen.add(anchor)
            position = release_index[id(by_id[anchor])]
        elif text.strip() in free_texts:  # the student's copy of a released text or code cell
            position = free_texts[text.strip()]
            extras.setdefault(anchor, []).append(cell)
        elif kind == "markdown" and written:
            answers[written].append(text)
            report.append(f"text without nbgrader metadata taken as the written answer {written!r}")
            anchor, position = written, release_index[id(by_id[written])]
        else:
            extras.setdefault(anchor, []).append(cell)

    for gid in by_id:
        if gid not in seen and gid not in answers:
            report.append(f"cell {gid!r} was missing and is restored")
    cells = [_plain(cell) for cell in extras[None]]
    for gid in order:
        cell = copy.deepcopy(by_id[gid])
        if gid in answers and answers[gid]:
            cell.source = "\n\n".join(answers[gid])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        cells.extend(_plain(extra) for extra in extras.get(gid, []))
    rebuilt = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(release.metadata))
    for index, cell in enumerate(rebuilt.cells):
        cell["id"] = f"cell-{index}"
    return rebuilt, report


def _written_answer_at(index, release, answers):
    """The written-answer cell at ``index`` of the release, if the student has not answered it yet."""
    if 0 <= index < len(release.cells):
        cell = release.cells[index]
        gid = _meta(cell).get("grade_id")
        if gid in answers and cell.cell_type == "markdown" and not answers[gid]:
            return gid
    return None


def _plain(cell):
    """A student's own cell, kept without any nbgrader metadata or outputs."""
    if cell.get("cell_type") == "code":
        return nbformat.v4.new_code_cell(_text(cell))
    if cell.get("cell_type") == "raw":
        return nbformat.v4.new_raw_cell(_text(cell))
    return nbformat.v4.new_markdown_cell(_text(cell))
