"""Sundhed's side of Fælles Medicinkort (FMK).

- `requests.py` builds FMK's SOAP requests (FMK 1.4.6, the WSDL in `wsdl/`) and the headers FMK
  requires: the identity card in `wsse:Security`, the MedCom header with the message id (the
  request id that makes a retry safe) and the whitelisting header.
- `transport.py` is the one module that moves bytes: HTTP POST with timeouts, retries with
  backoff and a circuit breaker shared by every process. A production connection through the
  national service platform (NSP) with an STS-issued, OCES3-signed identity card replaces this
  module and nothing else (README, "FMK in production").
- `reader.py` reads FMK's answers: what it knows, never failing on what it does not.
- `client.py` is what the services call: one function per FMK operation.
"""
