"""Models of the billing app (built by its issue)."""
