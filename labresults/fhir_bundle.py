"""Results from a FHIR R4 Bundle: DiagnosticReports with their Observations and Patient.

The bundle is validated with `fhir.resources.R4B`; what we need is mapped onto the same
`ResultMessage` an ORU becomes, so both take one road into the database. A Danish patient is
found by the CPR identifier system (urn:oid:1.2.208.176.1.2) on the referenced Patient or on the
report's subject; analysis codes prefer NPU, then LOINC, then the first coding.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop as _
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from labresults.hl7.oru import Observation, Order, ResultMessage
from labresults.hl7.parser import Hl7Error

NOT_A_BUNDLE = _("Not a valid FHIR R4 Bundle: %(detail)s")

FHIR = "FHIR Bundle"  # the message type of a stored bundle
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
NPU_SYSTEMS = ("urn:oid:1.2.208.176.2.1", "http://npu-terminology.org")
LOINC = "http://loinc.org"
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
REPORT_STATUS = {
    "registered": "preliminary",
    "partial": "preliminary",
    "preliminary": "preliminary",
    "final": "final",
    "amended": "corrected",
    "corrected": "corrected",
    "appended": "corrected",
    "cancelled": "cancelled",
    "entered-in-error": "cancelled",
}


class FhirError(Hl7Error):
    """A bundle we cannot take: the reason goes to the error queue (and the 4xx body)."""


def looks_like_fhir(raw: bytes) -> bool:
    """Whether the body is JSON (a FHIR resource) rather than an HL7 v2 message."""
    return raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def bundle_parse(raw: bytes) -> Bundle:
    """The validated Bundle, or FhirError naming what is wrong."""
    try:
        bundle = Bundle.model_validate_json(raw.lstrip(b"\xef\xbb\xbf"))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        raise FhirError(NOT_A_BUNDLE, code="AE", detail=f"{where}: {first.get('msg')}") from None
    except ValueError as error:
        raise FhirError(NOT_A_BUNDLE, code="AE", detail=error) from None
    return bundle


def bundle_identity(bundle: Bundle) -> str:
    """A stable id for duplicate detection: the bundle's identifier or id."""
    if bundle.identifier and bundle.identifier.value:
        return bundle.identifier.value[:100]
    return (bundle.id or "")[:100]


def _when(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=COPENHAGEN)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=COPENHAGEN)


def _coding(concept):
    """(code, display, system) of a CodeableConcept: NPU first, then LOINC, then the first."""
    codings = list(concept.coding or []) if concept else []
    for preferred in (NPU_SYSTEMS, (LOINC,)):
        for coding in codings:
            if coding.system in preferred and coding.code:
                return coding.code, coding.display or concept.text or "", coding.system
    if codings and codings[0].code:
        c = codings[0]
        return c.code, c.display or concept.text or "", c.system or ""
    return "", (concept.text or "") if concept else "", ""


def _index(bundle: Bundle) -> dict:
    """Resources by every way a reference may name them: fullUrl, Type/id."""
    found = {}
    for entry in bundle.entry or []:
        resource = entry.resource
        if resource is None:
            continue
        kind = resource.get_resource_type()
        if entry.fullUrl:
            found[entry.fullUrl] = resource
        if resource.id:
            found[f"{kind}/{resource.id}"] = resource
    return found


def _resolve(reference, index: dict, container=None):
    if reference is None or not reference.reference:
        return None
    ref = reference.reference
    if ref.startswith("#") and container is not None:
        for contained in container.contained or []:
            if contained.id == ref[1:]:
                return contained
        return None
    if ref in index:
        return index[ref]
    # An absolute URL ending in Type/id.
    tail = "/".join(ref.rstrip("/").split("/")[-2:])
    return index.get(tail)


def _patient_ids(report, index) -> list[tuple[str, str]]:
    ids = []
    subject = report.subject
    if subject is not None and subject.identifier is not None:
        ids.append((subject.identifier.value or "", subject.identifier.system or ""))
    patient = _resolve(subject, index, report)
    if patient is not None and patient.get_resource_type() == "Patient":
        for identifier in patient.identifier or []:
            ids.append((identifier.value or "", identifier.system or ""))
    # CPR numbers first; other identifiers are kept so the error names them.
    ids.sort(key=lambda pair: pair[1] != CPR_SYSTEM)
    return [(value, "CPR" if system == CPR_SYSTEM else system) for value, system in ids if value]


