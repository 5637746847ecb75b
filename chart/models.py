"""Models of chart."""
