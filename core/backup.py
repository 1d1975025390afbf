"""Helpers of scripts/backup.sh and scripts/restore.sh (docs/operations.md).

``python -m core.backup env``            shell assignments of the database and media settings
``python -m core.backup counts``         JSON row count of every table (written next to the backup)
``python -m core.backup verify FILE``    compares the current database with such a file (exit 3 if not equal)
``python -m core.backup is-empty``       exit 0 if the database has no table yet, 1 otherwise
``python -m core.backup sqlite-copy SRC DST``  consistent copy of a live SQLite file (online backup API)

Settings are read exactly as the application reads them (environment, ``.env``, defaults).
"""
import json
import os
import shlex
import sqlite3
import sys


def _setup():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mis_backoffice.settings")
    django.setup()


def shell_env() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    values = {
        "DB_ENGINE": engine,
        "DB_NAME": str(db["NAME"]),
        "DB_HOST": db.get("HOST") or "",
        "DB_PORT": str(db.get("PORT") or ""),
        "DB_USER": db.get("USER") or "",
        "DB_PASSWORD": db.get("PASSWORD") or "",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    return "\n".join(f"{key}={shlex.quote(value)}" for key, value in values.items())


def table_counts() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def sqlite_copy(src: str, dst: str) -> None:
    """Copy a SQLite database that may be in use: the online backup API gives a consistent file."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    with target:
        source.backup(target)
    target.close()
    source.close()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "sqlite-copy":
        sqlite_copy(argv[1], argv[2])
        return 0
    _setup()
    if command == "env":
        print(shell_env())
    elif command == "counts":
        print(json.dumps(table_counts(), indent=1, sort_keys=True))
    elif command == "is-empty":
        from django.db import connection

        return 0 if not connection.introspection.table_names() else 1
    elif command == "verify":
        with open(argv[1]) as fh:
            expected = json.load(fh)
        actual = table_counts()
        diff = {t: [expected.get(t), actual.get(t)] for t in sorted(set(expected) | set(actual))
                if expected.get(t) != actual.get(t)}
        if diff:
            print("Row counts differ from the backup (table: [backup, restored]):")
            for table, (before, after) in diff.items():
                print(f"  {table}: {before} -> {after}")
            return 3
        print(f"Row counts match the backup: {len(actual)} tables, {sum(actual.values())} rows.")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
