"""Models of organisation."""
