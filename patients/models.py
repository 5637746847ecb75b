"""Models of patients."""
