"""Writes of the backup option (CGV annex 1, K1–K8). Keyword-only, atomic, audited.

Conventions (see docs/backups.md):

- Volumes are bytes; capacities are GB = 10^9 bytes.
- A *good* backup is a job whose status is ``success`` or ``warning``.
- The nightly run of business date D looks at the reports ended before D 00:00
  Europe/Paris: usage of D (K7) and supervision of the 24 hours before (K1).
"""
import csv
import datetime
import hashlib
import json
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from backups import api_tokens, selectors
from backups.choices import (
    GOOD_STATUSES,
    FlagKind,
    JobKind,
    JobStatus,
    OverageStatus,
    ReportSource,
    RestoreKind,
    RestoreStatus,
    Retention,
    SkipReason,
    StorageSite,
)
from backups.exceptions import BackupError, ReportInvalid
from backups.models import (
    GB,
    ApiToken,
    BackupPlan,
    BackupSubscription,
    BackupTier,
    Device,
    JobReport,
    OverageEpisode,
    RestoreRequest,
    SupervisionFlag,
    SupervisionRun,
    UsageSnapshot,
)
from core.audit import audit_record, diff, snapshot
from core.dates import PARIS, business_today, paris_datetime
from core.mail import email_queue, staff_recipients
from core.money import money

LINE_SOURCE = "backups.tier"
# A report may end a little "in the future" when the agent's clock runs ahead.
CLOCK_SKEW = datetime.timedelta(minutes=10)
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1  # files and skipped-file counts are integer columns (PositiveIntegerField)


def _fmt_dt(value: datetime.datetime) -> str:
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def _fmt_gb(nbytes: int) -> str:
    return f"{Decimal(nbytes) / GB:.1f}".replace(".", ",")


# --- subscriptions and devices -------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    actor,
    contract,
    plan: BackupPlan,
    tier: BackupTier,
    started_on: datetime.date,
    retention: str = Retention.FIVE_WEEKS,
    primary_site: str = StorageSite.MIS,
    replica_site: str = StorageSite.OVH,
    encryption: bool = True,
    compression: bool = True,
) -> BackupSubscription:
    """Subscribe a contract to the backup option: the tier's monthly price becomes a contract line (K7)."""
    from contracts.models import ContractLine

    subscription = BackupSubscription(
        contract=contract, plan=plan, tier=tier, started_on=started_on, retention=retention,
        primary_site=primary_site, replica_site=replica_site, encryption=encryption, compression=compression,
    )
    subscription.full_clean()
    subscription.save()
    position = (contract.lines.aggregate(m=Max("position"))["m"] or 0) + 1
    line = ContractLine(
        contract=contract, position=position, description=_tier_line_description(tier),
        quantity=1, unit_price=tier.monthly_price, valid_from=started_on, source=LINE_SOURCE,
    )
    line.full_clean()
    line.save()
    audit_record(actor=actor, obj=line, action="contracts.contractline.created", changes=snapshot(line))
    if not contract.has_backup:
        # The subscription is the backup option of the contract: keep the contract's flag in step.
        contract.has_backup = True
        contract.save(update_fields=["has_backup", "updated_at"])
        audit_record(actor=actor, obj=contract, action="contracts.contract.updated", changes={"has_backup": [False, True]})
    audit_record(actor=actor, obj=subscription, action="backups.subscription.created", changes=snapshot(subscription))
    return subscription


def _tier_line_description(tier: BackupTier, *, since: datetime.date | None = None) -> str:
    text = _("Option sauvegarde — palier %(capacity)s Go") % {"capacity": tier.capacity_gb}
    if since:
        text += " " + _("(avenant CGV K7 à compter du %(day)s)") % {"day": since.strftime("%d/%m/%Y")}
    return text


@transaction.atomic
def device_register(
    *, actor, subscription: BackupSubscription, hostname: str, kind: str, os: str = "", site=None
) -> Device:
    device = Device(
        subscription=subscription, client_id=subscription.contract.client_id, hostname=hostname.strip().lower(),
        kind=kind, os=os, site=site,
    )
    device.full_clean()
    device.save()
    audit_record(actor=actor, obj=device, action="backups.device.created", changes=snapshot(device))
    return device


# --- API tokens ----------------------------------------------------------------------------


