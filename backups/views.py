"""Job-report ingestion API for the backup software (plain Django JSON view).

``POST /api/backups/reports/`` with ``Authorization: Bearer <token>`` and a JSON
report (see docs/backups.md). Answers: 201 created, 200 already received (same
job id, same content), 400 invalid (``field`` names the problem), 401 bad
token, 409 same job id with another content, 429 rate limited (``Retry-After``).
"""
import json

from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from backups import api_tokens, services
from backups.exceptions import ReportInvalid
from backups.models import JobReport


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _error(status: int, message: str, *, field: str | None = None, code: str = "invalid", **headers) -> JsonResponse:
    body = {"error": message, "code": code}
    if field is not None:
        body["field"] = field
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def report_json(report: JobReport, *, hostname: str) -> dict:
    return {
        "id": report.pk,
        "device": hostname,
        "job_id": report.job_id,
        "status": report.status,
        "ended_at": report.ended_at.isoformat(),
        "replicated": report.replicated,
        "skipped_videos": report.skipped_videos,
    }


@csrf_exempt  # token-authenticated machine endpoint: no browser session, no cookie
@require_POST
def report_ingest_view(request):
    now = timezone.now()
    token, hits = api_tokens.authenticate(_bearer(request), now=now)
    if token is None:
        return _error(401, _("Jeton d'API absent, invalide ou révoqué."), code="unauthorized",
                      WWW_Authenticate='Bearer realm="backups"')
    retry_after = api_tokens.retry_after(token, hits=hits, now=now)
    if retry_after:
        return _error(429, _("Trop de requêtes pour ce jeton ; réessayez plus tard."), code="rate_limited",
                      Retry_After=str(retry_after))
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, _("Le corps de la requête n'est pas du JSON valide."), field="body", code="invalid_json")
    try:
        report, created = services.report_ingest(token=token, data=data, now=now)
    except ReportInvalid as exc:
        return _error(409 if exc.code == "conflict" else 400, exc.message, field=exc.field, code=exc.code)
    body = {"created": created, "report": report_json(report, hostname=data["device"].strip().lower())}
    return JsonResponse(body, status=201 if created else 200)
