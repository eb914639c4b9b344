"""The package's docstrings: their Examples are doctests (pytest runs every module's with --doctest-modules, see
pyproject.toml), and every teaching module shows one."""

import importlib
import re
from pathlib import Path

import pytest

import gmmlab

PACKAGE = Path(gmmlab.__file__).parent


def test_doctests_run_over_the_whole_package(pytestconfig):
    """No list of modules to forget: the configuration collects every module of gmmlab for its doctests."""
    assert pytestconfig.getini("addopts").count("--doctest-modules") == 1
    assert "gmmlab" in pytestconfig.getini("testpaths")


@pytest.mark.parametrize("module", sorted(m for m in gmmlab._API if m not in {"plotting", "widgets", "chunked"}))
def test_every_teaching_module_shows_an_example(module):
    """Plots, widgets and the re-exported chunk maths aside, each public module's functions are shown at work."""
    assert re.search(r"^\s*>>> ", (PACKAGE / f"{module}.py").read_text(), re.MULTILINE), f"gmmlab.{module} has no Examples"


def test_covariance_helpers_are_documented_in_numpydoc_form():
    """Every function of gmmlab._covariances documents each parameter and its result, and cites the book."""
    import inspect

    module = importlib.import_module("gmmlab._covariances")
    functions = [f for _, f in inspect.getmembers(module, inspect.isfunction) if f.__module__ == module.__name__]
    assert len(functions) >= 9
    for function in functions:
        doc = inspect.getdoc(function)
        sections = {name: f"{name}\n{'-' * len(name)}\n" in doc for name in ("Parameters", "Returns", "Examples")}
        assert all(sections.values()), f"{function.__name__}: missing {[k for k, v in sections.items() if not v]}"
        parameters = doc.split("Parameters\n----------\n")[1].split("\n\n")[0]
        documented = [line.split(" : ")[0] for line in parameters.splitlines() if " : " in line and not line[0].isspace()]
        assert documented == list(inspect.signature(function).parameters), function.__name__
        assert ":eq:`eq-" in doc, f"{function.__name__} cites no equation of the book"
