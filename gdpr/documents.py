"""Documents the gdpr app produces: register (PDF, CSV), breach notification PDF,
deletion certificate PDF, return archive (ZIP). Rendering only; services decide when."""
import csv
import io
import json
import secrets
import zipfile

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contracts.models import Client
from core.models import ProviderProfile
from gdpr.personal_data import jsonable, row_dict

REGISTER_COLUMNS = [
    ("client", gettext_lazy("Responsable de traitement")),
    ("siren", gettext_lazy("SIREN")),
    ("name", gettext_lazy("Traitement")),
    ("purpose", gettext_lazy("Catégories de traitements et finalités")),
    ("data_subjects", gettext_lazy("Personnes concernées")),
    ("data_categories", gettext_lazy("Catégories de données")),
    ("sub_processors", gettext_lazy("Sous-traitants ultérieurs")),
    ("transfers", gettext_lazy("Transferts hors UE")),
    ("security_measures", gettext_lazy("Mesures de sécurité")),
    ("retention", gettext_lazy("Durée de conservation")),
]


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    html = render_to_string(template, context)
    return HTML(string=html, base_url=".").write_pdf()


def store(folder: str, name: str, content: bytes) -> str:
    """Save under an unguessable name; returns the storage name."""
    return default_storage.save(f"{folder}/{secrets.token_hex(8)}-{name}", ContentFile(content))


def provider_or_none():
    return ProviderProfile.objects.order_by("pk").first()


def register_rows(client: Client, activities) -> list[dict]:
    return [
        {
            "client": client.name,
            "siren": client.siren,
            "name": a.name,
            "purpose": a.purpose,
            "data_subjects": a.data_subjects,
            "data_categories": a.data_categories,
            "sub_processors": "; ".join(f"{sp.name} ({sp.rcs}, {sp.services})" for sp in a.sub_processors.all()),
            "transfers": a.transfers,
            "security_measures": a.security_measures,
            "retention": a.retention,
        }
        for a in activities
    ]


def register_csv(client: Client, activities) -> str:
    """D8: the register as CSV (semicolon-separated, UTF-8 with BOM so Excel opens it in French)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow([str(label) for _key, label in REGISTER_COLUMNS])
    for row in register_rows(client, activities):
        writer.writerow([row[key] for key, _label in REGISTER_COLUMNS])
    return out.getvalue()


def register_pdf(*, client: Client, activities, controller_contacts: list[str], now) -> bytes:
    return render_pdf(
        "gdpr/pdf/register.html",
        {
            "client": client,
            "activities": activities,
            "controller_contacts": controller_contacts,
            "provider": provider_or_none(),
            "now": now,
        },
    )


def breach_notification_pdf(*, notification, now) -> bytes:
    return render_pdf(
        "gdpr/pdf/breach_notification.html",
        {"notification": notification, "breach": notification.breach, "provider": provider_or_none(), "now": now},
    )


def deletion_certificate_pdf(*, disposition, now) -> bytes:
    return render_pdf(
        "gdpr/pdf/deletion_certificate.html",
        {"disposition": disposition, "report": disposition.report, "provider": provider_or_none(), "now": now},
    )


def _csv_of(rows: list[dict]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                             for k, v in row.items()})
    return out.getvalue()


def return_archive(*, client: Client, person_exports: list[dict], register: str, now) -> bytes:
    """CGV D10 (return): a ZIP of the client's data, JSON and CSV per table, with its documents.

    Tables are every model with a foreign key to the client (found by
    introspection, so later apps are included); documents are the files those
    rows hold (signed contracts, PDFs…).
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("client.json", json.dumps(row_dict(client), ensure_ascii=False, indent=2))
        manifest = {"client": client.name, "siren": client.siren, "generated_at": jsonable(now), "tables": {}, "documents": []}
        for rel in Client._meta.get_fields(include_hidden=True):
            if not (rel.is_relation and rel.auto_created and not rel.concrete) or rel.many_to_many:
                continue
            if rel.related_model._meta.proxy:
                continue
            model = rel.related_model
            objs = list(model._base_manager.filter(**{rel.field.name: client}).order_by("pk"))
            if not objs:
                continue
            name = f"{model._meta.app_label}_{model._meta.model_name}"
            rows = [row_dict(o) for o in objs]
            archive.writestr(f"tables/{name}.json", json.dumps(rows, ensure_ascii=False, indent=2))
            archive.writestr(f"tables/{name}.csv", _csv_of(rows))
            manifest["tables"][name] = len(rows)
            for obj in objs:
                for f in obj._meta.concrete_fields:
                    file = getattr(obj, f.attname, None) if f.get_internal_type() in ("FileField", "ImageField") else None
                    if file and file.name and default_storage.exists(file.name):
                        with default_storage.open(file.name, "rb") as fh:
                            target = f"documents/{name}/{obj.pk}-{file.name.rsplit('/', 1)[-1]}"
                            archive.writestr(target, fh.read())
                            manifest["documents"].append(target)
        for export in person_exports:
            archive.writestr(
                f"personnes/contact-{export['subject']['id']}.json", json.dumps(export, ensure_ascii=False, indent=2)
            )
        archive.writestr("registre-des-traitements.csv", register)
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        archive.writestr(
            "LISEZMOI.txt",
            _(
                "Restitution des données personnelles (article 14.9 des CGV) générée le %(date)s.\n"
                "tables/ : une table par type d'enregistrement, en JSON et en CSV (séparateur « ; »).\n"
                "personnes/ : l'export de chaque contact (portabilité).\n"
                "documents/ : les documents attachés.\n"
            )
            % {"date": timezone.localtime(now).strftime("%d/%m/%Y %H:%M")},
        )
    return buffer.getvalue()
