"""Every Examples section in beatdetect's docstrings really runs (synthetic data only).

Examples that need the MIT-BIH files or a GPU are marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import beatdetect

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(beatdetect.__path__, prefix="beatdetect.")
    if not m.name.endswith("__main__")  # importing it runs the command line
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
