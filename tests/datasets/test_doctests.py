"""The Examples sections of the data layer really run (synthetic data only)."""

import doctest
import importlib
import pkgutil

import pytest

import beatdetect.datasets

PACKAGE = beatdetect.datasets
MODULES = sorted(f"{PACKAGE.__name__}.{m.name}" for m in pkgutil.iter_modules(PACKAGE.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
