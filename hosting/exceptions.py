from core.exceptions import DomainError


class HostingError(DomainError):
    """A hosting rule refused the operation (the message says which and why)."""
