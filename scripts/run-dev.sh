#!/usr/bin/env bash
# `make run`: web server + Celery worker + beat on the embedded defaults (SQLite, filesystem broker).
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/log
$PY manage.py migrate --noinput -v0
$PY manage.py setup_roles >/dev/null
$PY manage.py setup_schedule >/dev/null
$PY manage.py collectstatic --noinput -v0
$PY manage.py demo_data
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
.venv/bin/celery -A mis_backoffice worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A mis_backoffice beat --loglevel=INFO --pidfile= >var/log/beat.log 2>&1 &
pids+=($!)
cat <<MSG

  MIS back-office is starting on http://$HOST:$PORT/
    Staff admin:   http://$HOST:$PORT/admin/    (admin / demo-staff-2026; also direction, compta, technicien, dpo)
                   then the two-factor code: demo key NVUXGLLEMVWW6LLUN52HALJSGAZDMIJB in an authenticator app,
                   or \`.venv/bin/python manage.py demo_otp\` prints the current code
    Client portal: http://$HOST:$PORT/portal/   (paul@boulangerie-lemoine.fr / demo-client-2026)
    Celery worker and beat logs: var/log/worker.log, var/log/beat.log
  Stop with Ctrl-C.

MSG
$PY manage.py runserver "$HOST:$PORT"
