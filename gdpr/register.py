"""The standard lines of the processor's register (Art. 30(2)), derived from the contract's options.

Wording follows the CGV (art. 2, 12, 14; backup annex K1–K3; hosting annex H1–H2).
Staff may edit a line for a client, or add free lines; the nightly sync only
creates the lines that are missing.
"""
from gdpr.choices import ActivityCode

SECURITY_MEASURES = (
    "Accès limité aux personnels habilités de MIS dont la fonction le requiert (D2) ; comptes nominatifs et "
    "mots de passe robustes ; journal d'audit des accès et des modifications ; postes et serveurs tenus à jour ; "
    "prise en main à distance uniquement avec l'accord de l'utilisateur (S4) ; chiffrement des échanges ; "
    "obligation de confidentialité des personnels, y compris après le contrat (C13) ; procédure de gestion des "
    "violations de données (notification sous 72 heures, D6)."
)

ACTIVITIES = {
    ActivityCode.MAINTENANCE: dict(
        name="Maintenance et assistance informatique",
        purpose=(
            "Assistance téléphonique, télémaintenance et maintenance sur site des postes, serveurs, logiciels et "
            "réseaux couverts par le contrat (CGV art. 2 et 12) : accès ponctuel aux données présentes sur les "
            "équipements, uniquement pour l'intervention demandée."
        ),
        data_subjects="Salariés et collaborateurs du client ; personnes dont les données figurent sur ses équipements.",
        data_categories=(
            "Données d'identification et de contact des utilisateurs ; toute donnée stockée sur les équipements "
            "maintenus (accès incident, sans extraction)."
        ),
        retention="Pendant la durée du contrat ; les données du client ne sont pas copiées hors de ses équipements.",
    ),
    ActivityCode.BACKUP: dict(
        name="Sauvegarde de données (option)",
        purpose=(
            "Sauvegarde incrémentale, compression et chiffrement éventuel des données des postes, NAS ou serveurs ; "
            "restauration à la demande (annexe sauvegarde, K1–K3)."
        ),
        data_subjects="Toute personne dont les données figurent dans les fichiers sauvegardés par le client.",
        data_categories="Contenu des fichiers sauvegardés (déterminé par le client).",
        retention="Rétention de 5 semaines ou 12 mois selon le contrat (K3) ; suppression ou restitution en fin de contrat (D10).",
    ),
    ActivityCode.HOSTING: dict(
        name="Hébergement de messagerie et de sites web (option)",
        purpose="Hébergement de boîtes aux lettres IMAP ou Exchange et de sites web du client (annexe hébergement, H1–H2).",
        data_subjects="Utilisateurs des boîtes aux lettres et leurs correspondants ; visiteurs des sites web.",
        data_categories="Courriers électroniques et pièces jointes, carnets d'adresses, contenus et journaux des sites.",
        retention="Pendant la durée du contrat ; suppression ou restitution en fin de contrat (D10).",
    ),
}

# Contract flags that make MIS process data for each line.
OPTION_FLAGS = {
    ActivityCode.MAINTENANCE: "has_maintenance",
    ActivityCode.BACKUP: "has_backup",
    ActivityCode.HOSTING: "has_hosting",
}
