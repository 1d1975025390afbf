"""CSV import (command and admin action) through the API's validation; staff admin screens."""
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from backups import services
from backups.models import ApiToken, Device, JobReport
from core.models import AuditLogEntry

pytestmark = pytest.mark.django_db

HEADER = "device,job_id,started_at,ended_at,status,kind,bytes_transferred,bytes_stored,files,copies,skipped\n"
ROW1 = "pc-accueil,j1,2026-11-27T22:00:00+01:00,2026-11-27T22:30:00+01:00,success,incremental,100,5000,12,mis=1;ovh=1,video=2\n"
ROW2 = "pc-accueil,j2,2026-11-28T22:00:00+01:00,2026-11-28T22:30:00+01:00,failed,full,0,5000,0,mis=1,\n"
BAD = "pc-accueil,j3,2026-11-28T22:00:00+01:00,2026-11-28T22:30:00+01:00,success,full,beaucoup,5000,0,mis=1,\n"


@pytest.fixture
def csv_file(tmp_path):
    def write(*rows):
        path = tmp_path / "reports.csv"
        path.write_text(HEADER + "".join(rows), encoding="utf-8")
        return path

    return write


def test_csv_import_is_idempotent_and_uses_the_same_rules(client_a, device_a, csv_file, capsys):
    path = csv_file(ROW1, ROW2)
    call_command("import_backup_reports", str(path), "--client", client_a.siren)
    assert "2 report(s) imported, 0 already received." in capsys.readouterr().out
    call_command("import_backup_reports", str(path), "--client", client_a.siren)
    assert "0 report(s) imported, 2 already received." in capsys.readouterr().out
    first = JobReport.objects.get(job_id="j1")
    assert (first.skipped_videos, first.replicated, first.source) == (2, True, "csv")
    assert JobReport.objects.get(job_id="j2").replicated is False


def test_csv_with_one_bad_line_imports_nothing_and_names_line_and_field(client_a, device_a, csv_file):
    with pytest.raises(services.ReportImportError) as exc:
        with csv_file(ROW1, BAD).open(encoding="utf-8") as stream:
            services.reports_import_csv(actor=None, client=client_a, stream=stream,
                                        now=timezone.now())
    assert exc.value.errors == ["ligne 3, bytes_transferred : « bytes_transferred » doit être un entier."]
    assert JobReport.objects.count() == 0
    with pytest.raises(CommandError, match="1 ligne"):
        call_command("import_backup_reports", str(csv_file(ROW1, BAD)), "--client", client_a.siren)
    assert JobReport.objects.count() == 0


def test_csv_cannot_import_another_clients_device(client_b, device_a, device_b, csv_file):
    with pytest.raises(CommandError):
        call_command("import_backup_reports", str(csv_file(ROW1)), "--client", client_b.siren)
    assert JobReport.objects.count() == 0


def test_admin_action_imports_a_csv(client, staff_user, sub_a, device_a):
    client.force_login(staff_user)
    url = "/admin/backups/backupsubscription/"
    page = client.post(url, {"action": "import_csv", "_selected_action": [sub_a.pk]})
    assert page.status_code == 200 and "Colonnes attendues" in page.content.decode()
    upload = io.BytesIO((HEADER + ROW1).encode())
    upload.name = "reports.csv"
    response = client.post(url, {"action": "import_csv", "_selected_action": [sub_a.pk], "apply": "1",
                                 "file": upload}, follow=True)
    assert "1 rapport(s) importé(s), 0 déjà reçu(s)." in response.content.decode()
    assert JobReport.objects.get().job_id == "j1"


def test_admin_creates_a_token_shown_once_and_revokes_it(client, staff_user, client_a):
    client.force_login(staff_user)
    response = client.post("/admin/backups/apitoken/add/", {
        "client": client_a.pk, "label": "Agent principal", "rate_limit_per_minute": 120,
    }, follow=True)
    token = ApiToken.objects.get()
    body = response.content.decode()
    assert "Copiez-le maintenant" in body and token.prefix in body
    assert token.created_by == staff_user
    client.post("/admin/backups/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditLogEntry.objects.filter(action="backups.api_token.revoked").count() == 1


def test_admin_pages_and_supervision_board_render(client, staff_user, device_a):
    Device.objects.update(created_at=datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC))
    services.supervision_run(today=datetime.date(2026, 11, 28))
    client.force_login(staff_user)
    for url in ["/admin/backups/backupplan/", "/admin/backups/backupsubscription/", "/admin/backups/device/",
                "/admin/backups/jobreport/", "/admin/backups/usagesnapshot/", "/admin/backups/overageepisode/",
                "/admin/backups/supervisionrun/", "/admin/backups/supervisionflag/", "/admin/backups/restorerequest/",
                "/admin/backups/apitoken/", "/admin/backups/supervisionrun/board/?day=2026-11-28"]:
        assert client.get(url).status_code == 200, url
    board = client.get("/admin/backups/supervisionrun/board/?day=2026-11-28").content.decode()
    assert "pc-accueil" in board and "aucune sauvegarde réussie depuis 24 h" in board


def test_device_hostname_is_unique_per_client_with_a_clear_error(sub_a, device_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="déjà un appareil de ce nom"):
        services.device_register(actor=None, subscription=sub_a, hostname="PC-Accueil", kind="workstation")
    other = services.device_register(actor=None, subscription=sub_a, hostname=" PC-Compta ", kind="nas", os="DSM")
    assert (other.hostname, other.client_id) == ("pc-compta", sub_a.contract.client_id)
