"""scripts/backup.sh + scripts/restore.sh: back up, restore into a fresh database, compare (issue #12).

Each variant runs the real scripts in subprocesses against databases of its own (never the test
database): a migrated source with clients, issued invoices and their PDFs (media), a backup, a
restore into a new empty database and a new media folder, then the row count of every table, the
invoice totals and the media bytes are compared.
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = """
import datetime
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from tests.factories.core import ProviderProfileFactory
from tests.factories.contracts import ClientFactory
from tests.factories.payments import issued_invoice
ProviderProfileFactory()
for i in range(3):
    issued_invoice(client=ClientFactory(name=f"Client {i}"), today=datetime.date(2026, 3, 2), amount_ht=f"{100 + i}.10")
default_storage.save("contracts/signed/cgv-client-0.pdf", ContentFile(b"%PDF-1.4 signed copy"))
"""
TOTALS = (
    "from django.db.models import Sum; from billing.models import Invoice; "
    "print(Invoice.objects.count(), f\"{Invoice.objects.aggregate(s=Sum('total_ttc'))['s']:.2f}\")"
)


def _env(tmp_path: Path, database_url: str, media: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "SECRET_KEY", "DEBUG"}}
    env.update(
        DATABASE_URL=database_url, MEDIA_ROOT=str(media), VAR_DIR=str(tmp_path / "var"), PYTHON=sys.executable,
        CELERY_TASK_ALWAYS_EAGER="True", CELERY_BROKER_URL="memory://", DJANGO_SETTINGS_MODULE="mis_backoffice.settings",
    )
    env.pop("REDIS_URL", None)
    return env


def _run(args, env, check=True):
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _manage(env, *args):
    return _run([sys.executable, "manage.py", *args], env).stdout


def _shell(env, code):
    return _manage(env, "shell", "--no-imports", "-c", code).strip().splitlines()[-1]


def _round_trip(tmp_path: Path, source_url: str, target_url: str):
    src_env = _env(tmp_path, source_url, tmp_path / "media-src")
    dst_env = _env(tmp_path, target_url, tmp_path / "media-dst")
    _manage(src_env, "migrate", "--noinput", "-v", "0")
    _manage(src_env, "shell", "--no-imports", "-c", SEED)

    folder = Path(_run(["bash", "scripts/backup.sh", str(tmp_path / "backups")], src_env).stdout.strip().splitlines()[-1])
    assert (folder / "counts.json").exists() and (folder / "media.tar.gz").exists()
    backed_up = json.loads((folder / "counts.json").read_text())
    assert backed_up["billing_invoice"] == 3 and backed_up["contracts_client"] == 3

    restored = _run(["bash", "scripts/restore.sh", str(folder)], dst_env)
    assert "Row counts match the backup" in restored.stdout

    counts = lambda env: json.loads(_run([sys.executable, "-m", "core.backup", "counts"], env).stdout)  # noqa: E731
    assert counts(dst_env) == counts(src_env) == backed_up
    assert _shell(dst_env, TOTALS).split() == ["3", "363.96"]  # (100.10 + 101.10 + 102.10) + 20 % VAT
    assert _shell(src_env, TOTALS) == _shell(dst_env, TOTALS)
    src_files = sorted(p.relative_to(tmp_path / "media-src") for p in (tmp_path / "media-src").rglob("*") if p.is_file())
    assert len(src_files) >= 2  # the three invoice PDFs (or their folder) and the signed copy
    for rel in src_files:
        assert (tmp_path / "media-dst" / rel).read_bytes() == (tmp_path / "media-src" / rel).read_bytes()

    # A second restore onto the now non-empty database is refused without --force.
    again = _run(["bash", "scripts/restore.sh", str(folder)], dst_env, check=False)
    assert again.returncode == 2 and "--force" in again.stderr


def test_sqlite_backup_and_restore_into_a_fresh_database(tmp_path):
    _round_trip(tmp_path, f"sqlite:///{tmp_path / 'src.sqlite3'}", f"sqlite:///{tmp_path / 'restored.sqlite3'}")


@pytest.mark.postgres
def test_postgresql_backup_and_restore_into_a_fresh_database(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")) or not shutil.which("pg_dump"):
        pytest.skip("needs DATABASE_URL on PostgreSQL and pg_dump")
    import psycopg2

    parsed = urlparse(url)
    suffix = uuid.uuid4().hex[:8]
    names = [f"mis_bk_src_{suffix}", f"mis_bk_dst_{suffix}"]
    admin = psycopg2.connect(
        dbname="postgres", user=parsed.username, password=parsed.password, host=parsed.hostname, port=parsed.port or 5432
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'CREATE DATABASE "{name}"')
        base = url.rsplit("/", 1)[0]
        _round_trip(tmp_path, f"{base}/{names[0]}", f"{base}/{names[1]}")
    finally:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
