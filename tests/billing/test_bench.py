"""Billing benchmarks, skipped unless ``BILLING_BENCH=1`` (they create 10,000 contracts).

``BILLING_BENCH=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/mis_billing .venv/bin/pytest
tests/billing/test_bench.py -s -p no:cacheprovider`` — figures in docs/benchmarks.md ("## billing").
"""
import logging
import os

import pytest

from billing.bench import bench_pdf, bench_recurring
from tests.factories.contracts import ClientFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(os.environ.get("BILLING_BENCH") != "1", reason="benchmark: set BILLING_BENCH=1"),
]


def test_bench_monthly_run_of_10000_contracts(provider):
    result = bench_recurring(contracts=int(os.environ.get("BILLING_BENCH_CONTRACTS", "10000")))
    print("\nrecurring:", result)
    assert result["issued"] == result["contracts"] and result["gapless"]


def test_bench_warm_pdf_rendering(provider):
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    result = bench_pdf(client=ClientFactory())
    print("\npdf:", result)
