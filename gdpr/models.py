"""Models of the gdpr app (built by its issue)."""
