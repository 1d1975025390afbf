from core.exceptions import DomainError


class PaymentsError(DomainError):
    """A payments or dunning rule refused the operation (the message says which and why)."""
