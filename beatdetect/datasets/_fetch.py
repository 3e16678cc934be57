"""Downloading PhysioNet databases into the data home with ``wfdb.dl_database``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from ..exceptions import DataNotFoundError
from ._home import removed_if_empty_on_failure
from ._wfdb import wfdb


def fetch_physionet_records(
    database: str,
    folder: Path,
    records: Sequence[str],
    *,
    annotators: Sequence[str] = ("atr",),
    verbose: bool = True,
) -> None:
    """Download ``records`` of PhysioNet ``database`` (e.g. ``"mitdb"``) into ``folder``.

    One ``wfdb.dl_database`` call per record so that a progress bar can count records (wfdb
    itself shows none) and an interrupted download keeps the records already fetched.
    """
    with removed_if_empty_on_failure(folder):  # a failed first download leaves no folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DataNotFoundError(
                f"Cannot create {folder} to download PhysioNet database {database!r} into: "
                f"{err}. Point data_home at a writable folder."
            ) from err
        for record in tqdm(
            records, desc=f"Downloading {database}", unit="record", disable=not verbose
        ):
            try:
                wfdb.dl_database(
                    database, str(folder), records=[record], annotators=list(annotators)
                )
            except Exception as err:  # network and HTTP errors: requests, urllib3, ...
                raise DataNotFoundError(
                    f"Could not download record {record!r} of PhysioNet database "
                    f"{database!r} into {folder}: {type(err).__name__}: {err}. Check the "
                    "connection, or copy the database there yourself."
                ) from err
