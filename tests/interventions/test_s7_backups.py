"""CGV S7: the client makes and checks its own backups, unless it has the backup option (then MIS does)."""
import datetime
from zoneinfo import ZoneInfo

import pytest

from interventions import services
from interventions.choices import Category, Channel, InterventionKind
from interventions.exceptions import InterventionError
from tests.factories.contracts import ContractFactory

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))


def _backup_ticket(contract):
    return services.ticket_open(client=contract.client, severity=2, category=Category.BACKUP_MANAGEMENT,
                                title="Vérifier la sauvegarde du serveur", channel=Channel.PHONE, actor=None, now=NOW)


def test_s7_without_the_backup_option_backup_management_is_the_clients_and_needs_a_quote():
    ticket = _backup_ticket(ContractFactory(has_backup=False))
    assert not ticket.is_covered
    visit = services.intervention_schedule(client=ticket.client, ticket=ticket, kind=InterventionKind.ONSITE,
                                           scheduled_start=NOW + datetime.timedelta(days=1), actor=None, now=NOW)
    with pytest.raises(InterventionError) as exc:
        services.intervention_start(intervention=visit, actor=None, now=NOW + datetime.timedelta(days=1))
    assert exc.value.code == "quote_required"


def test_s7_with_the_backup_option_backup_management_is_covered_by_the_contract():
    ticket = _backup_ticket(ContractFactory(has_backup=True))
    assert ticket.is_covered
    visit = services.intervention_schedule(client=ticket.client, ticket=ticket, kind=InterventionKind.ONSITE,
                                           scheduled_start=NOW + datetime.timedelta(days=1), actor=None, now=NOW)
    started = services.intervention_start(intervention=visit, actor=None, now=NOW + datetime.timedelta(days=1))
    assert started.started_at == NOW + datetime.timedelta(days=1)