def _observation(resource, report_status: str, report_time) -> Observation:
    code, name, system = _coding(resource.code)
    values, numeric, unit = [], None, ""
    if resource.valueQuantity is not None and resource.valueQuantity.value is not None:
        numeric = Decimal(str(resource.valueQuantity.value))
        comparator = resource.valueQuantity.comparator or ""
        values = [f"{comparator}{resource.valueQuantity.value}"]
        unit = resource.valueQuantity.unit or resource.valueQuantity.code or ""
        if comparator:
            numeric = None
    elif resource.valueString is not None:
        values = [resource.valueString]
    elif resource.valueCodeableConcept is not None:
        code_value, display, _system = _coding(resource.valueCodeableConcept)
        values = [display or code_value]
    elif resource.valueInteger is not None:
        numeric, values = Decimal(resource.valueInteger), [str(resource.valueInteger)]
    reference_range = ""
    if resource.referenceRange:
        first = resource.referenceRange[0]
        low = first.low.value if first.low is not None else None
        high = first.high.value if first.high is not None else None
        if low is not None or high is not None:
            reference_range = f"{'' if low is None else low}-{'' if high is None else high}"
        elif first.text:
            reference_range = first.text
    flags = [
        coding.code
        for concept in resource.interpretation or []
        for coding in concept.coding or []
        if coding.code
    ]
    return Observation(
        set_id=resource.id or "",
        value_type="NM" if numeric is not None else "ST",
        code=code or (resource.id or ""),
        name=name,
        coding_system=system,
        values=values,
        unit=unit,
        reference_range=reference_range[:60],
        flags=flags,
        status=REPORT_STATUS.get(resource.status or "", report_status),
        observed_at=_when(resource.effectiveDateTime) or _when(resource.issued) or report_time,
    )


def extract_fhir_results(raw: bytes) -> ResultMessage:
    """Map a Bundle's DiagnosticReports onto a ResultMessage; FhirError when it has none."""
    bundle = bundle_parse(raw)
    index = _index(bundle)
    # DiagnosticReports (fhir.resources types an entry's resource as any resource).
    reports: list[Any] = [
        entry.resource
        for entry in bundle.entry or []
        if entry.resource is not None and entry.resource.get_resource_type() == "DiagnosticReport"
    ]
    if not reports:
        raise FhirError(_("The bundle holds no DiagnosticReport."), code="AR")
    patient_ids: list = []
    orders = []
    for report in reports:
        for pair in _patient_ids(report, index):
            if pair not in patient_ids:
                patient_ids.append(pair)
        status = REPORT_STATUS.get(report.status or "", "final")
        when = _when(report.effectiveDateTime) or _when(report.issued)
        code, name, _system = _coding(report.code)
        filler = next((i.value for i in report.identifier or [] if i.value), None) or report.id
        if not filler:
            raise FhirError(_("A DiagnosticReport has neither identifier nor id."), code="AE")
        placer = ""
        for based_on in report.basedOn or []:
            if based_on.identifier is not None and based_on.identifier.value:
                placer = based_on.identifier.value
            request = _resolve(based_on, index, report)
            if not placer and request is not None:
                placer = next((i.value for i in request.identifier or [] if i.value), "")
        observations = []
        for reference in report.result or []:
            resource = _resolve(reference, index, report)
            if resource is not None and resource.get_resource_type() == "Observation":
                observations.append(_observation(resource, status, when))
        notes = [report.conclusion] if report.conclusion else []
        section = next(
            (c.code for concept in report.category or [] for c in concept.coding or [] if c.code),
            "",
        )
        study_uids = []
        for reference in report.imagingStudy or []:
            study = _resolve(reference, index, report)
            for identifier in (study.identifier or []) if study is not None else []:
                if identifier.system == "urn:dicom:uid" and identifier.value:
                    study_uids.append(identifier.value.removeprefix("urn:oid:"))
        if report.imagingStudy and not section:
            section = "RAD"
        orders.append(
            Order(
                placer_order=placer,
                filler_order=filler,
                service_code=code,
                service_name=name,
                status=status,
                observed_at=when,
                reported_at=_when(report.issued),
                observations=observations,
                notes=notes,
                section=section.upper()[:10],
                study_uids=study_uids,
            )
        )
    return ResultMessage(patient_ids=patient_ids, patient_name="", orders=orders)
