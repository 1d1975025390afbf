"""Breaches (CGV D6, L6): 72-hour deadline, alerts at 24/48/66 h once each, Art. 33 content, stages, CNIL."""
import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command

from core.models import OutboundEmail
from gdpr import services
from gdpr.choices import BreachStatus, NotificationStage
from gdpr.exceptions import GdprError
from gdpr.jobs import breach_alerts
from gdpr.models import Breach, BreachNotification
from gdpr.tasks import breach_alerts_task
from mis_backoffice.schedule import PERIODIC_TASKS
from tests.factories.contracts import ContactFactory
from tests.factories.gdpr import BreachFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
# DST starts on 29 March: 72 real hours are not 3 wall-clock days. Arithmetic is done in UTC
# (Python adds a timedelta to a Europe/Paris datetime on the wall clock).
AWARE = datetime.datetime(2026, 3, 27, 14, 0, tzinfo=PARIS).astimezone(datetime.UTC)


def _alert_keys():
    return sorted(OutboundEmail.objects.filter(key__contains=".alert.").values_list("key", flat=True))


def test_d6_deadline_is_72_hours_after_awareness_even_across_dst(client_a, provider):
    breach = services.breach_record(actor=None, client=client_a, title="Vol d'un portable", aware_at=AWARE, now=AWARE)
    assert breach.notification_deadline - AWARE == datetime.timedelta(hours=72)
    # 27/03 14:00 CET + 72 h = 30/03 15:00 CEST (the clocks went forward on the 29th).
    assert breach.notification_deadline.astimezone(PARIS) == datetime.datetime(2026, 3, 30, 15, 0, tzinfo=PARIS)
    assert breach.reference == f"VIO-2026-{breach.pk:04d}"
    assert breach.contact_point.startswith("Délégué à la protection des données — MICRO INFO SERVICE")
    recorded = OutboundEmail.objects.get(key=f"gdpr.breach.{breach.pk}.recorded")
    assert "30/03/2026 15:00" in recorded.subject


def test_d6_alerts_at_24_48_66_hours_are_sent_once_each(client_a, provider):
    breach = services.breach_record(actor=None, client=client_a, title="Vol", aware_at=AWARE, now=AWARE)
    key = f"gdpr.breach.{breach.pk}.alert"
    for hours, minutes, expected in [
        (23, 59, []),
        (24, 0, [f"{key}.24h"]),
        (24, 15, [f"{key}.24h"]),
        (47, 45, [f"{key}.24h"]),
        (48, 0, [f"{key}.24h", f"{key}.48h"]),
        (65, 59, [f"{key}.24h", f"{key}.48h"]),
        (66, 0, [f"{key}.24h", f"{key}.48h", f"{key}.66h"]),
        (66, 15, [f"{key}.24h", f"{key}.48h", f"{key}.66h"]),
    ]:
        with time_machine.travel(AWARE + datetime.timedelta(hours=hours, minutes=minutes), tick=False):
            breach_alerts_task()
            breach_alerts_task()  # every 15 minutes: running again sends nothing more
        assert _alert_keys() == expected, (hours, minutes)
    alert66 = OutboundEmail.objects.get(key=f"{key}.66h")
    assert alert66.subject == (
        f"[RGPD] Violation {breach.reference} : 66 h écoulées, notifier Client A avant le 30/03/2026 15:00"
    )
    assert alert66.to == ["equipe@micro-info-service.fr"]


def test_d6_nightly_job_sends_the_alert_the_periodic_task_missed_but_never_twice(client_a, provider):
    breach = services.breach_record(actor=None, client=client_a, title="Vol", aware_at=AWARE, now=AWARE)
    # The 15-minute task was down; the nightly run of 29/03 (01:30) finds 35.5 hours elapsed.
    with time_machine.travel(datetime.datetime(2026, 3, 29, 1, 30, tzinfo=PARIS), tick=False):
        assert breach_alerts(today=datetime.date(2026, 3, 29)) == {"breach_alerts": 1}
        assert breach_alerts(today=datetime.date(2026, 3, 29)) == {"breach_alerts": 0}
        call_command("run_nightly", "--date", "2026-03-29", "--only", "gdpr.breach_alerts")
    assert _alert_keys() == [f"gdpr.breach.{breach.pk}.alert.24h"]
    # After an outage, only the latest threshold is sent, not a burst of stale ones.
    with time_machine.travel(AWARE + datetime.timedelta(hours=70), tick=False):
        breach_alerts_task()
    assert _alert_keys() == [f"gdpr.breach.{breach.pk}.alert.24h", f"gdpr.breach.{breach.pk}.alert.66h"]


def test_d6_no_alert_once_the_controller_is_notified(client_a, provider):
    breach = BreachFactory(client=client_a, aware_at=AWARE)
    with time_machine.travel(AWARE + datetime.timedelta(hours=10), tick=False):
        services.breach_notify_controller(actor=None, breach=breach, now=AWARE + datetime.timedelta(hours=10))
    with time_machine.travel(AWARE + datetime.timedelta(hours=80), tick=False):
        assert breach_alerts_task() == {"breach_alerts": 0}
    assert _alert_keys() == []


def test_breach_alerts_are_scheduled_every_15_minutes():
    assert PERIODIC_TASKS["gdpr-breach-alerts"] == ("gdpr.tasks.breach_alerts_task", {"minute": "*/15"}, {})


