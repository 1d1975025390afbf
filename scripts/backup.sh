#!/usr/bin/env bash
# Backup of the product's own data: the database (PostgreSQL: pg_dump -Fc; SQLite: a consistent copy
# through SQLite's online backup API) and the media directory (stored PDFs, signed documents), in one
# dated folder with the row count of every table. Reads the same environment as the application
# (DATABASE_URL, MEDIA_ROOT, .env). See docs/operations.md.
#
#   scripts/backup.sh [PARENT_DIR]      # default: $VAR_DIR/backups (var/backups); prints the folder made
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
PARENT="${1:-${VAR_DIR:-var}/backups}"
DEST="$PARENT/mis-backup-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$DEST"
umask 077  # the dump holds personal data (CGV D1): readable by the owner only

eval "$("$PY" -m core.backup env)"
case "$DB_ENGINE" in
  postgresql)
    PGPASSWORD="$DB_PASSWORD" pg_dump --format=custom --no-owner --no-acl \
      ${DB_HOST:+-h "$DB_HOST"} ${DB_PORT:+-p "$DB_PORT"} ${DB_USER:+-U "$DB_USER"} \
      --file "$DEST/db.dump" "$DB_NAME"
    ;;
  sqlite3)
    "$PY" -m core.backup sqlite-copy "$DB_NAME" "$DEST/db.sqlite3"
    ;;
  *)
    echo "backup.sh: unsupported database engine '$DB_ENGINE'" >&2
    exit 2
    ;;
esac

if [ -d "$MEDIA_ROOT" ]; then
  tar -czf "$DEST/media.tar.gz" -C "$MEDIA_ROOT" .
else
  tar -czf "$DEST/media.tar.gz" --files-from /dev/null
fi
"$PY" -m core.backup counts > "$DEST/counts.json"
echo "$DB_ENGINE" > "$DEST/engine"
echo "$DEST"
