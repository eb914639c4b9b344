"""The Examples sections of the package's docstrings are doctests: they must run and print what they show."""

import doctest
import importlib

import pytest

MODULES = ["gmmlab.em", "gmmlab.gaussian", "gmmlab.likelihood", "gmmlab.kmeans", "gmmlab.datasets", "gmmlab._covariances", "gmmlab._dask"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no doctested Examples"
    assert result.failed == 0
