from core.exceptions import DomainError


class BillingError(DomainError):
    """A billing rule refused the operation (the message says which and why)."""
