from core.exceptions import DomainError


class InterventionError(DomainError):
    """An intervention or ticket rule refused the operation (the message says which and why)."""
