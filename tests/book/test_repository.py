"""Checks that keep the book, the package and the repository consistent with each other."""

import inspect
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

import gmmlab

ROOT = Path(__file__).resolve().parents[2]
LABEL_DEFINITION = re.compile(r"\$\$\s*\((eq-[a-z0-9-]+)\)")
CITATION = re.compile(r":eq:`(eq-[a-z0-9-]+)`")

# The teaching functions: each must cite the equation it implements.
TEACHING = [
    "e_step", "m_step", "n_k", "lower_bound", "run_em", "log_joint", "log_likelihood", "logsumexp",
    "gaussian_log_pdf", "kmeans", "assign_clusters", "update_centers", "kmeans_objective", "sample_mixture",
    "bernoulli_log_pmf", "bernoulli_e_step", "bernoulli_m_step", "bernoulli_log_likelihood", "run_bernoulli_em",
    "log_prior", "penalised_log_likelihood", "map_m_step", "run_map_em",
]  # fmt: skip


def book_labels():
    labels = Counter()
    for page in (ROOT / "book").glob("*.md"):
        labels.update(LABEL_DEFINITION.findall(page.read_text()))
    return labels


def cited_labels():
    cited = {}
    for module in (ROOT / "gmmlab").glob("*.py"):
        for label in CITATION.findall(module.read_text()):
            cited.setdefault(label, module.name)
    return cited


def test_every_equation_a_docstring_cites_is_in_the_book():
    defined = book_labels()
    missing = {label: module for label, module in cited_labels().items() if label not in defined}
    assert not missing, f"cited in gmmlab but defined in no chapter: {missing}"


def test_every_equation_label_is_defined_once():
    duplicated = [label for label, count in book_labels().items() if count > 1]
    assert not duplicated


@pytest.mark.parametrize("name", TEACHING)
def test_teaching_functions_cite_their_equation(name):
    assert CITATION.search(inspect.getdoc(getattr(gmmlab, name))), f"gmmlab.{name} cites no book equation"


def test_api_reference_documents_every_public_name():
    api = (ROOT / "book" / "api.md").read_text()
    undocumented = [name for name in gmmlab.__all__ if f"gmmlab.{name}" not in api]
    assert not undocumented


def tracked(pattern):
    out = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.split()]


def test_committed_notebooks_carry_no_outputs():
    dirty = []
    for path in tracked("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        if any(c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count")) for c in cells):
            dirty.append(str(path.relative_to(ROOT)))
    assert not dirty


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make book" in readme


def test_every_chapter_in_the_book_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    pages = [p.stem for p in (ROOT / "book").glob("*.md")]
    assert [p for p in pages if f"book/{p}" not in toc] == []
