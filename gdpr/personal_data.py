"""Where a person's data lives, found by introspection so that models added later are covered.

- Rows *about* a contact: every model with a foreign key (or one-to-one) to
  ``contracts.Contact``, or to the contact's portal user, discovered at run time
  through ``_meta.related_objects``.
- Which of their fields hold personal data: a model declares
  ``PERSONAL_DATA_FIELDS = ["caller_name", ...]`` or an app calls
  :func:`register_personal_fields` (for models it cannot edit). Those fields are
  replaced on anonymisation; the foreign key itself stays, pointing to the
  now-anonymous contact.
- Mentions anywhere else (an e-mail address in ``OutboundEmail.to``, a name in a
  ticket's text or in an audit entry): :func:`locate` scans every text and JSON
  column of every model for the person's identifiers; anonymisation replaces
  them.
- Legal records (L2): invoices and accounting records are kept intact 10 years.
  The whole ``billing`` and ``payments`` apps are legal records by default; a model may also say
  ``GDPR_LEGAL_HOLD = "reason"`` or be registered with :func:`register_legal_hold`.
  Audit entries about a legal record are part of it and kept too.
"""
import datetime
import decimal
import json
import re
import uuid
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

ANONYMISED = "[anonymisé]"
L2_REASON = "L2 : factures et pièces comptables conservées 10 ans (Code de commerce L123-22)"

# Billing (invoices, credit notes, quotes) and payments (collections, SEPA, dunning) are accounting records.
_LEGAL_HOLD_APPS: dict[str, str] = {"billing": L2_REASON, "payments": L2_REASON}
_LEGAL_HOLD_MODELS: dict[str, str] = {}
_PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "gdpr.datasubjectrequest": ("requester_name", "requester_email", "requester_phone"),
}
# Framework tables that hold no business data (or only hashed/encoded data).
_NOT_SCANNED_APPS = {"contenttypes", "sessions", "django_celery_beat"}
_NOT_SCANNED_MODELS = {"auth.permission", "auth.group"}


def register_personal_fields(label: str, fields: list[str] | tuple[str, ...]) -> None:
    """Declare the personal-data fields of a model (``"app.model"``), for apps that prefer a registry."""
    _PERSONAL_FIELDS[label.lower()] = tuple(fields)


def register_legal_hold(label: str, reason: str) -> None:
    """Declare a model (``"app.model"``) or a whole app (``"app"``) as a legal record, never anonymised."""
    if "." in label:
        _LEGAL_HOLD_MODELS[label.lower()] = reason
    else:
        _LEGAL_HOLD_APPS[label] = reason


def legal_hold_reason(model) -> str | None:
    """Why rows of ``model`` are kept intact (L2), or ``None`` when they may be anonymised."""
    declared = getattr(model, "GDPR_LEGAL_HOLD", None)
    if declared:
        return declared if isinstance(declared, str) else L2_REASON
    return _LEGAL_HOLD_MODELS.get(model._meta.label_lower) or _LEGAL_HOLD_APPS.get(model._meta.app_label)


def personal_fields(model) -> tuple[str, ...]:
    declared = getattr(model, "PERSONAL_DATA_FIELDS", None)
    if declared:
        return tuple(declared)
    return _PERSONAL_FIELDS.get(model._meta.label_lower, ())


def jsonable(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "name") and hasattr(value, "storage"):  # FieldFile
        return value.name or ""
    return value


def row_dict(obj: models.Model) -> dict:
    """Every concrete field of a row (foreign keys as ids), JSON-ready."""
    return {f.attname: jsonable(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


@dataclass
class Relation:
    """A model that points to the person, and through which field."""

    model: type
    field_name: str
    legal_hold: str | None

    @property
    def label(self) -> str:
        return self.model._meta.label


def relations_to(target_model) -> list[Relation]:
    """Foreign keys and one-to-ones from any model to ``target_model`` (models added later included)."""
    found = []
    # include_hidden: relations declared with related_name="+" (e.g. a quote's signer) count too.
    for rel in target_model._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete) or rel.many_to_many:
            continue
        if rel.related_model._meta.proxy or rel.related_model._meta.auto_created:
            continue
        model = rel.related_model
        if model._meta.label_lower == "gdpr.anonymisation":  # the proof of erasure itself
            continue
        found.append(Relation(model=model, field_name=rel.field.name, legal_hold=legal_hold_reason(model)))
    return sorted(found, key=lambda r: (r.label, r.field_name))


def related_rows(contact) -> list[tuple[Relation, list[models.Model]]]:
    """The rows that point to ``contact`` or to its portal user, grouped by relation."""
    from contracts.models import Contact

    result = []
    targets = [(Contact, contact)]
    if contact.user_id:
        targets.append((get_user_model(), contact.user))
    for target_model, target in targets:
        for relation in relations_to(target_model):
            if relation.model is Contact:
                continue
            rows = list(relation.model._base_manager.filter(**{relation.field_name: target}).order_by("pk"))
            if rows:
                result.append((relation, rows))
    return result


# --- mentions anywhere --------------------------------------------------------------------------

def identifiers(contact, extra: list[str] | None = None) -> list[str]:
    """The strings that identify the person in free text: e-mail, full name both ways, phone."""
    values = [contact.email]
    if contact.first_name and contact.last_name:
        values += [f"{contact.first_name} {contact.last_name}", f"{contact.last_name} {contact.first_name}"]
    elif contact.last_name:
        values.append(contact.last_name)
    if contact.phone and len(contact.phone.strip()) >= 6:
        values.append(contact.phone.strip())
    values += list(extra or [])
    # Longest first, so that "Paul Lemoine" is replaced before a shorter identifier inside it.
    unique = {v.strip().lower(): v.strip() for v in values if v and len(v.strip()) >= 4}
    return sorted(unique.values(), key=len, reverse=True)


def _text_fields(model) -> list[models.Field]:
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField) and not f.primary_key
    ]


