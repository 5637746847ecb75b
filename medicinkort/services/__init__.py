"""Every write of medicinkort, one module a concern:

- `reads`: reads of the FMK card asked for, run by a worker and stored as snapshots;
- `orders`: hospital orders, with the checks at ordering and co-signing;
- `administration`: the nurses' record of what was given (MAR);
- `reconciliation`: admission and discharge reconciliation, confirmed once;
- `outbox`: the changes for FMK, a kind of the outbox's durable work, sent in order with their
  request ids.
"""

from medicinkort.services.administration import administration_record
from medicinkort.services.orders import (
    ChecksNeedReasons,
    OrderData,
    dosage_propose,
    drug_warnings,
    order_cosign,
    order_create,
    order_stop,
    times_from_text,
)
from medicinkort.services.reads import (
    NoFmkIdentity,
    card_read_on_admission,
    card_read_request,
    card_read_run,
    identity_for,
)
from medicinkort.services.reconciliation import (
    CardChanged,
    Decision,
    QueueChanged,
    reconciliation_confirm,
    reconciliation_not_updated,
)

__all__ = [
    "CardChanged",
    "ChecksNeedReasons",
    "Decision",
    "NoFmkIdentity",
    "OrderData",
    "QueueChanged",
    "administration_record",
    "card_read_on_admission",
    "dosage_propose",
    "drug_warnings",
    "times_from_text",
    "card_read_request",
    "card_read_run",
    "identity_for",
    "order_cosign",
    "order_create",
    "order_stop",
    "reconciliation_confirm",
    "reconciliation_not_updated",
]
