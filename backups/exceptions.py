from core.exceptions import DomainError


class BackupError(DomainError):
    """A backup-option rule refused the operation (the message says which and why)."""


class ReportInvalid(BackupError):
    """A job report failed validation; ``field`` names the offending field (API 400, CSV line error)."""

    def __init__(self, message: str, *, field: str, code: str = "invalid"):
        super().__init__(message, code=code)
        self.field = field