def scanned_models() -> list[type]:
    return [
        m
        for m in apps.get_models()
        if not m._meta.proxy
        and m._meta.managed
        and m._meta.app_label not in _NOT_SCANNED_APPS
        and m._meta.label_lower not in _NOT_SCANNED_MODELS
        and _text_fields(m)
    ]


def _mention_q(model, terms: list[str]) -> Q | None:
    q = Q()
    for f in _text_fields(model):
        for term in terms:
            q |= Q(**{f"{f.name}__icontains": term})
            if isinstance(f, models.JSONField):
                escaped = json.dumps(term)[1:-1]  # SQLite stores JSON with \\uXXXX escapes
                if escaped != term:
                    q |= Q(**{f"{f.name}__icontains": escaped})
    return q or None


def _legal_content_type_ids() -> set[int]:
    """Audit entries about a legal record are part of it (kept intact)."""
    held = [m for m in apps.get_models() if legal_hold_reason(m)]
    return {ct.pk for ct in ContentType.objects.get_for_models(*held, for_concrete_models=False).values()}


@dataclass
class Hit:
    model: str
    pk: object
    fields: list[str] = field(default_factory=list)
    legal_hold: str | None = None


def locate(terms: list[str]) -> list[Hit]:
    """Every row of every model whose text mentions one of ``terms`` (case-insensitive).

    Used by the DPO to find a person, by the tests to prove an anonymised person
    is unfindable outside legal records, and by :func:`scrub`.
    """
    from core.models import AuditLogEntry

    terms = [t for t in terms if t]
    if not terms:
        return []
    legal_cts = _legal_content_type_ids()
    hits = []
    for model in scanned_models():
        q = _mention_q(model, terms)
        reason = legal_hold_reason(model)
        for obj in model._base_manager.filter(q).order_by("pk"):
            found = [f.name for f in _text_fields(model) if _mentions(getattr(obj, f.attname), terms)]
            hold = reason
            if model is AuditLogEntry and obj.content_type_id in legal_cts:
                hold = L2_REASON
            hits.append(Hit(model=model._meta.label, pk=obj.pk, fields=found, legal_hold=hold))
    return hits


def _pattern(terms: list[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)


def _mentions(value, terms) -> bool:
    if value is None:
        return False
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return bool(_pattern(terms).search(text))


def _replace(value, pattern: re.Pattern, replacement):
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, list):
        return [_replace(v, pattern, replacement) for v in value]
    if isinstance(value, dict):
        return {_replace(k, pattern, replacement): _replace(v, pattern, replacement) for k, v in value.items()}
    return value


def scrub(terms: list[str], *, email_replacement: str) -> dict[str, list]:
    """Replace every mention of ``terms`` outside legal records; returns the changed pks per model.

    E-mail addresses become ``email_replacement`` (still a syntactically valid
    address); any other identifier becomes ``[anonymisé]``.
    """
    terms = [t for t in terms if t]
    if not terms:
        return {}
    pattern = _pattern(terms)

    def replacement(match):
        return email_replacement if "@" in match.group(0) else ANONYMISED

    changed: dict[str, list] = {}
    for hit in locate(terms):
        if hit.legal_hold:
            continue
        model = apps.get_model(hit.model)
        obj = model._base_manager.get(pk=hit.pk)
        updates = {}
        for name in hit.fields:
            f = model._meta.get_field(name)
            new = _replace(getattr(obj, f.attname), pattern, replacement)
            if isinstance(f, models.CharField) and not isinstance(new, str | type(None)):
                continue
            if isinstance(new, str) and getattr(f, "max_length", None):
                new = new[: f.max_length]
            updates[f.attname] = new
        if updates:
            model._base_manager.filter(pk=hit.pk).update(**updates)
            changed.setdefault(hit.model, []).append(hit.pk)
    return changed


def anonymised_value(f: models.Field, *, pk) -> object:
    """The value a personal-data field takes after anonymisation."""
    if isinstance(f, models.EmailField):
        return "" if f.blank else f"anonyme-{pk}@anonymise.invalid"
    if isinstance(f, models.CharField | models.TextField):
        return "" if f.blank else ANONYMISED[: f.max_length or None]
    if isinstance(f, models.JSONField):
        return f.get_default()
    if f.null:
        return None
    return f.get_default()
