"""Models of labresults."""
