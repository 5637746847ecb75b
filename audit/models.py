"""Models of audit."""
