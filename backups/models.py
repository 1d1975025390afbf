"""Models of the backups app (built by its issue)."""
