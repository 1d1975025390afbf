"""Demo data of interventions (idempotent: natural keys are the client and the ticket title / call subject).

Tickets in every state (new, assigned, in progress, waiting on the client,
resolved, closed), one breached deadline, a call over 30 minutes with its
appointment proposal, a preventive plan with its first visit, the out-of-hours
rate table and an outage.
"""
import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model

from contracts.models import Client
from core.business_time import is_business_day
from core.dates import paris_datetime
from interventions import services
from interventions.choices import Category, Channel, InterventionKind, RateKind, Severity
from interventions.models import Intervention, Outage, OutOfHoursRate, PhoneCall, PreventivePlan, Ticket

RATES = {RateKind.WEEKDAY_EVENING: Decimal("85.00"), RateKind.SATURDAY: Decimal("110.00"),
         RateKind.SUNDAY_HOLIDAY: Decimal("140.00")}

# siren, title, severity, category, channel, days ago, what happens next
TICKETS = [
    ("845123454", "Poste de caisse bloqué au démarrage", Severity.BLOCKING, Category.HARDWARE, Channel.PHONE, 7, "breach"),
    ("845123454", "Imprimante du comptoir hors ligne", Severity.MINOR, Category.NETWORK, Channel.PORTAL, 0, "new"),
    ("790123459", "Outlook très lent sur le poste de l'accueil", Severity.MINOR, Category.OFFICE, Channel.EMAIL, 1,
     "assigned"),
    ("790123459", "Serveur de fichiers inaccessible", Severity.BLOCKING, Category.NETWORK, Channel.PHONE, 1,
     "in_progress"),
    ("834123457", "Accès Wi-Fi de l'atelier à reconfigurer", Severity.MINOR, Category.NETWORK, Channel.PORTAL, 2,
     "waiting"),
    ("834123457", "Mise à jour Windows bloquée", Severity.MINOR, Category.OPERATING_SYSTEM, Channel.REMOTE, 6,
     "resolved"),
    ("845123454", "Cartouches d'encre à remplacer", Severity.MINOR, Category.CONSUMABLES, Channel.PHONE, 12, "closed"),
]


def load(*, today, stdout):
    User = get_user_model()
    technician = User.objects.filter(username="technicien").first()
    for kind, rate in RATES.items():
        OutOfHoursRate.objects.get_or_create(kind=kind, valid_from=datetime.date(today.year, 1, 1),
                                             defaults={"hourly_rate": rate})
    clients = {c.siren: c for c in Client.objects.filter(siren__in={t[0] for t in TICKETS})}
    if len(clients) < 3:
        stdout.write("interventions: demo clients missing (load contracts' demo first), skipped.")
        return
    now = paris_datetime(today, 8, 30)
    for siren, title, severity, category, channel, days, fate in TICKETS:
        client = clients[siren]
        if Ticket.objects.filter(client=client, title=title).exists():
            continue
        opened = paris_datetime(today - datetime.timedelta(days=days), 10)
        if days == 0:
            opened = now
        ticket = services.ticket_open(client=client, severity=severity, category=category, channel=channel,
                                      title=title, actor=None, now=opened, description=title)
        if fate in ("assigned", "in_progress", "waiting") and technician:
            services.ticket_assign(ticket=ticket, technician=technician, actor=None, now=opened)
        if fate == "in_progress":
            visit = services.intervention_schedule(
                client=client, ticket=ticket, kind=InterventionKind.ONSITE, technician=technician,
                scheduled_start=opened + datetime.timedelta(hours=2), actor=None, now=opened)
            services.intervention_start(intervention=visit, actor=None, now=opened + datetime.timedelta(hours=2))
        elif fate == "waiting":
            services.ticket_wait_on_client(ticket=ticket, actor=None, now=opened + datetime.timedelta(hours=1),
                                           comment="Merci de nous communiquer le mot de passe de la box.")
        elif fate == "resolved":
            services.ticket_resolve(ticket=ticket, actor=None, now=opened + datetime.timedelta(hours=3),
                                    comment="Mises à jour installées en télémaintenance.")
        elif fate == "closed":
            services.ticket_resolve(ticket=ticket, actor=None, now=opened + datetime.timedelta(hours=5))
            services.ticket_close(ticket=ticket, actor=None, now=opened + datetime.timedelta(days=1))
    # S1: a call over 30 minutes opens a ticket with an appointment proposal.
    bakery = clients["845123454"]
    subject = "Logiciel de caisse : paramétrage des tickets"
    if not PhoneCall.objects.filter(client=bakery, subject=subject).exists():
        day = today - datetime.timedelta(days=1)
        while not is_business_day(day):
            day -= datetime.timedelta(days=1)
        start = paris_datetime(day, 10)
        services.phone_call_log(client=bakery, contact=bakery.contacts.first(), started_at=start,
                                ended_at=start + datetime.timedelta(minutes=42), subject=subject, actor=None,
                                now=start + datetime.timedelta(minutes=42))
    # S3: a quarterly preventive plan for the law firm; its first visit is planned by the nightly job.
    firm = clients["790123459"]
    contract = firm.contracts.order_by("pk").first()
    if contract and not PreventivePlan.objects.filter(contract=contract).exists():
        services.preventive_plan_create(contract=contract, frequency_months=3,
                                        first_visit_on=today + datetime.timedelta(days=10), technician=technician,
                                        site=firm.sites.first(), actor=None)
        services.preventive_visits_generate(today=today)
    # C7: an outage last month.
    garage_contract = clients["834123457"].contracts.order_by("pk").first()
    if garage_contract and not Outage.objects.filter(contract=garage_contract).exists():
        first = today.replace(day=1) - datetime.timedelta(days=20)
        Outage.objects.create(contract=garage_contract, started_at=paris_datetime(first, 9),
                              ended_at=paris_datetime(first, 15), description="Coupure de la fibre chez l'opérateur")
    result = services.sla_scan(now=now)
    stdout.write(
        f"interventions: {Ticket.objects.count()} tickets ({result['breached']} newly breached), "
        f"{Intervention.objects.count()} interventions, {PreventivePlan.objects.count()} preventive plan(s)."
    )
