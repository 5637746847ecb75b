"""Models of fhir."""
