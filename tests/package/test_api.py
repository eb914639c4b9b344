"""One public API: gmmlab's table (``gmmlab._API``), its ``__all__``, its modules and the API page agree.

Every public name is documented on the API page (book/api.md) and every documented name is public; every public
module imports without the instructor tools; every public function documents its parameters and result in
numpydoc form.
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import gmmlab

ROOT = Path(__file__).resolve().parents[2]
DIRECTIVE = re.compile(r"^\.\. auto(?:function|class|exception|data)::\s+(\S+)", re.MULTILINE)


def public_names():
    """{dotted public name} from gmmlab's table: gmmlab.NAME for exported names, gmmlab.MODULE.NAME for the rest."""
    names = set()
    for module, (exported, own) in gmmlab._API.items():
        names |= {f"gmmlab.{name}" for name in exported} | {f"gmmlab.{module}.{name}" for name in own}
    return names


def resolve(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_all_is_the_table_and_every_name_resolves():
    assert gmmlab.__all__ == sorted(n for exported, _ in gmmlab._API.values() for n in exported)
    for dotted in public_names():
        assert resolve(dotted) is not None, dotted
    for module, (exported, _) in gmmlab._API.items():
        for name in exported:  # exported from the module the table names, so the docs find it there too
            assert getattr(importlib.import_module(f"gmmlab.{module}"), name) is getattr(gmmlab, name), name


def test_the_api_page_documents_exactly_the_public_names():
    documented = set(DIRECTIVE.findall((ROOT / "book" / "api.md").read_text()))
    assert documented - public_names() == set(), "documented but not in gmmlab._API (private or unknown)"
    assert public_names() - documented == set(), "public (in gmmlab._API) but not on the API page"
    assert not [d for d in documented if any(part.startswith("_") for part in d.split("."))]


@pytest.mark.parametrize("module", sorted(gmmlab._API))
def test_every_public_definition_of_a_public_module_is_in_the_table(module):
    """A function or class a public module defines without a leading underscore is public: it is listed."""
    tree = ast.parse((ROOT / "gmmlab" / f"{module}.py").read_text())
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
               and not node.name.startswith("_")}
    exported, own = gmmlab._API[module]
    assert defined - set(exported) - set(own) == set(), f"gmmlab.{module}: make these private or list them"


def _public_functions():
    for dotted in sorted(public_names()):
        value = resolve(dotted)
        if inspect.isfunction(value):
            yield pytest.param(value, id=dotted)


@pytest.mark.parametrize("function", list(_public_functions()))
def test_public_functions_are_documented_in_numpydoc_form(function):
    doc = inspect.getdoc(function) or ""
    assert "Parameters\n----------\n" in doc or not inspect.signature(function).parameters, "no Parameters section"
    assert re.search(r"\n(Returns|Yields)\n-+\n", doc), "no Returns section"
    if inspect.signature(function).parameters:
        block = doc.split("Parameters\n----------\n")[1].split("\n\n")[0]
        documented = [n.strip() for line in block.splitlines() if " : " in line and not line[0].isspace()
                      for n in line.split(" : ")[0].split(",")]
        accepted = [p.name if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) else f"{'**' if p.kind == p.VAR_KEYWORD else '*'}{p.name}"
                    for p in inspect.signature(function).parameters.values()]
        assert documented == accepted, f"documented {documented}, the signature has {accepted}"