@transaction.atomic
def api_token_create(
    *, actor, client, label: str, device: Device | None = None, rate_limit_per_minute: int = 120
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the secret, which is never stored and shown only once."""
    raw = "misb_" + secrets.token_urlsafe(32)
    token = ApiToken(
        client=client, device=device, label=label, prefix=raw[:12], token_hash=api_tokens.token_hash(raw),
        rate_limit_per_minute=rate_limit_per_minute,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=actor, obj=token, action="backups.api_token.created",
        changes={"client": client.pk, "device": device.pk if device else None, "label": label, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken, now: datetime.datetime) -> bool:
    """Revoke a token (conditional update: revoking twice keeps the first date)."""
    done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    # Forget the cached token now and again after commit (a request may re-cache it meanwhile).
    cache.delete(api_tokens.token_cache_key(token.token_hash))
    transaction.on_commit(lambda: cache.delete(api_tokens.token_cache_key(token.token_hash)))
    if done:
        token.revoked_at = now
        audit_record(actor=actor, obj=token, action="backups.api_token.revoked", changes={"revoked_at": [None, now]})
    return bool(done)


# --- job-report validation and ingestion ---------------------------------------------------

REQUIRED_FIELDS = (
    "device", "job_id", "started_at", "ended_at", "status", "kind",
    "bytes_transferred", "bytes_stored", "files", "copies",
)
OPTIONAL_FIELDS = ("skipped",)


def _require_str(data: dict, name: str, *, max_length: int = 100) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ReportInvalid(_("« %(field)s » doit être une chaîne de caractères.") % {"field": name}, field=name,
                            code="wrong_type")
    value = value.strip()
    if not value:
        raise ReportInvalid(_("« %(field)s » ne peut pas être vide.") % {"field": name}, field=name)
    if len(value) > max_length:
        raise ReportInvalid(_("« %(field)s » dépasse %(n)s caractères.") % {"field": name, "n": max_length},
                            field=name)
    return value


def _require_int(value, name: str, *, maximum: int = MAX_BIGINT) -> int:
    # bool is an int in Python; JSON true/false is not a count.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ReportInvalid(_("« %(field)s » doit être un entier.") % {"field": name}, field=name, code="wrong_type")
    if value < 0:
        raise ReportInvalid(_("« %(field)s » doit être un entier positif.") % {"field": name}, field=name)
    if value > maximum:
        # A 400 naming the field rather than the database's "integer out of range" (a 500).
        raise ReportInvalid(_("« %(field)s » dépasse %(max)s.") % {"field": name, "max": maximum}, field=name)
    return value


def _require_datetime(data: dict, name: str) -> datetime.datetime:
    raw = data[name]
    if not isinstance(raw, str):
        raise ReportInvalid(_("« %(field)s » doit être une date ISO 8601.") % {"field": name}, field=name,
                            code="wrong_type")
    try:
        value = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise ReportInvalid(
            _("« %(field)s » n'est pas une date ISO 8601 valide (ex. 2026-11-28T22:30:00+01:00).") % {"field": name},
            field=name, code="wrong_type",
        ) from None
    if value.tzinfo is None:
        raise ReportInvalid(
            _("« %(field)s » doit indiquer son fuseau horaire (ex. +01:00 ou Z).") % {"field": name}, field=name
        )
    return value.astimezone(datetime.UTC)


def _require_counts(value, name: str, allowed) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ReportInvalid(_("« %(field)s » doit être un objet {code: nombre}.") % {"field": name}, field=name,
                            code="wrong_type")
    result = {}
    for key, count in value.items():
        if key not in allowed:
            raise ReportInvalid(
                _("« %(field)s » : code inconnu « %(key)s » (attendus : %(allowed)s).")
                % {"field": name, "key": key, "allowed": ", ".join(allowed)},
                field=f"{name}.{key}",
            )
        result[key] = _require_int(count, f"{name}.{key}", maximum=MAX_INT)
    return dict(sorted(result.items()))


def report_validate(data, *, now: datetime.datetime) -> dict:
    """Check a job report's shape and values; returns the cleaned data or raises :class:`ReportInvalid`.

    Pure: no database access. The API and the CSV import both go through it.
    """
    if not isinstance(data, dict):
        raise ReportInvalid(_("Le rapport doit être un objet JSON."), field="body", code="wrong_type")
    for name in REQUIRED_FIELDS:
        if name not in data or data[name] is None:
            raise ReportInvalid(_("Champ obligatoire manquant : « %(field)s ».") % {"field": name}, field=name,
                                code="missing")
    for name in data:
        if name not in REQUIRED_FIELDS and name not in OPTIONAL_FIELDS:
            raise ReportInvalid(_("Champ inconnu : « %(field)s ».") % {"field": name}, field=name, code="unknown")
    cleaned = {
        "device": _require_str(data, "device").lower(),
        "job_id": _require_str(data, "job_id"),
        "started_at": _require_datetime(data, "started_at"),
        "ended_at": _require_datetime(data, "ended_at"),
    }
    if cleaned["ended_at"] < cleaned["started_at"]:
        raise ReportInvalid(_("« ended_at » précède « started_at »."), field="ended_at")
    if cleaned["ended_at"] > now + CLOCK_SKEW:
        raise ReportInvalid(_("« ended_at » est dans le futur."), field="ended_at")
    for name, choices in (("status", JobStatus), ("kind", JobKind)):
        value = data[name]
        if not isinstance(value, str):
            raise ReportInvalid(_("« %(field)s » doit être une chaîne de caractères.") % {"field": name},
                                field=name, code="wrong_type")
        if value not in choices.values:
            raise ReportInvalid(
                _("« %(field)s » doit valoir l'un de : %(allowed)s.") % {"field": name, "allowed": ", ".join(choices.values)},
                field=name,
            )
        cleaned[name] = value
    cleaned["bytes_transferred"] = _require_int(data["bytes_transferred"], "bytes_transferred")
    cleaned["bytes_stored"] = _require_int(data["bytes_stored"], "bytes_stored")
    cleaned["files"] = _require_int(data["files"], "files", maximum=MAX_INT)
    cleaned["copies"] = _require_counts(data["copies"], "copies", StorageSite.values)
    cleaned["skipped"] = _require_counts(data.get("skipped") or {}, "skipped", SkipReason.values)
    return cleaned


def _fingerprint(cleaned: dict) -> str:
    canonical = {k: v.isoformat() if isinstance(v, datetime.datetime) else v for k, v in cleaned.items()}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


_INSERT_SQL_CACHE: dict[tuple, str] = {}
_INSERT_VALUE_FIELDS = (
    "job_id", "started_at", "ended_at", "status", "kind", "bytes_transferred", "bytes_stored", "files_count",
    "copies", "skipped", "skipped_videos", "source", "payload_hash", "received_at",
)


def _insert_sql(connection, *, copied_sites: int, one_device: bool) -> str:
    """``INSERT … SELECT`` of one report for a client's device found by hostname, ``ON CONFLICT DO NOTHING``.

    One statement does the device lookup (scoped to the token's client, and to its device if it has
    one), the K1 ``replicated`` fact (both of the subscription's sites among the sites holding a copy)
    and the idempotent insert; it returns ``(id, device_id, replicated)`` or no row (unknown device, or job id
    already received). Portable to PostgreSQL and SQLite ≥ 3.35. Built once per shape.
    """
    shape = (connection.vendor, copied_sites, one_device)
    sql = _INSERT_SQL_CACHE.get(shape)
    if sql is None:
        qn = connection.ops.quote_name
        report, device, subscription = JobReport._meta, Device._meta, BackupSubscription._meta

        def col(meta, name):
            return qn(meta.get_field(name).column)

        columns = ", ".join(col(report, name) for name in ("device", *_INSERT_VALUE_FIELDS, "replicated"))
        placeholders = ", ".join(["%s"] * len(_INSERT_VALUE_FIELDS))
        sites = ", ".join(["%s"] * copied_sites)
        replicated = (f"(s.{col(subscription, 'primary_site')} IN ({sites}) "
                      f"AND s.{col(subscription, 'replica_site')} IN ({sites}))" if copied_sites else "(1 = 0)")
        sql = (
            f"INSERT INTO {qn(report.db_table)} ({columns}) "
            f"SELECT d.{col(device, 'id')}, {placeholders}, {replicated} "
            f"FROM {qn(device.db_table)} d INNER JOIN {qn(subscription.db_table)} s "
            f"ON s.{col(subscription, 'id')} = d.{col(device, 'subscription')} "
            f"WHERE d.{col(device, 'client')} = %s AND d.{col(device, 'hostname')} = %s"
            + (f" AND d.{col(device, 'id')} = %s" if one_device else "")
            + f" ON CONFLICT ({col(report, 'device')}, {col(report, 'job_id')}) DO NOTHING"
            f" RETURNING {col(report, 'id')}, {col(report, 'device')}, {col(report, 'replicated')}"
        )
        _INSERT_SQL_CACHE[shape] = sql
    return sql


def _insert_report(
    *, client_id: int, only_device_id: int | None, values: dict, copied_sites: list[str], async_commit: bool = False,
) -> tuple[int, int, bool] | None:
    """Run :func:`_insert_sql`: ``(id, device_id, replicated)`` of the new row, or ``None`` if nothing was inserted.

    In autocommit (the API) the statement is the whole write: no savepoint, no transaction round
    trips, and a duplicate job id is not an error (``ON CONFLICT DO NOTHING``), so the same statement
    is also safe inside a transaction (CSV import, tests).

    ``async_commit`` (PostgreSQL, opt-in with ``settings.BACKUPS_INGEST_ASYNC_COMMIT``) does not wait
    for the WAL flush: a database crash may lose the last fraction of a second of reports (the
    supervision would then flag a missing backup), never corrupt anything. See docs/backups.md.
    """
    connection = transaction.get_connection()
    sql = _insert_sql(connection, copied_sites=len(copied_sites), one_device=only_device_id is not None)
    params = [JobReport._meta.get_field(name).get_db_prep_save(values[name], connection)
              for name in _INSERT_VALUE_FIELDS]
    params += copied_sites * 2 if copied_sites else []
    params += [client_id, values["device"]]
    if only_device_id is not None:
        params.append(only_device_id)
    if async_commit and connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(sql, params)
            row = cursor.fetchone()
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return (row[0], row[1], bool(row[2])) if row else None


def _store_report(
    *, client_id: int, only_device_id: int | None, cleaned: dict, source: str, async_commit: bool = False
) -> tuple[JobReport, bool]:
    fingerprint = _fingerprint(cleaned)
    values = {
        "device": cleaned["device"], "job_id": cleaned["job_id"], "started_at": cleaned["started_at"],
        "ended_at": cleaned["ended_at"], "status": cleaned["status"], "kind": cleaned["kind"],
        "bytes_transferred": cleaned["bytes_transferred"], "bytes_stored": cleaned["bytes_stored"],
        "files_count": cleaned["files"], "copies": cleaned["copies"], "skipped": cleaned["skipped"],
        "skipped_videos": cleaned["skipped"].get(SkipReason.VIDEO, 0),  # K6
        "source": source, "payload_hash": fingerprint, "received_at": timezone.now(),
    }
    # K1: ``replicated`` when each of the subscription's two sites holds a copy (computed by the INSERT).
    copied_sites = [site for site, count in cleaned["copies"].items() if count >= 1]
    inserted = _insert_report(client_id=client_id, only_device_id=only_device_id, values=values,
                              copied_sites=copied_sites, async_commit=async_commit)
    if inserted is not None:
        report_id, device_id, replicated = inserted
        fields = {name: values[name] for name in _INSERT_VALUE_FIELDS}
        return JobReport(pk=report_id, device_id=device_id, replicated=replicated, **fields), True
    # Nothing inserted: this job was already received (a retry, or two requests at once), or the
    # device is not one of this token's. One more query, off the hot path, tells which.
    existing = selectors.report_for_job(client_id=client_id, only_device_id=only_device_id,
                                        hostname=cleaned["device"], job_id=cleaned["job_id"])
    if existing is None:
        # Another client's device is reported exactly like an unknown one: nothing leaks.
        raise ReportInvalid(
            _("Appareil inconnu pour ce jeton : « %(device)s ».") % {"device": cleaned["device"]},
            field="device", code="unknown_device",
        )
    if existing.payload_hash != fingerprint:
        raise ReportInvalid(
            _("Le job « %(job)s » a déjà été reçu avec un contenu différent.") % {"job": cleaned["job_id"]},
            field="job_id", code="conflict",
        )
    return existing, False


def report_record(
    *, client_id: int, data, now: datetime.datetime, source: str, only_device_id: int | None = None,
    async_commit: bool = False,
) -> tuple[JobReport, bool]:
    """Validate and store one job report of a client's device; returns ``(report, created)``.

    Idempotent on (device, job_id): the same report sent again returns the
    stored one with ``created=False``; a different report under the same job
    id is refused (``code="conflict"``). Nothing is stored when it raises.
    """
    cleaned = report_validate(data, now=now)
    return _store_report(client_id=client_id, only_device_id=only_device_id, cleaned=cleaned, source=source,
                         async_commit=async_commit)


def report_ingest(*, token: api_tokens.TokenGrant, data, now: datetime.datetime) -> tuple[JobReport, bool]:
    """A report sent to the API with ``token`` (limited to its client, and to its device if it has one)."""
    return report_record(client_id=token.client_id, only_device_id=token.device_id, data=data, now=now,
                         source=ReportSource.API,
                         async_commit=getattr(settings, "BACKUPS_INGEST_ASYNC_COMMIT", False))


CSV_COLUMNS = REQUIRED_FIELDS + OPTIONAL_FIELDS
_CSV_INT_COLUMNS = ("bytes_transferred", "bytes_stored", "files")


def _csv_counts(raw: str, name: str) -> dict:
    """``"mis=1;ovh=1"`` → ``{"mis": 1, "ovh": 1}`` (values checked later by :func:`report_validate`)."""
    result = {}
    for part in filter(None, (p.strip() for p in (raw or "").split(";"))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ReportInvalid(_("« %(field)s » : attendu code=nombre, reçu « %(part)s ».") % {"field": name, "part": part},
                                field=name, code="wrong_type")
        try:
            result[key.strip()] = int(value)
        except ValueError:
            raise ReportInvalid(_("« %(field)s.%(key)s » doit être un entier.") % {"field": name, "key": key.strip()},
                                field=f"{name}.{key.strip()}", code="wrong_type") from None
    return result


def _csv_row_to_data(row: dict) -> dict:
    data = {}
    for name in CSV_COLUMNS:
        value = (row.get(name) or "").strip()
        if value == "" and name in REQUIRED_FIELDS and name not in ("copies",):
            continue  # reported as missing by report_validate
        if name in _CSV_INT_COLUMNS:
            try:
                data[name] = int(value)
            except ValueError:
                raise ReportInvalid(_("« %(field)s » doit être un entier.") % {"field": name}, field=name,
                                    code="wrong_type") from None
        elif name in ("copies", "skipped"):
            data[name] = _csv_counts(value, name)
        else:
            data[name] = value
    return data


@dataclass
class ImportResult:
    created: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


class ReportImportError(BackupError):
    """The CSV file had invalid lines: nothing was imported; ``errors`` lists them."""

    def __init__(self, errors: list[str]):
        super().__init__(_("%(n)s ligne(s) invalide(s), rien n'a été importé.") % {"n": len(errors)}, code="csv")
        self.errors = errors


def reports_import_csv(*, actor, client, stream, now: datetime.datetime) -> ImportResult:
    """Import a CSV of job reports for ``client`` through the same validation as the API.

    All or nothing: one invalid line and nothing is stored (:class:`ReportImportError`
    lists every invalid line). Lines already imported are counted as duplicates.
    Columns: ``device,job_id,started_at,ended_at,status,kind,bytes_transferred,
    bytes_stored,files,copies,skipped`` with ``copies``/``skipped`` as ``code=n;code=n``.
    """
    reader = csv.DictReader(stream)
    missing = [c for c in REQUIRED_FIELDS if c not in (reader.fieldnames or [])]
    if missing:
        raise ReportImportError([_("En-tête : colonne(s) manquante(s) : %(cols)s") % {"cols": ", ".join(missing)}])
    result = ImportResult()
    with transaction.atomic():
        for row in reader:
            line = reader.line_num
            try:
                _report, created = report_record(client_id=client.pk, data=_csv_row_to_data(row), now=now,
                                                 source=ReportSource.CSV)
            except ReportInvalid as exc:
                result.errors.append(_("ligne %(line)s, %(field)s : %(msg)s") % {"line": line, "field": exc.field,
                                                                              "msg": exc.message})
                continue
            if created:
                result.created += 1
            else:
                result.duplicates += 1
        if result.errors:
            raise ReportImportError(result.errors)  # rolls the whole file back
        audit_record(actor=actor, obj=client, action="backups.reports.imported",
                     changes={"created": result.created, "duplicates": result.duplicates})
    return result


# --- daily supervision (K1) ----------------------------------------------------------------


def supervision_window(today: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The 24 hours the supervision of ``today`` checks: until ``today`` 00:00 Paris."""
    end = paris_datetime(today)
    return end - datetime.timedelta(hours=24), end


def supervision_run(*, today: datetime.date) -> dict:
    """K1 daily supervision: flag each device with no good backup in the last 24 hours, a failed job
    in them, or a last good backup missing its copy on the second site; one digest to staff.

    Idempotent: flags are unique per (device, day, kind), the digest per day.
    A constant number of queries whatever the number of devices.
    """
    start, end = supervision_window(today)
    devices = selectors.devices_for_supervision(before=end)
    failed = defaultdict(int)
    # Failed jobs are few: fetch those of the window, keep the supervised devices' ones below.
    for device_id in JobReport.objects.filter(
        status=JobStatus.FAILED, ended_at__gte=start, ended_at__lt=end
    ).values_list("device_id", flat=True):
        failed[device_id] += 1
    flags: list[SupervisionFlag] = []
    for device in devices:
        if (device.last_good_at is None or device.last_good_at < start) and device.created_at <= start:
            last = _fmt_dt(device.last_good_at) if device.last_good_at else _("jamais")
            flags.append(SupervisionFlag(device_id=device.pk, day=today, kind=FlagKind.NO_SUCCESS,
                                         detail=_("dernière sauvegarde réussie : %(last)s") % {"last": last}))
        if failed[device.pk]:
            flags.append(SupervisionFlag(device_id=device.pk, day=today, kind=FlagKind.FAILED_JOB,
                                         detail=_("%(n)s job(s) échoué(s) sur 24 h") % {"n": failed[device.pk]}))
        if device.last_good_at is not None and not device.last_good_replicated:
            flags.append(SupervisionFlag(
                device_id=device.pk, day=today, kind=FlagKind.MISSING_REPLICA,
                detail=_("sauvegarde du %(last)s sans ses deux copies") % {"last": _fmt_dt(device.last_good_at)},
            ))
    flagged = len({f.device_id for f in flags})
    with transaction.atomic():
        SupervisionFlag.objects.bulk_create(flags, ignore_conflicts=True, batch_size=1000)
        SupervisionRun.objects.update_or_create(
            day=today,
            defaults={"window_start": start, "window_end": end, "devices_checked": len(devices),
                      "flagged_devices": flagged},
        )
        sent = email_queue(
            to=staff_recipients(),
            subject=_("Supervision des sauvegardes du %(day)s : %(n)s appareil(s) en anomalie")
            % {"day": today.strftime("%d/%m/%Y"), "n": flagged},
            body=_supervision_digest_body(today=today, devices=devices, flags=flags, start=start, end=end),
            key=f"backups.supervision:{today.isoformat()}",
        )
    return {"devices": len(devices), "flags": len(flags), "flagged_devices": flagged, "digest": sent is not None}


def _supervision_digest_body(*, today, devices, flags, start, end) -> str:
    lines = [
        _("Supervision quotidienne des sauvegardes (CGV K1) du %(day)s.") % {"day": today.strftime("%d/%m/%Y")},
        _("Période contrôlée : du %(start)s au %(end)s.") % {"start": _fmt_dt(start), "end": _fmt_dt(end)},
        _("%(n)s appareil(s) contrôlé(s).") % {"n": len(devices)},
        "",
    ]
    if not flags:
        lines.append(_("Aucune anomalie."))
    by_device = {d.pk: d for d in devices}
    for flag in flags:
        device = by_device[flag.device_id]
        lines.append(f"- {device.client_name} — {device.hostname} : {flag.get_kind_display()} ({flag.detail})")
    return "\n".join(lines)


# --- usage and overage (K7) ----------------------------------------------------------------


def usage_record(*, today: datetime.date) -> dict:
    """Measure each active subscription's stored volume for ``today`` (one snapshot per day)."""
    cutoff = paris_datetime(today)
    used = defaultdict(int)
    for subscription_id, stored in selectors.stored_bytes_by_device(before=cutoff):
        used[subscription_id] += stored or 0
    subs = BackupSubscription.objects.filter(is_active=True).values_list("pk", "tier__capacity_gb")
    snapshots = [
        UsageSnapshot(subscription_id=pk, day=today, used_bytes=used[pk], capacity_gb=capacity)
        for pk, capacity in subs
    ]
    created = UsageSnapshot.objects.bulk_create(snapshots, ignore_conflicts=True, batch_size=1000)
    return {"subscriptions": len(created)}


def overage_threshold_reached(*, used_bytes: int, capacity_gb: int) -> bool:
    """K7: usage exceeds the capacity by at least 10 % (integer arithmetic, no float)."""
    return used_bytes * 100 >= capacity_gb * GB * 110


def overage_check_date(notified_on: datetime.date) -> datetime.date:
    """K7: one month after the e-mail (2026-03-10 → 2026-04-10; 2026-01-31 → 2026-02-28)."""
    return notified_on + relativedelta(months=1)


def overage_effective_from(decided_on: datetime.date) -> datetime.date:
    """K7: the new tier is billed "from the following month": the 1st of the month after the check."""
    return decided_on.replace(day=1) + relativedelta(months=1)


def overage_process(*, today: datetime.date, actor=None) -> dict:
    """K7 for every subscription measured today: open an episode (one e-mail), close it when usage
    came back within capacity, or apply the matching tier once the month has passed."""
    snaps = list(
        UsageSnapshot.objects.filter(day=today, subscription__is_active=True).select_related(
            "subscription__tier", "subscription__contract__client"
        )
    )
    open_episodes = {
        e.subscription_id: e
        for e in OverageEpisode.objects.filter(status=OverageStatus.OPEN, subscription__in=[s.subscription_id for s in snaps])
    }
    outcome = {"opened": 0, "resolved": 0, "upgraded": 0, "no_tier": 0}
    for snap in snaps:
        sub = snap.subscription
        capacity_gb = sub.tier.capacity_gb
        episode = open_episodes.get(sub.pk)
        if episode is None:
            if overage_threshold_reached(used_bytes=snap.used_bytes, capacity_gb=capacity_gb):
                outcome["opened"] += _overage_open(actor=actor, subscription=sub, used=snap.used_bytes, today=today)
        elif snap.used_bytes <= capacity_gb * GB:
            outcome["resolved"] += _overage_resolve(actor=actor, episode=episode, used=snap.used_bytes, today=today)
        elif today >= episode.check_on:
            key = _overage_upgrade(actor=actor, episode=episode, subscription=sub, used=snap.used_bytes, today=today)
            outcome[key] += 1
    return outcome


def _overage_open(*, actor, subscription: BackupSubscription, used: int, today: datetime.date) -> int:
    check_on = overage_check_date(today)
    with transaction.atomic():
        try:
            with transaction.atomic():
                episode = OverageEpisode.objects.create(
                    subscription=subscription, notified_on=today, check_on=check_on, usage_bytes=used,
                    capacity_gb=subscription.tier.capacity_gb,
                )
        except IntegrityError:
            return 0  # a concurrent run opened it
        tier = selectors.tier_for_usage(plan_id=subscription.plan_id, used_bytes=used)
        client = subscription.contract.client
        body = [
            _("Bonjour,"),
            "",
            _("Le volume sauvegardé au titre du contrat %(contract)s atteint %(used)s Go pour une capacité "
              "contractuelle de %(capacity)s Go, soit un dépassement d'au moins 10 %%.")
            % {"contract": subscription.contract.reference, "used": _fmt_gb(used), "capacity": subscription.tier.capacity_gb},
            _("Vous pouvez réduire le volume de vos données sauvegardées ou le maintenir (conditions de l'option "
              "sauvegarde, article 4 — CGV K7)."),
            _("Si le volume n'est pas revenu dans la capacité contractuelle le %(check)s, le palier correspondant "
              "sera facturé à partir du %(effective)s et deviendra celui de votre contrat jusqu'à son échéance.")
            % {"check": check_on.strftime("%d/%m/%Y"), "effective": overage_effective_from(check_on).strftime("%d/%m/%Y")},
        ]
        if tier is not None:
            body.append(_("Palier correspondant au volume actuel : %(capacity)s Go, %(price)s € HT par mois.")
                        % {"capacity": tier.capacity_gb, "price": str(tier.monthly_price).replace(".", ",")})
        body += ["", _("L'équipe MICRO INFO SERVICE")]
        email_queue(
            to=[client.billing_email],
            subject=_("Dépassement de votre capacité de sauvegarde (%(contract)s)") % {"contract": subscription.contract.reference},
            body="\n".join(body),
            key=f"backups.overage:{subscription.pk}:{today.isoformat()}",
        )
        audit_record(actor=actor, obj=episode, action="backups.overage.opened", changes=snapshot(episode))
    return 1


def _overage_resolve(*, actor, episode: OverageEpisode, used: int, today: datetime.date) -> int:
    with transaction.atomic():
        done = OverageEpisode.objects.filter(pk=episode.pk, status=OverageStatus.OPEN).update(
            status=OverageStatus.RESOLVED, closed_on=today, closing_usage_bytes=used
        )
        if done:
            audit_record(actor=actor, obj=episode, action="backups.overage.resolved",
                         changes={"status": [OverageStatus.OPEN, OverageStatus.RESOLVED], "closed_on": [None, today]})
    return done


def _overage_upgrade(*, actor, episode: OverageEpisode, subscription: BackupSubscription, used: int,
                     today: datetime.date) -> str:
    """Apply the tier matching ``used`` from the 1st of next month until the contract's term (K7)."""
    from contracts.models import ContractLine

    tier = selectors.tier_for_usage(plan_id=subscription.plan_id, used_bytes=used)
    if tier is None:
        # No tier holds that volume: staff quote it (P4); the episode stays open and visible in the admin.
        return "no_tier"
    effective_from = overage_effective_from(today)
    with transaction.atomic():
        claimed = OverageEpisode.objects.filter(pk=episode.pk, status=OverageStatus.OPEN).update(
            status=OverageStatus.UPGRADED, closed_on=today, closing_usage_bytes=used, new_tier=tier,
            effective_from=effective_from,
        )
        if not claimed:
            return "upgraded"
        contract = subscription.contract
        last_day = effective_from - datetime.timedelta(days=1)
        for line in ContractLine.objects.select_for_update().filter(contract=contract, source=LINE_SOURCE):
            if line.valid_until is not None and line.valid_until < effective_from:
                continue
            before = snapshot(line)
            if line.valid_from is not None and line.valid_from >= effective_from:
                line.delete()  # a later line replaced by this amendment
                audit_record(actor=actor, obj=line, action="contracts.contractline.deleted", changes=before)
                continue
            line.valid_until = last_day
            line.save(update_fields=["valid_until"])
            audit_record(actor=actor, obj=line, action="contracts.contractline.updated", changes=diff(before, snapshot(line)))
        term = contract.current_period_end
        position = (contract.lines.aggregate(m=Max("position"))["m"] or 0) + 1
        new_line = ContractLine(
            contract=contract, position=position, description=_tier_line_description(tier, since=effective_from),
            quantity=1, unit_price=tier.monthly_price, valid_from=effective_from,
            valid_until=term if term and term >= effective_from else None, source=LINE_SOURCE,
        )
        new_line.full_clean()
        new_line.save()
        audit_record(actor=actor, obj=new_line, action="contracts.contractline.created", changes=snapshot(new_line))
        before = snapshot(subscription)
        subscription.tier = tier
        subscription.save(update_fields=["tier"])
        audit_record(actor=actor, obj=subscription, action="backups.subscription.tier_upgraded",
                     changes=diff(before, snapshot(subscription)))
        audit_record(actor=actor, obj=episode, action="backups.overage.upgraded",
                     changes={"status": [OverageStatus.OPEN, OverageStatus.UPGRADED], "new_tier": [None, tier.pk],
                              "effective_from": [None, effective_from]})
        email_queue(
            to=[contract.client.billing_email],
            subject=_("Nouveau palier de sauvegarde (%(contract)s)") % {"contract": contract.reference},
            body="\n".join([
                _("Bonjour,"),
                "",
                _("Le volume sauvegardé (%(used)s Go) dépasse toujours la capacité de %(old)s Go un mois après "
                  "notre e-mail du %(notified)s.") % {"used": _fmt_gb(used), "old": episode.capacity_gb,
                                                     "notified": episode.notified_on.strftime("%d/%m/%Y")},
                _("Conformément à l'article 4 des conditions de l'option sauvegarde (CGV K7), le palier de "
                  "%(capacity)s Go (%(price)s € HT par mois) est facturé à partir du %(effective)s et devient "
                  "celui de votre contrat jusqu'à son échéance.")
                % {"capacity": tier.capacity_gb, "price": str(tier.monthly_price).replace(".", ","),
                   "effective": effective_from.strftime("%d/%m/%Y")},
                "",
                _("L'équipe MICRO INFO SERVICE"),
            ]),
            key=f"backups.overage.upgrade:{episode.pk}",
        )
    return "upgraded"


# --- restores (K3, K8) ---------------------------------------------------------------------


def retention_start(*, retention: str, now: datetime.datetime) -> datetime.datetime:
    """K3: the oldest restorable instant (5 weeks = 35 days; 12 months = same day 12 months earlier)."""
    if retention == Retention.TWELVE_MONTHS:
        return now - relativedelta(months=12)
    return now - datetime.timedelta(weeks=5)


def restore_point_find(*, device: Device, point: datetime.datetime, now: datetime.datetime) -> JobReport:
    """The good backup to restore for ``point`` (the latest one ended at or before it), inside retention (K3)."""
    if point > now:
        raise BackupError(_("La date de restauration demandée est dans le futur."), code="future")
    oldest = retention_start(retention=device.subscription.retention, now=now)
    retention_label = device.subscription.get_retention_display()
    if point < oldest:
        raise BackupError(
            _("Restauration refusée : le %(point)s est hors de la durée de rétention de votre contrat "
              "(%(retention)s, CGV K3). Le plus ancien point restaurable est le %(oldest)s.")
            % {"point": _fmt_dt(point), "retention": retention_label, "oldest": _fmt_dt(oldest)},
            code="retention",
        )
    report = (
        JobReport.objects.filter(device=device, status__in=GOOD_STATUSES, ended_at__lte=point)
        .order_by("-ended_at", "-pk")
        .first()
    )
    if report is None or report.ended_at < oldest:
        raise BackupError(
            _("Restauration refusée : aucune sauvegarde réussie de %(device)s entre le %(oldest)s (début de la "
              "rétention de %(retention)s, CGV K3) et le %(point)s.")
            % {"device": device.hostname, "oldest": _fmt_dt(oldest), "retention": retention_label,
               "point": _fmt_dt(point)},
            code="retention",
        )
    return report


@transaction.atomic
def restore_request(
    *, actor, device: Device, point: datetime.datetime, kind: str, now: datetime.datetime, description: str = ""
) -> RestoreRequest:
    """K8: log a free self-service restore, or ask MIS to restore (quoted, then billed)."""
    report = restore_point_find(device=device, point=point, now=now)
    self_service = kind == RestoreKind.SELF_SERVICE
    restore = RestoreRequest(
        subscription=device.subscription, device=device, report=report, kind=kind,
        status=RestoreStatus.LOGGED if self_service else RestoreStatus.REQUESTED,
        requested_point=point, description=description, requested_at=now,
        requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        done_on=business_today(now) if self_service else None,
    )
    restore.full_clean()
    restore.save()
    audit_record(actor=actor, obj=restore, action="backups.restore.requested", changes=snapshot(restore))
    if not self_service:
        email_queue(
            to=staff_recipients(),
            subject=_("Demande de restauration par MIS : %(client)s — %(device)s")
            % {"client": device.client.name, "device": device.hostname},
            body=_("Point de restauration : %(point)s.\n%(description)s\nÀ chiffrer (CGV K8) dans l'administration.")
            % {"point": _fmt_dt(report.ended_at), "description": description},
            key=f"backups.restore.requested:{restore.pk}",
        )
    return restore


def restore_quote_amount(*, plan: BackupPlan, sites_count: int, files_count: int):
    """K8: the price of a restore by MIS, by number of sites and files (per started 1,000 files)."""
    return money(
        plan.restore_price_per_site * sites_count
        + plan.restore_price_per_thousand_files * math.ceil(files_count / 1000)
    )


def _restore_transition(*, actor, restore: RestoreRequest, expected: list[str], action: str, **changes):
    if restore.kind != RestoreKind.STAFF or restore.status not in expected:
        raise BackupError(
            _("Cette restauration est « %(status)s » : opération impossible.") % {"status": restore.get_status_display()}
        )
    before = snapshot(restore)
    for name, value in changes.items():
        setattr(restore, name, value)
    restore.full_clean()
    restore.save()
    audit_record(actor=actor, obj=restore, action=action, changes=diff(before, snapshot(restore)))
    return restore


@transaction.atomic
def restore_quote(*, actor, restore: RestoreRequest, sites_count: int, files_count: int, today: datetime.date,
                  amount=None) -> RestoreRequest:
    """Quote a staff restore (K8); ``amount`` overrides the plan's price when staff agreed another one."""
    if sites_count < 1:
        raise BackupError(_("Un devis de restauration porte sur au moins un site."))
    price = money(amount) if amount is not None else restore_quote_amount(
        plan=restore.subscription.plan, sites_count=sites_count, files_count=files_count
    )
    return _restore_transition(
        actor=actor, restore=restore, expected=[RestoreStatus.REQUESTED, RestoreStatus.QUOTED],
        action="backups.restore.quoted", status=RestoreStatus.QUOTED, sites_count=sites_count,
        files_count=files_count, quote_amount=price, quoted_on=today,
    )


@transaction.atomic
def restore_accept(*, actor, restore: RestoreRequest, today: datetime.date) -> RestoreRequest:
    """The client signed the quote (B5: a signed quote is an order)."""
    return _restore_transition(actor=actor, restore=restore, expected=[RestoreStatus.QUOTED],
                               action="backups.restore.accepted", status=RestoreStatus.ACCEPTED, accepted_on=today)


@transaction.atomic
def restore_complete(*, actor, restore: RestoreRequest, today: datetime.date) -> RestoreRequest:
    """Staff restore done: record the quoted amount as a charge for billing (K8), once."""
    from billing.services import charge_record

    if restore.kind != RestoreKind.STAFF or restore.status != RestoreStatus.ACCEPTED:
        raise BackupError(_("Seule une restauration par MIS dont le devis est accepté peut être marquée réalisée."))
    charge, _created = charge_record(
        actor=actor, client=restore.subscription.contract.client, contract=restore.subscription.contract,
        source="backups.restore", source_key=f"backups.restore:{restore.pk}",
        description=_("Restauration de données par MIS — %(device)s, %(sites)s site(s), %(files)s fichier(s) (CGV K8)")
        % {"device": restore.device.hostname, "sites": restore.sites_count, "files": restore.files_count},
        unit_price=restore.quote_amount, service_date=today,
    )
    return _restore_transition(actor=actor, restore=restore, expected=[RestoreStatus.ACCEPTED],
                               action="backups.restore.done", status=RestoreStatus.DONE, done_on=today, charge=charge)

