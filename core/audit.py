"""The audit log: every change made through a service is recorded here.

Services call :func:`audit_record` inside their transaction, with the actor
(a user, or ``None`` for the system), a dotted action code
(``contracts.contract.renewed``) and the changed fields as
``{field: [old, new]}`` — :func:`diff` computes that from two snapshots.
"""
import datetime
import decimal
import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import models

from core.models import AuditLogEntry

SYSTEM_LABEL = "système"


def _jsonable(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "storage"):  # FieldFile
        return value.name or ""
    return value


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The concrete field values of ``instance``, JSON-ready (FKs as ids)."""
    # ``auto_now`` timestamps change on every save and say nothing an auditor needs.
    names = fields or [f.attname for f in instance._meta.concrete_fields if not getattr(f, "auto_now", False)]
    return {name: _jsonable(getattr(instance, name)) for name in names}


def diff(before: dict, after: dict) -> dict:
    """``{field: [old, new]}`` for every field whose value changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def audit_record(*, actor, obj: models.Model, action: str, changes: dict | None = None) -> AuditLogEntry:
    if actor is not None and getattr(actor, "is_authenticated", False):
        label = actor.get_username()
        actor_obj = actor
    else:
        label = SYSTEM_LABEL
        actor_obj = None
    return AuditLogEntry.objects.create(
        actor=actor_obj,
        actor_label=label,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        action=action,
        changes={k: _jsonable(v) if not isinstance(v, list) else [_jsonable(x) for x in v] for k, v in (changes or {}).items()},
    )


def audit_bulk(*, actor, objs, action: str, changes_for=None) -> int:
    """Record one entry per object in a single INSERT (nightly jobs over many rows)."""
    objs = list(objs)
    if not objs:
        return 0
    label = actor.get_username() if actor is not None and getattr(actor, "is_authenticated", False) else SYSTEM_LABEL
    actor_obj = actor if label != SYSTEM_LABEL else None
    ct = ContentType.objects.get_for_model(objs[0], for_concrete_model=False)
    entries = [
        AuditLogEntry(
            actor=actor_obj,
            actor_label=label,
            content_type=ct,
            object_id=str(o.pk),
            object_repr=str(o)[:300],
            action=action,
            changes=changes_for(o) if changes_for else {},
        )
        for o in objs
    ]
    AuditLogEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)
