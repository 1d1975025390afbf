"""The benchmark never writes into a database that is not a benchmark one, and only rewrites its own block."""
import pytest

from bench import db, report, runner


@pytest.mark.parametrize("name", ["mis", "mis_backoffice", "/work/main/var/db.sqlite3"])
def test_the_benchmark_refuses_other_databases(monkeypatch, name):
    monkeypatch.setattr(runner, "database_name", lambda: name)
    with pytest.raises(runner.BenchRefused, match="bench"):
        runner.check_database()


@pytest.mark.parametrize("name", ["mis_bench", "mis_bench_small", "test_mis_bench", ":memory:"])
def test_benchmark_and_test_databases_are_accepted(monkeypatch, name):
    monkeypatch.setattr(runner, "database_name", lambda: name)
    runner.check_database()


def test_make_bench_refuses_to_recreate_another_database(tmp_path):
    with pytest.raises(SystemExit, match="must contain 'bench'"):
        db.recreate("postgres://postgres@127.0.0.1:5432/mis")
    sqlite = tmp_path / "mis_bench.sqlite3"
    sqlite.write_text("old")
    assert db.recreate(f"sqlite:///{sqlite}") == str(sqlite)
    assert not sqlite.exists()


def test_report_rewrites_only_its_block(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\n## billing\n\nkept\n")
    report.write(path, "first table\n")
    report.write(path, "second table\n")
    text = path.read_text()
    assert text.count(report.START) == 1 and "first table" not in text
    assert text.startswith("# Benchmarks\n\n## billing\n\nkept\n\n## Scale benchmark\n\n<!-- bench:start -->\nsecond table\n")
