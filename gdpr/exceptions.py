from core.exceptions import DomainError


class GdprError(DomainError):
    """A personal-data rule (CGV D1–D10, GDPR) refused the operation; the message says why."""
