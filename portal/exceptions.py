from core.exceptions import DomainError


class PortalError(DomainError):
    """A portal rule refused the operation (managing the company's portal users)."""
