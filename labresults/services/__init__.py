"""Every write of labresults, one module per part; the names callers use are here.

- intake: receive HL7 v2 and FHIR (store, then answer), the MLLP sender check, reprocess a
  queued message, pull a FHIR source, register an HTTP system client
- processing: file a stored message's reports and results (a Celery task calls it)
- inbox: the inbox item of a report, acknowledgement, escalation of critical values
- orders: create an order, send it to the laboratory
- imaging: receive a DICOM file, read it within limits, draw its key image

The stored messages, the order messages and the DICOM files are kinds of the outbox's durable
work (`labresults.kinds`), registered in LabresultsConfig.ready.
"""

from labresults.services.imaging import (
    dicom_object_process,
    dicom_object_receive,
    dicom_upload_problem,
)
from labresults.services.inbox import (
    critical_results_escalate,
    inbox_item_acknowledge,
    inbox_item_refresh,
    inbox_items_acknowledge,
)
from labresults.services.intake import (
    Incoming,
    Receipt,
    fhir_bundle_receive,
    fhir_source_pull,
    inbound_message_conflict_resolve,
    inbound_message_receive,
    inbound_message_reprocess,
    inbound_messages_receive,
    mllp_sender_refusal,
    system_client_create,
    token_hash,
)
from labresults.services.orders import ORDER_ROLES, lab_order_create, lab_order_send
from labresults.services.processing import (
    MAX_ATTEMPTS,
    inbound_message_process,
    inbound_messages_process,
)

__all__ = [
    "MAX_ATTEMPTS",
    "ORDER_ROLES",
    "Incoming",
    "Receipt",
    "critical_results_escalate",
    "dicom_object_process",
    "dicom_object_receive",
    "dicom_upload_problem",
    "fhir_bundle_receive",
    "fhir_source_pull",
    "inbound_message_process",
    "inbound_message_conflict_resolve",
    "inbound_message_receive",
    "inbound_message_reprocess",
    "inbound_messages_receive",
    "inbox_item_acknowledge",
    "inbox_item_refresh",
    "inbox_items_acknowledge",
    "lab_order_create",
    "lab_order_send",
    "mllp_sender_refusal",
    "inbound_messages_process",
    "system_client_create",
    "token_hash",
]
