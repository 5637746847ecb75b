"""The models of labresults, one module per part (a package once it grows).

- intake: `InboundMessage` (raw, as received), `MllpSender`, `SystemClient`, `FhirSource`
- catalogue: `Analysis`, `ReferenceInterval`, `Panel`
- results: `LabReport`, `LabResult`, `ResultStatus`, `IMAGING_SECTIONS`
- orders: `LabOrder`, `LabOrderMessage` (its sending, a kind of the outbox)
- inbox: `InboxItem`
- imaging: `DicomObject`
"""

from labresults.models.catalogue import Analysis, Panel, ReferenceInterval
from labresults.models.imaging import DicomObject, dicom_file_name, dicom_thumbnail_name
from labresults.models.inbox import InboxItem
from labresults.models.intake import FhirSource, InboundMessage, MllpSender, SystemClient
from labresults.models.orders import LabOrder, LabOrderMessage
from labresults.models.results import IMAGING_SECTIONS, LabReport, LabResult, ResultStatus

__all__ = [
    "IMAGING_SECTIONS",
    "Analysis",
    "DicomObject",
    "FhirSource",
    "InboundMessage",
    "InboxItem",
    "LabOrder",
    "LabOrderMessage",
    "LabReport",
    "LabResult",
    "MllpSender",
    "Panel",
    "ReferenceInterval",
    "ResultStatus",
    "SystemClient",
    "dicom_file_name",
    "dicom_thumbnail_name",
]