def test_breach_alert_query_count_does_not_grow_with_breaches(client_a, provider, django_assert_num_queries):
    for _i in range(5):
        BreachFactory(client=client_a, aware_at=AWARE)
    now = AWARE + datetime.timedelta(hours=30)
    services.breach_send_alerts(now=now)
    for _i in range(45):
        BreachFactory(client=client_a, aware_at=AWARE)
    services.breach_send_alerts(now=now)  # the 45 new ones get their alert
    # Nothing left to send: breaches (1), existing keys (1), recipients (1).
    with django_assert_num_queries(3):
        assert services.breach_send_alerts(now=now) == {"breach_alerts": 0}


def test_d6_art33_fields_are_required_before_any_notification(client_a, provider):
    breach = services.breach_record(
        actor=None, client=client_a, title="Rançongiciel", aware_at=AWARE, now=AWARE,
        nature="Chiffrement du serveur de fichiers par un rançongiciel.",
    )
    with pytest.raises(GdprError) as exc:
        services.breach_notify_controller(actor=None, breach=breach, now=AWARE)
    message = str(exc.value)
    for label in [
        "catégories de personnes concernées", "nombre approximatif de personnes", "catégories d'enregistrements",
        "nombre approximatif d'enregistrements", "conséquences probables", "mesures prises ou proposées",
    ]:
        assert label in message
    assert "nature de la violation" not in message and "point de contact" not in message
    assert not BreachNotification.objects.exists()
    assert not OutboundEmail.objects.filter(key__contains=".notification.").exists()


def test_d6_staged_notifications_each_emailed_with_a_pdf_and_recorded(client_a, provider, run_on_commit, mailoutbox):
    ContactFactory(client=client_a, email="dpo@a.fr", is_dpo=True)
    breach = BreachFactory(client=client_a, aware_at=AWARE)
    first_at = AWARE + datetime.timedelta(hours=20)
    with run_on_commit():
        initial = services.breach_notify_controller(actor=None, breach=breach, now=first_at)
    with pytest.raises(GdprError, match="informations nouvelles"):
        services.breach_notify_controller(actor=None, breach=breach, now=first_at)
    services.breach_update(actor=None, breach=breach, subjects_approx=15, records_approx=180)
    second_at = AWARE + datetime.timedelta(hours=50)
    with run_on_commit():
        complement = services.breach_notify_controller(
            actor=None, breach=breach, now=second_at, message="Trois salariés de plus concernés."
        )
    breach.refresh_from_db()
    assert breach.controller_notified_at == first_at and breach.status == BreachStatus.NOTIFIED
    assert [(n.sequence, n.stage) for n in breach.notifications.all()] == [
        (1, NotificationStage.INITIAL), (2, NotificationStage.COMPLEMENT)
    ]
    assert initial.content["subjects_approx"] == 12 and complement.content["subjects_approx"] == 15
    assert complement.recipients == ["dpo@a.fr"] and complement.sent_at == second_at
    for notification in (initial, complement):
        with default_storage.open(notification.pdf.name, "rb") as fh:
            assert fh.read(5) == b"%PDF-"
        assert notification.email.attachments[0]["path"] == notification.pdf.name
    assert [m.subject for m in mailoutbox] == [
        f"[RGPD] Violation de données {breach.reference} — notification initiale",
        f"[RGPD] Violation de données {breach.reference} — complément n° 1",
    ]
    assert mailoutbox[0].attachments[0][0] == f"{breach.reference}-1.pdf"
    assert mailoutbox[0].attachments[0][2] == "application/pdf"
    assert "Trois salariés de plus concernés." in mailoutbox[1].body
    assert "environ 15" in mailoutbox[1].body


def test_d6_cnil_is_notified_only_after_the_controllers_agreement(client_a, provider):
    breach = BreachFactory(client=client_a, aware_at=AWARE)
    t = AWARE + datetime.timedelta(hours=5)
    with pytest.raises(GdprError, match="Notifiez d'abord"):
        services.breach_record_cnil_agreement(actor=None, breach=breach, agreed_at=t, note="M. X")
    services.breach_notify_controller(actor=None, breach=breach, now=t)
    with pytest.raises(GdprError, match="après l'accord"):
        services.breach_record_cnil_notification(actor=None, breach=breach, notified_at=t, reference="CNIL-1")
    services.breach_record_cnil_agreement(actor=None, breach=breach, agreed_at=t, note="Accord de Mme Y par e-mail")
    breach = services.breach_record_cnil_notification(
        actor=None, breach=breach, notified_at=t + datetime.timedelta(hours=2), reference="CNIL-2026-42"
    )
    assert breach.cnil_reference == "CNIL-2026-42"
    assert breach.cnil_notified_at == t + datetime.timedelta(hours=2)


def test_l6_breaches_are_never_deleted_notified_or_not(client_a):
    breach = BreachFactory(client=client_a)
    with pytest.raises(GdprError, match="jamais supprimée"):
        breach.delete()
    with pytest.raises(GdprError, match="jamais supprimée"):
        Breach.objects.all().delete()
    assert Breach.objects.count() == 1
    with pytest.raises(GdprError, match="non notifiée"):
        services.breach_close(actor=None, breach=breach, now=AWARE)
