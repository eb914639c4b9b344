"""The Examples sections of the package's docstrings are doctests: they must run and print what they show."""

import doctest
import importlib

import pytest

MODULES = ["gmmlab.em", "gmmlab.gaussian", "gmmlab.likelihood", "gmmlab.kmeans", "gmmlab.datasets", "gmmlab._covariances",
           "gmmlab.bernoulli", "gmmlab.map_em",
           "gmmlab.gradient", "gmmlab.latent_gaussian", "gmmlab._dask"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctested Examples"
    assert result.failed == 0


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
