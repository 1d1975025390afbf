"""Restores: only inside the retention (K3); self-service free and logged, staff restore quoted then billed (K8)."""
import datetime
from decimal import Decimal

import pytest

from backups import services
from backups.choices import JobStatus, RestoreKind, RestoreStatus, Retention
from backups.exceptions import BackupError
from backups.models import RestoreRequest
from billing.models import Charge
from core.models import OutboundEmail
from tests.factories.backups import JobReportFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 28, 11, 0, tzinfo=UTC)  # 12:00 Paris


def test_k3_retention_start_dates():
    assert services.retention_start(retention=Retention.FIVE_WEEKS, now=NOW) == datetime.datetime(
        2026, 10, 24, 11, 0, tzinfo=UTC)
    assert services.retention_start(retention=Retention.TWELVE_MONTHS, now=NOW) == datetime.datetime(
        2025, 11, 28, 11, 0, tzinfo=UTC)


def test_k3_a_point_outside_the_five_weeks_retention_is_refused_with_the_reason(device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 10, 1, 20, 0, tzinfo=UTC))
    with pytest.raises(BackupError) as exc:
        services.restore_request(actor=None, device=device_a, point=datetime.datetime(2026, 10, 2, 8, 0, tzinfo=UTC),
                                 kind=RestoreKind.SELF_SERVICE, now=NOW)
    # 2026-10-24 11:00 UTC is 13:00 in Paris (summer time ends on the 25th).
    assert exc.value.message == (
        "Restauration refusée : le 02/10/2026 10:00 est hors de la durée de rétention de votre contrat "
        "(5 semaines, CGV K3). Le plus ancien point restaurable est le 24/10/2026 13:00."
    )
    assert exc.value.code == "retention"
    assert RestoreRequest.objects.count() == 0


def test_k3_a_point_whose_last_backup_is_older_than_the_retention_is_refused(device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 10, 1, 20, 0, tzinfo=UTC))
    with pytest.raises(BackupError, match="aucune sauvegarde réussie de pc-accueil entre le 24/10/2026 13:00"):
        services.restore_request(actor=None, device=device_a, point=datetime.datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
                                 kind=RestoreKind.SELF_SERVICE, now=NOW)


def test_k3_twelve_months_retention_accepts_an_eleven_month_old_point(device_a, sub_a):
    sub_a.retention = Retention.TWELVE_MONTHS
    sub_a.save()
    old = JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 1, 5, 20, 0, tzinfo=UTC))
    restore = services.restore_request(actor=None, device=device_a, kind=RestoreKind.SELF_SERVICE, now=NOW,
                                       point=datetime.datetime(2026, 1, 6, 8, 0, tzinfo=UTC))
    assert restore.report == old


def test_restore_targets_the_last_good_backup_before_the_point(device_a):
    good = JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 20, 21, 0, tzinfo=UTC))
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 21, 21, 0, tzinfo=UTC),
                     status=JobStatus.FAILED)
    restore = services.restore_request(actor=None, device=device_a, kind=RestoreKind.SELF_SERVICE, now=NOW,
                                       point=datetime.datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    assert restore.report == good


def test_future_point_is_refused(device_a):
    with pytest.raises(BackupError, match="futur"):
        services.restore_request(actor=None, device=device_a, kind=RestoreKind.SELF_SERVICE, now=NOW,
                                 point=NOW + datetime.timedelta(hours=1))


def test_k8_self_service_restore_is_logged_and_free(device_a, portal_user):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 0, tzinfo=UTC))
    for _ in range(3):  # unlimited
        restore = services.restore_request(actor=portal_user, device=device_a, kind=RestoreKind.SELF_SERVICE,
                                           now=NOW, point=NOW)
    assert (restore.status, restore.done_on, restore.requested_by) == (
        RestoreStatus.LOGGED, datetime.date(2026, 11, 28), portal_user
    )
    assert RestoreRequest.objects.count() == 3
    assert Charge.objects.count() == 0


def test_k8_staff_restore_is_quoted_by_sites_and_files_then_billed_once_when_done(device_a, staff_user):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 0, tzinfo=UTC))
    restore = services.restore_request(actor=None, device=device_a, kind=RestoreKind.STAFF, now=NOW, point=NOW,
                                       description="Dossier Compta 2025")
    assert restore.status == RestoreStatus.REQUESTED
    assert OutboundEmail.objects.filter(key=f"backups.restore.requested:{restore.pk}").exists()
    with pytest.raises(BackupError):
        services.restore_complete(actor=staff_user, restore=restore, today=datetime.date(2026, 11, 30))
    # 2 sites × 60.00 + 3 started thousands of files (2,500) × 15.00 = 165.00 HT
    services.restore_quote(actor=staff_user, restore=restore, sites_count=2, files_count=2500,
                           today=datetime.date(2026, 11, 28))
    assert (restore.status, restore.quote_amount, restore.quoted_on) == (
        RestoreStatus.QUOTED, Decimal("165.00"), datetime.date(2026, 11, 28)
    )
    services.restore_accept(actor=staff_user, restore=restore, today=datetime.date(2026, 11, 29))
    services.restore_complete(actor=staff_user, restore=restore, today=datetime.date(2026, 11, 30))
    charge = Charge.objects.get()
    assert (charge.source, charge.source_key, charge.unit_price, charge.quantity, charge.service_date) == (
        "backups.restore", f"backups.restore:{restore.pk}", Decimal("165.00"), Decimal("1.00"),
        datetime.date(2026, 11, 30),
    )
    assert charge.client == device_a.client and charge.contract == device_a.subscription.contract
    assert charge.description == "Restauration de données par MIS — pc-accueil, 2 site(s), 2500 fichier(s) (CGV K8)"
    assert (restore.status, restore.done_on, restore.charge) == (RestoreStatus.DONE, datetime.date(2026, 11, 30), charge)
    with pytest.raises(BackupError):
        services.restore_complete(actor=staff_user, restore=restore, today=datetime.date(2026, 12, 1))
    assert Charge.objects.count() == 1


def test_self_service_restore_cannot_be_quoted(device_a):
    JobReportFactory(device=device_a, ended_at=datetime.datetime(2026, 11, 27, 21, 0, tzinfo=UTC))
    restore = services.restore_request(actor=None, device=device_a, kind=RestoreKind.SELF_SERVICE, now=NOW, point=NOW)
    with pytest.raises(BackupError):
        services.restore_quote(actor=None, restore=restore, sites_count=1, files_count=10,
                               today=datetime.date(2026, 11, 28))
