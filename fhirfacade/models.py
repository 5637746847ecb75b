"""Models of fhirfacade (the FHIR R4 facade)."""
