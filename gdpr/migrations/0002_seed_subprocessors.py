"""Seed the two sub-processors named in the CGV (art. 14.8, D9)."""
from django.db import migrations

SUBPROCESSORS = [
    dict(
        siren="798444303",
        name="COMIP",
        address="Chemin des Vernèdes, 83480 Puget-sur-Argens",
        rcs="RCS Fréjus B 798 444 303",
        services="Téléphonie et internet",
        country="FR",
        listed_in_terms=True,
    ),
    dict(
        siren="843236522",
        name="AMS SOLUTION",
        address="139 Chem. des Vernèdes, 83480 Puget-sur-Argens",
        rcs="RCS Fréjus B 843 236 522",
        services="Téléphonie et internet",
        country="FR",
        listed_in_terms=True,
    ),
]


def seed(apps, schema_editor):
    SubProcessor = apps.get_model("gdpr", "SubProcessor")
    for spec in SUBPROCESSORS:
        spec = dict(spec)
        SubProcessor.objects.get_or_create(siren=spec.pop("siren"), defaults=spec)


class Migration(migrations.Migration):
    dependencies = [("gdpr", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
