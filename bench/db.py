"""``python -m bench.db``: drop and re-create the benchmark database named by ``DATABASE_URL`` (used by ``make bench``).

Refuses any database whose name does not contain ``bench`` (the benchmark writes hundreds of thousands of
rows and starts from an empty database). PostgreSQL: ``DROP DATABASE … WITH (FORCE)`` then ``CREATE
DATABASE`` through the server's ``postgres`` database; SQLite: the file is removed.
"""
import os
import sys
from pathlib import Path

import environ

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mis_bench"


def recreate(url: str) -> str:
    config = environ.Env.db_url_config(url)
    name = str(config["NAME"])
    if "bench" not in Path(name).name:
        raise SystemExit(f"Refusing to re-create {name!r}: the benchmark database's name must contain 'bench' "
                         f"(default {DEFAULT_URL}).")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(name).unlink(missing_ok=True)
        return name
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(dbname="postgres", user=config.get("USER") or None,
                                  password=config.get("PASSWORD") or None, host=config.get("HOST") or None,
                                  port=config.get("PORT") or None)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    return name


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    print(f"bench: fresh database {recreate(url)!r}", file=sys.stderr)
