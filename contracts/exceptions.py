from core.exceptions import DomainError


class ContractError(DomainError):
    """A contract rule refused the operation (the message says which and why)."""
