"""The SOAP side of fmksim: envelopes in, FMK's answers or FMK-shaped faults out.

SOAP 1.1, document/literal, as FMK's WSDL binds it. Every request must carry the headers FMK
requires: a DGWS/IDWS identity card (a SAML assertion) in `wsse:Security` naming the user's
authorisation id and role, the MedCom header with a message id, and the whitelisting header.
The signature is not verified (nothing here holds OCES3 certificates). The body must be valid
against FMK's schemas. A write must carry the card's current version. An answer is kept by the
message id, so a request sent again after a lost answer gets the same answer and changes
nothing a second time (DGWS's duplicate detection).
"""

from dataclasses import dataclass

from lxml import etree

from simulators.fmksim.cards import (
    BASE,
    E2,
    E6,
    NSMAP,
    RECORDED,
    CardStore,
    FmkError,
    child,
    children,
    local,
    text_of,
)
from simulators.fmksim.wsdl import operations, schema

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MEDCOM = "http://www.medcom.dk/dgws/2006/04/dgws-1.0.xsd"
WHITELIST = "http://www.sdsd.dk/dgws/2012/06"
# The DGWS role codes that may write to FMK on their own authority: doctor, dentist.
PRESCRIBING_ROLES = {"7170", "5433-doctor", "doctor", "7175", "dentist"}
WRITES = {
    "CreateDrugMedication_2015_06_01_E2",
    "UpdateDrugMedication_2015_06_01_E2",
    "PauseDrugMedication_2015_06_01",
    "UnpauseDrugMedication_2015_06_01",
    "WithdrawDrugMedication_2015_06_01",
    "SetMedicineCardReviewed_2015_06_01",
    "SetMedicineCardNotReviewed_2015_06_01",
    "GiveConsent_2015_06_01",
    "RemoveConsent_2015_06_01",
}


@dataclass
class IdCard:
    """What fmksim reads of the identity card: who asks, in which role."""

    authorisation: str
    role: str
    name: str


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def fault(code: str, text: str, *, client: bool = True, dgws: str = "") -> bytes:
    """A SOAP 1.1 fault shaped like FMK's: DGWS fault code, FMK's text and details."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(element, "faultcode").text = "soap:Client" if client else "soap:Server"
    etree.SubElement(element, "faultstring").text = text
    detail = etree.SubElement(element, "detail")
    dgws_code = etree.SubElement(detail, f"{{{MEDCOM}}}FaultCode", nsmap={"medcom": MEDCOM})
    dgws_code.text = dgws or ("syntax_error" if client else "processing_problem")
    etree.SubElement(detail, f"{{{BASE}}}FaultText", nsmap={None: BASE}).text = text
    details = etree.SubElement(detail, f"{{{BASE}}}FaultDetails", nsmap={None: BASE})
    pair = etree.SubElement(details, f"{{{BASE}}}KeyValueSet")
    etree.SubElement(pair, f"{{{BASE}}}Key").text = "ErrorCode"
    etree.SubElement(pair, f"{{{BASE}}}Value").text = code
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def envelope(body_element) -> bytes:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
    etree.SubElement(env, f"{{{SOAP_ENV}}}Body").append(body_element)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _id_card(header) -> IdCard:
    security = header.find(f"{{{WSSE}}}Security") if header is not None else None
    if security is None:
        raise FmkError(
            "MissingSecurityHeader",
            "Forespørgslen mangler wsse:Security med et DGWS/IDWS-id-kort.",
            dgws="missing_required_header",
        )
    assertion = security.find(f"{{{SAML}}}Assertion")
    if assertion is None:
        raise FmkError(
            "MissingIdCard",
            "wsse:Security indeholder ikke et id-kort (saml:Assertion).",
            dgws="invalid_idcard",
        )
    values = {}
    for attribute in assertion.iter(f"{{{SAML}}}Attribute"):
        value = attribute.find(f"{{{SAML}}}AttributeValue")
        values[attribute.get("Name")] = (value.text or "").strip() if value is not None else ""
    authorisation = values.get("medcom:UserAuthorizationCode", "")
    role = values.get("medcom:UserRole", "")
    if not authorisation or not role:
        raise FmkError(
            "IdCardIncomplete",
            "Id-kortet mangler brugerens autorisationskode eller rolle "
            "(medcom:UserAuthorizationCode, medcom:UserRole).",
            dgws="invalid_idcard",
        )
    name = " ".join(
        filter(None, [values.get("medcom:UserGivenName"), values.get("medcom:UserSurName")])
    )
    return IdCard(authorisation, role, name)


def _message_id(header) -> str:
    medcom = header.find(f"{{{MEDCOM}}}Header") if header is not None else None
    found = (
        medcom.find(f"{{{MEDCOM}}}Linking/{{{MEDCOM}}}MessageID") if medcom is not None else None
    )
    if found is None or not (found.text or "").strip():
        raise FmkError(
            "MissingMedComHeader",
            "Forespørgslen mangler medcom:Header med Linking/MessageID.",
            dgws="missing_required_header",
        )
    if header.find(f"{{{WHITELIST}}}WhitelistingHeader") is None:
        raise FmkError(
            "MissingWhitelistingHeader",
            "Forespørgslen mangler WhitelistingHeader (systemets whitelisting).",
            dgws="missing_required_header",
        )
    return found.text.strip()


def _check_author(request, card: IdCard, operation: str, header) -> None:
    """A write is made by the id card's holder (or on behalf of a doctor, with OnBehalfOf)."""
    if card.role not in PRESCRIBING_ROLES and header.find(f"{{{BASE}}}OnBehalfOf") is None:
        raise FmkError(
            "NotAuthorised",
            f"Rollen {card.role} må ikke ændre medicinkortet uden OnBehalfOf.",
            dgws="not_authorized",
        )
    for professional in request.iter(f"{{{BASE}}}AuthorisedHealthcareProfessional"):
        parent = professional.getparent()
        if local(parent) in ("AuthorisedBy",):
            continue
        found = text_of(professional, "AuthorisationIdentifier")
        if found and found != card.authorisation and header.find(f"{{{BASE}}}OnBehalfOf") is None:
            raise FmkError(
                "NotAuthorised",
                f"{operation}: ændringen angiver autorisation {found}, men id-kortet er "
                f"udstedt til {card.authorisation}.",
                dgws="not_authorized",
            )


