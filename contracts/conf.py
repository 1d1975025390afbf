"""Settings of the contracts app, with their defaults (override them in the Django settings)."""
from django.conf import settings


def notice_reminder_days() -> list[int]:
    """Lead times, in days before the notice deadline (CGV C3), of the reminder e-mails."""
    return sorted(getattr(settings, "CONTRACT_NOTICE_REMINDER_DAYS", (60, 15)), reverse=True)


def syntec_coefficient_decimals() -> int | None:
    """Decimals the Syntec coefficient is rounded to (half-up) before use; ``None`` = full precision (P3)."""
    return getattr(settings, "CONTRACT_SYNTEC_COEFFICIENT_DECIMALS", None)


def equipment_restitution_days() -> int:
    """Days after the end of the contract for leased equipment to be returned (CGV C9)."""
    return getattr(settings, "CONTRACT_EQUIPMENT_RESTITUTION_DAYS", 15)
