"""Models of the interventions app (built by its issue)."""
