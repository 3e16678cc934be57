"""wfdb, imported once with the pandas deprecation warnings its own import raises silenced.

wfdb (4.3) builds its annotation tables with ``DataFrame.set_index(..., inplace=True)`` at
import time, deprecated in pandas 3.1: two ``Pandas4Warning``s that a user can do nothing
about. Every module of the package imports wfdb from here, so the first import is the
quiet one. Warnings raised later, while reading records, are filtered where records are
read (:func:`beatdetect.datasets.wfdb_io._quiet_wfdb`).
"""

from __future__ import annotations

import warnings

try:
    from pandas.errors import Pandas4Warning as PandasFutureWarning
except ImportError:  # older pandas do not warn about wfdb's calls
    PandasFutureWarning = None

with warnings.catch_warnings():
    if PandasFutureWarning is not None:
        warnings.filterwarnings("ignore", category=PandasFutureWarning, module=r"wfdb(\.|$)")
    import wfdb
    import wfdb.processing

__all__ = ["PandasFutureWarning", "wfdb"]
