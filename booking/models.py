"""Models of booking."""
