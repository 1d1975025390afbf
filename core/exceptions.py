"""The base of every app's domain exception.

Each app subclasses :class:`DomainError` once (``BillingError``,
``ContractError``…). The message is written for the user who can act on it;
views turn it into a form error or a message, never a server error.
"""


class DomainError(Exception):
    """A business rule refused the operation; ``str(exc)`` says why and what to do."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class CoreError(DomainError):
    pass