class Service:
    """Answers SOAP requests from a CardStore."""

    def __init__(self, store: CardStore):
        self.store = store
        self.operations = operations()
        self.schema = schema()

    def handle(self, action: str, payload: bytes) -> tuple[int, bytes]:
        """(HTTP status, SOAP envelope) for one POST."""
        try:
            return 200, self._handle(action.strip().strip('"'), payload)
        except FmkError as error:
            return 500, fault(error.code, error.text, client=error.client, dgws=error.dgws)

    def _handle(self, action: str, payload: bytes) -> bytes:
        try:
            root = etree.fromstring(payload, _PARSER)
        except etree.XMLSyntaxError as error:
            raise FmkError(
                "MalformedXml", f"Forespørgslen er ikke velformet XML: {error}"
            ) from None
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise FmkError("NotSoap11", "Forventede en SOAP 1.1-envelope.")
        header = root.find(f"{{{SOAP_ENV}}}Header")
        body = root.find(f"{{{SOAP_ENV}}}Body")
        request = (
            next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        )
        if request is None:
            raise FmkError("EmptyBody", "SOAP Body er tom.")
        operation = self.operations.get(action)
        if operation is None:
            by_element = [op for op in self.operations.values() if op.input == request.tag]
            if len(by_element) != 1:
                raise FmkError("UnknownOperation", f"Ukendt SOAPAction: {action!r}.")
            operation = by_element[0]
        if request.tag != operation.input:
            raise FmkError(
                "WrongBody", f"{operation.name} forventer {operation.input}, fik {request.tag}."
            )
        id_card = _id_card(header)
        message_id = _message_id(header)
        with self.store.lock:
            if message_id in self.store.replies:
                self.store.log.append({"operation": operation.name, "message_id": message_id,
                                       "replayed": True})  # fmt: skip
                return self.store.replies[message_id]
            errors = list(self.schema.iter_errors(request))
            if errors:
                first = errors[0]
                reason = getattr(first, "reason", None) or str(first).splitlines()[0]
                where = getattr(first, "path", "") or ""
                raise FmkError(
                    "SchemaValidation",
                    f"Forespørgslen overholder ikke FMK's skema ({where}): {reason}",
                )
            if operation.name in WRITES:
                _check_author(request, id_card, operation.name, header)
            handler = getattr(self, "_" + operation.name.split("_")[0], None)
            if handler is None:
                raise FmkError(
                    "NotSimulated", f"{operation.name} er ikke med i fmksim.", client=False
                )
            answer = envelope(handler(request, header, operation.output))
            self.store.replies[message_id] = answer
            self.store.log.append({"operation": operation.name, "message_id": message_id,
                                   "replayed": False})  # fmt: skip
            return answer

    # --- reads ----------------------------------------------------------------------------
    def _GetMedicineCard(self, request, header, output):
        cpr = text_of(request, "PersonIdentifier")
        card = self.store.card(cpr)
        consent = header.find(f"{{{BASE}}}ConsentHeader")
        shown = self.store.answer_card(
            card,
            with_private=consent is not None,
            with_withdrawn=child(request, "IncludeWithdrawnDrugMedications") is not None,
        )
        answer = etree.Element(output, nsmap=NSMAP)
        answer.append(shown)
        return answer

    def _GetPrescription(self, request, header, output):
        cpr = text_of(request, "PersonIdentifier")
        recorded = RECORDED / f"get-prescription-{cpr}.xml"
        if recorded.exists():
            return etree.parse(str(recorded)).getroot()
        # No prescriptions recorded for this person: the patient and nothing else.
        answer = etree.Element(output, nsmap=NSMAP)
        patient = etree.SubElement(answer, f"{{{E6}}}Patient")
        person = child(child(self.store.card(cpr).element, "Patient"), "Person")
        patient.append(etree.fromstring(etree.tostring(person)))
        return answer

    # --- writes ---------------------------------------------------------------------------
    def _card_for_write(self, request):
        card = self.store.card(text_of(request, "PersonIdentifier"))
        self.store.check_version(card, text_of(request, "MedicineCardVersion"))
        return card

    def _answer(self, output, card, done):
        answer = etree.Element(output, nsmap={None: BASE})
        identifier = etree.SubElement(answer, f"{{{BASE}}}PersonIdentifier", source="CPR")
        identifier.text = card.cpr
        etree.SubElement(answer, f"{{{BASE}}}MedicineCardVersion").text = str(card.version)
        for dm_identifier, dm_version in done:
            dm = etree.SubElement(answer, f"{{{BASE}}}DrugMedication")
            etree.SubElement(dm, f"{{{BASE}}}Identifier").text = dm_identifier
            etree.SubElement(dm, f"{{{BASE}}}Version").text = dm_version
        return answer

    def _write(self, request, output, by_name: str, change):
        card = self._card_for_write(request)
        by = child(request, by_name)
        wanted = children(request, "DrugMedication")
        done = change(card, by, wanted)
        # What FMK keeps of a change's metadata (the clinician's reason, in this version).
        for request_dm, (identifier, _) in zip(wanted, done, strict=False):
            texts = [m.text or "" for m in children(request_dm, "ModificationMetadata")]
            if texts:
                self.store.metadata.setdefault((card.cpr, identifier), []).extend(texts)
        self.store.bump(card, by)
        return self._answer(output, card, done)

    def _CreateDrugMedication(self, request, header, output):
        if child(request, "CreatedBy") is None:
            raise FmkError("MissingCreatedBy", "CreatedBy skal angives.")
        return self._write(request, output, "CreatedBy", self.store.create)

    def _UpdateDrugMedication(self, request, header, output):
        if child(request, "ModifiedBy") is None:
            raise FmkError("MissingModifiedBy", "ModifiedBy skal angives.")
        return self._write(request, output, "ModifiedBy", self.store.update)

    def _PauseDrugMedication(self, request, header, output):
        return self._write(
            request, output, "PausedBy", lambda c, b, r: self.store.pause(c, b, r, pause=True)
        )

    def _UnpauseDrugMedication(self, request, header, output):
        return self._write(
            request, output, "ModifiedBy", lambda c, b, r: self.store.pause(c, b, r, pause=False)
        )

    def _WithdrawDrugMedication(self, request, header, output):
        return self._write(request, output, "WithdrawnBy", self.store.withdraw)

    def _RemoveConsent(self, request, header, output):
        return self._write(
            request, output, "ModifiedBy",
            lambda c, b, r: self.store.set_private(c, b, r, private=True),
        )  # fmt: skip

    def _GiveConsent(self, request, header, output):
        return self._write(
            request, output, "ModifiedBy",
            lambda c, b, r: self.store.set_private(c, b, r, private=False),
        )  # fmt: skip

    def _review(self, request, output, by_name, when_name, *, reviewed):
        card = self._card_for_write(request)
        by = child(request, by_name)
        self.store.review(card, by, text_of(request, when_name), reviewed=reviewed)
        self.store.bump(card, by)
        return self._answer(output, card, [])

    def _SetMedicineCardReviewed(self, request, header, output):
        return self._review(request, output, "ReviewedBy", "ReviewedDateTime", reviewed=True)

    def _SetMedicineCardNotReviewed(self, request, header, output):
        return self._review(request, output, "NotReviewedBy", "NotReviewedDateTime", reviewed=False)


__all__ = ["Service", "fault", "envelope", "E2"]
