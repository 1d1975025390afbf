"""Scale benchmark (issue #11): a synthetic MSP built with bulk inserts, then timed.

- :mod:`bench.builders`: the synthetic data set (:func:`bench.builders.build_msp`), sized by :class:`Sizes`.
- :mod:`bench.measure`: nightly jobs, PDFs, backup-report ingestion, admin and portal list pages, floors.
- :mod:`bench.load`: HTTP load with ``wrk`` against gunicorn on loopback.
- :mod:`bench.report`: the table printed and written to ``docs/benchmarks.md``.

Entry point: ``python manage.py bench`` (``make bench``); see docs/benchmarks.md, "Scale benchmark".
"""
