"""fmksim: Fælles Medicinkort (FMK) simulated, SOAP per FMK's own WSDL (see __main__.py)."""
