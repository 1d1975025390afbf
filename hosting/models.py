"""Models of the hosting app (built by its issue)."""
