"""The HTTP receiver: laboratory systems post HL7 v2 or a FHIR R4 Bundle with a token."""

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from labresults.fhir_bundle import looks_like_fhir
from labresults.models import InboundMessage, SystemClient
from labresults.services import fhir_bundle_receive, inbound_message_receive, token_hash


class SystemTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <token>` of an active SystemClient (systems are not people)."""

    keyword = b"token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("The token header must be 'Token <token>'."))
        client = SystemClient.objects.filter(
            token_hash=token_hash(parts[1].decode("latin-1")), is_active=True
        ).first()
        if client is None:
            raise AuthenticationFailed(_("Unknown or inactive token."))
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), client

    def authenticate_header(self, request):
        return "Token"


class IsSystemClient(BasePermission):
    """Only registered laboratory systems may post messages."""

    def has_permission(self, request, view):
        return isinstance(request.auth, SystemClient)


class Hl7Parser(BaseParser):
    """The body as bytes, untouched: the message is stored exactly as sent."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read() if stream is not None else b""


class InboundMessageCreateApi(APIView):
    """POST an HL7 v2 message or a FHIR R4 Bundle (JSON): 201 when stored, 200 for a duplicate,
    400 with the reason when it cannot be taken (and it is kept in the error queue)."""

    authentication_classes = [SystemTokenAuthentication]
    permission_classes = [IsSystemClient]
    parser_classes = [Hl7Parser]

    def post(self, request):
        raw = request.data if isinstance(request.data, bytes) else b""
        if not raw:
            return Response({"detail": _("The body is empty.")}, status=400)
        if looks_like_fhir(raw):
            receipt = fhir_bundle_receive(
                raw=raw, transport=InboundMessage.Transport.HTTP, sender=request.auth.name
            )
        else:
            receipt = inbound_message_receive(raw=raw, transport=InboundMessage.Transport.HTTP)
        body = {
            "ack_code": receipt.code,
            "duplicate": receipt.duplicate,
            "id": str(receipt.message.public_id) if receipt.message else None,
            "reason": receipt.message.reason if receipt.message else "",
        }
        if receipt.duplicate:
            return Response(body, status=status.HTTP_200_OK)
        if receipt.code != "AA":
            body["detail"] = body["reason"]
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED)
