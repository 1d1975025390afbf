"""Demo data of gdpr (idempotent): the register, a request in progress, a breach notified in two stages,
an instruction challenged as unlawful (D4) and an impact-assessment assistance request (D7)."""
import datetime

from contracts.models import Client
from core.dates import paris_datetime
from gdpr import services
from gdpr.choices import ControllerRequestKind, RequestKind
from gdpr.models import Breach, ControllerRequest, DataSubjectRequest

DEMO_REQUEST_EMAIL = "jeanne.martin@example.fr"
DEMO_BREACH_TITLE = "Vol d'un ordinateur portable du cabinet (démo)"
DEMO_INSTRUCTION_SUBJECT = "Transmission du fichier clients à un partenaire (démo)"
DEMO_DPIA_SUBJECT = "Analyse d'impact de la vidéosurveillance du magasin (démo)"


def load(*, today, stdout):
    register = services.register_sync()

    lemoine = Client.objects.filter(siren="845123454").first()
    durand = Client.objects.filter(siren="790123459").first()
    if lemoine is None or durand is None:
        stdout.write("gdpr demo: the contracts demo clients are missing, skipped.")
        return

    # A request in progress: received a week ago from a customer of the bakery, forwarded at once (D5).
    received = paris_datetime(today - datetime.timedelta(days=7), 10, 30)
    request = DataSubjectRequest.objects.filter(client=lemoine, requester_email=DEMO_REQUEST_EMAIL).first()
    if request is None:
        request = services.request_record(
            actor=None, client=lemoine, kind=RequestKind.ACCESS, requester_name="Jeanne Martin",
            requester_email=DEMO_REQUEST_EMAIL,
            description="Cliente de la boulangerie, je demande la copie des données me concernant "
                        "(carte de fidélité, commandes).",
            received_at=received, now=received.replace(minute=35),
        )

    # A breach with its initial notification and one complement (D6).
    breach = Breach.objects.filter(client=durand, title=DEMO_BREACH_TITLE).first()
    if breach is None:
        aware = paris_datetime(today - datetime.timedelta(days=3), 9, 0)
        breach = services.breach_record(
            actor=None, client=durand, title=DEMO_BREACH_TITLE, aware_at=aware, now=aware,
            occurred_at=aware - datetime.timedelta(hours=14),
            circumstances="Ordinateur portable volé dans le véhicule d'un technicien lors d'une intervention.",
            nature="Perte de confidentialité : ordinateur portable contenant une copie de fichiers clients "
                   "du cabinet, disque non chiffré.",
            subject_categories="Clients du cabinet (personnes physiques)",
            subjects_approx=40,
            record_categories="Noms, coordonnées, pièces de dossiers",
            records_approx=120,
            likely_consequences="Divulgation d'informations couvertes par le secret professionnel ; hameçonnage.",
            measures="Plainte déposée ; mots de passe des comptes du cabinet changés ; chiffrement des disques "
                     "de tous les portables des techniciens.",
        )
    if not breach.notifications.exists():
        services.breach_notify_controller(actor=None, breach=breach, now=breach.aware_at + datetime.timedelta(hours=6))
    if breach.notifications.count() == 1:
        breach = services.breach_update(actor=None, breach=breach, subjects_approx=52, records_approx=160)
        services.breach_notify_controller(
            actor=None, breach=breach, now=breach.aware_at + datetime.timedelta(hours=30),
            message="L'analyse de la sauvegarde du portable montre 52 personnes et 160 documents concernés.",
        )
    instruction, dpia = _controller_requests(lemoine, today)
    stdout.write(
        f"GDPR: instruction {instruction.reference} challenged, assistance request {dpia.reference} open."
    )
    stdout.write(
        f"GDPR: register lines created {register['register_lines_created']}, request {request.reference} "
        f"in progress, breach {breach.reference} notified in {breach.notifications.count()} stages."
    )


def _controller_requests(client, today):
    """D4: an instruction MIS flagged as unlawful; D7: an impact-assessment request waiting for its answer."""
    instruction = ControllerRequest.objects.filter(client=client, subject=DEMO_INSTRUCTION_SUBJECT).first()
    if instruction is None:
        received = paris_datetime(today - datetime.timedelta(days=5), 14, 10)
        instruction = services.controller_request_record(
            actor=None, client=client, kind=ControllerRequestKind.INSTRUCTION, subject=DEMO_INSTRUCTION_SUBJECT,
            description="Merci d'extraire le fichier des clients de la carte de fidélité et de l'envoyer à "
                        "notre partenaire traiteur pour sa prospection.",
            requester_name="Paul Lemoine", requester_email="paul@boulangerie-lemoine.fr",
            received_at=received, now=received,
        )
        services.controller_request_challenge(
            actor=None, request=instruction, now=received + datetime.timedelta(hours=2),
            reason="Les clients n'ont pas consenti à la transmission de leurs coordonnées à un tiers à des fins de "
                   "prospection (art. 6 du RGPD et L34-5 du CPCE) : nous n'exécutons pas cette instruction en l'état.",
        )
    dpia = ControllerRequest.objects.filter(client=client, subject=DEMO_DPIA_SUBJECT).first()
    if dpia is None:
        received = paris_datetime(today - datetime.timedelta(days=2), 9, 0)
        dpia = services.controller_request_record(
            actor=None, client=client, kind=ControllerRequestKind.DPIA, subject=DEMO_DPIA_SUBJECT,
            description="Nous installons deux caméras dans le magasin : pouvez-vous nous aider pour l'AIPD "
                        "(description technique, durée de conservation des images, sécurité) ?",
            requester_name="Paul Lemoine", requester_email="paul@boulangerie-lemoine.fr",
            received_at=received, now=received,
        )
    return instruction, dpia
