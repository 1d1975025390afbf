#!/usr/bin/env bash
# Restore a folder made by scripts/backup.sh into the database of DATABASE_URL and into MEDIA_ROOT
# (same environment as the application), then compare every table's row count with the backup.
# The target database must be new and empty (create it first); --force replaces an existing one.
# See docs/operations.md.
#
#   scripts/restore.sh BACKUP_DIR [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
SRC="${1:?usage: scripts/restore.sh BACKUP_DIR [--force]}"
FORCE="${2:-}"
[ -f "$SRC/counts.json" ] || { echo "restore.sh: $SRC is not a backup folder (no counts.json)" >&2; exit 2; }

eval "$("$PY" -m core.backup env)"
BACKUP_ENGINE="$(cat "$SRC/engine")"
if [ "$BACKUP_ENGINE" != "$DB_ENGINE" ]; then
  echo "restore.sh: the backup is $BACKUP_ENGINE, DATABASE_URL is $DB_ENGINE" >&2
  exit 2
fi

case "$DB_ENGINE" in
  postgresql)
    CLEAN=()
    if ! "$PY" -m core.backup is-empty; then
      [ "$FORCE" = "--force" ] || { echo "restore.sh: database $DB_NAME is not empty (use --force to replace it)" >&2; exit 2; }
      CLEAN=(--clean --if-exists)
    fi
    PGPASSWORD="$DB_PASSWORD" pg_restore --no-owner --no-acl --exit-on-error "${CLEAN[@]}" \
      ${DB_HOST:+-h "$DB_HOST"} ${DB_PORT:+-p "$DB_PORT"} ${DB_USER:+-U "$DB_USER"} \
      --dbname "$DB_NAME" "$SRC/db.dump"
    ;;
  sqlite3)
    if [ -s "$DB_NAME" ]; then
      [ "$FORCE" = "--force" ] || { echo "restore.sh: $DB_NAME exists (use --force to replace it)" >&2; exit 2; }
      mv "$DB_NAME" "$DB_NAME.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    fi
    mkdir -p "$(dirname "$DB_NAME")"
    "$PY" -m core.backup sqlite-copy "$SRC/db.sqlite3" "$DB_NAME"
    ;;
esac

mkdir -p "$MEDIA_ROOT"
tar -xzf "$SRC/media.tar.gz" -C "$MEDIA_ROOT"
"$PY" -m core.backup verify "$SRC/counts.json"
