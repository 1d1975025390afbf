"""Fixtures of the contracts tests: the real Syntec series (contracts/data/syntec-index.csv)."""
from pathlib import Path

import pytest

from contracts import services

SYNTEC_CSV = Path(__file__).resolve().parents[2] / "contracts" / "data" / "syntec-index.csv"


def syntec_rows(published_until=None) -> str:
    """The real CSV, optionally cut to the values published on or before ``published_until`` (ISO date)."""
    lines = SYNTEC_CSV.read_text().splitlines()
    keep = [lines[0]] + [row for row in lines[1:] if published_until is None or row.split(",")[2] <= published_until]
    return "\n".join(keep) + "\n"


@pytest.fixture
def syntec(db):
    """Every real Syntec value from 2023-01 to 2025-10."""
    return services.syntec_index_import(actor=None, text=syntec_rows())


def contracts_nightly(day):
    """``run_nightly`` for ``day`` limited to the contracts jobs (other apps' jobs are tested by their owners)."""
    from core.nightly import discover, run_nightly

    names = [job.name for job in discover() if job.name.startswith("contracts.")]
    results = run_nightly(today=day, only=names)
    assert all(r["status"] == "ok" for r in results), results
    return {r["job"]: r["result"] for r in results}
