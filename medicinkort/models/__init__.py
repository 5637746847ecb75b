"""Models of medicinkort: the drug catalogue and interactions, hospital orders and their
administrations, reconciliations, and what is read from and written to FMK."""

from medicinkort.models.catalogue import Drug, Interaction
from medicinkort.models.fmk import CardLine, CardRead, CardSnapshot, FmkWrite
from medicinkort.models.orders import Administration, CheckOverride, MedicationOrder
from medicinkort.models.reconciliation import Reconciliation, ReconciliationLine

__all__ = [
    "Administration",
    "CardLine",
    "CardRead",
    "CardSnapshot",
    "CheckOverride",
    "Drug",
    "FmkWrite",
    "Interaction",
    "MedicationOrder",
    "Reconciliation",
    "ReconciliationLine",
]
