"""The MLLP receiver takes only registered senders, closes idle connections, caps connections
per address, and speaks MLLP over TLS with client certificates."""

import datetime
import socket
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labresults.hl7.mllp import Deframer, frame
from labresults.hl7.parser import parse
from labresults.models import InboundMessage, LabResult, MllpSender

pytestmark = pytest.mark.django_db(transaction=True)

ORU = (
    "MSH|^~\\&|{app}|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|REQ1|LAB{control_id}|NPU03429^P-Natrium|||20261124093000\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||141|mmol/L|137-145|N|||F\r"
)


def message(control_id, app="LABSYS") -> bytes:
    return ORU.format(control_id=control_id, app=app).encode()


def exchange(conn, raw: bytes):
    conn.sendall(frame(raw))
    deframer, acks = Deframer(), []
    while not acks:
        data = conn.recv(65536)
        if not data:
            raise ConnectionError("closed")
        acks += deframer.feed(data)
    return parse(acks[0]).first("MSA")


@pytest.fixture
def strict(settings):
    """The production rule: only registered senders."""
    settings.SUNDHED_MLLP_REQUIRE_REGISTERED = True


def test_an_unknown_sender_gets_ar_and_its_message_is_kept_as_failed(cast, mllp_receiver, strict):
    with socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) as conn:
        msa = exchange(conn, message("U1", app="MADEUP"))
    assert msa.get(1) == "AR"
    row = InboundMessage.objects.get()
    assert row.status == "failed" and "Unknown sender MADEUP@KBA RH" in row.reason
    assert row.control_id == ""  # so a re-send after registration is not a "duplicate"
    assert not LabResult.objects.exists()


def test_a_registered_sender_is_taken_only_from_its_addresses(cast, mllp_receiver, strict):
    sender = MllpSender.objects.create(
        name="KBA", application="LABSYS", facility="KBA RH", allowed_addresses="10.1.2.0/24"
    )
    with socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) as conn:
        assert exchange(conn, message("R1")).get(1) == "AR"
    assert "may not send from 127.0.0.1" in InboundMessage.objects.get().reason
    sender.allowed_addresses = "10.1.2.0/24\n127.0.0.1"
    sender.save()
    with socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) as conn:
        assert exchange(conn, message("R1")).get(1) == "AA"  # the same control id, now taken
    assert InboundMessage.objects.filter(status="received", control_id="R1").count() == 1


def test_an_idle_connection_is_closed(mllp_receiver, settings):
    settings.SUNDHED_MLLP_IDLE_TIMEOUT = 1
    with socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) as conn:
        started = time.monotonic()
        assert conn.recv(10) == b""
        assert time.monotonic() - started < 5


def test_one_address_holds_only_a_few_connections(mllp_receiver, settings):
    settings.SUNDHED_MLLP_MAX_CONNECTIONS_PER_ADDRESS = 3
    held = [socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) for _ in range(3)]
    try:
        # An answer on each proves the receiver holds all three (no waiting on a guess).
        for number, conn in enumerate(held):
            assert exchange(conn, message(f"C{number}")).get(1) == "AA"
        with socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10) as extra:
            assert extra.recv(10) == b""  # closed at once
        assert exchange(held[0], message("C9")).get(1) == "AA"  # the others still work
    finally:
        for conn in held:
            conn.close()


# --- MLLP over TLS ------------------------------------------------------------------------------
def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, key, issuer, issuer_key, *, ca=False, server=False):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def pki(tmp_path, settings):
    """A CA, the receiver's certificate and a laboratory's client certificate, on disk."""
    files = {}

    def write(name, key, cert):
        key_path, cert_path = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[name] = (str(cert_path), str(key_path))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Sundhed test CA", ca_key, "Sundhed test CA", ca_key, ca=True)
    write("ca", ca_key, ca)
    for name, server in (("server", True), ("kba-lab", False)):
        key = ec.generate_private_key(ec.SECP256R1())
        write(
            name,
            key,
            _certificate(
                name if not server else "localhost", key, "Sundhed test CA", ca_key, server=server
            ),
        )
    settings.SUNDHED_MLLP_TLS_CERT, settings.SUNDHED_MLLP_TLS_KEY = files["server"]
    settings.SUNDHED_MLLP_TLS_CLIENT_CA = files["ca"][0]
    settings.SUNDHED_MLLP_REQUIRE_REGISTERED = True
    return files


def _tls_client(pki, *, with_certificate=True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki["ca"][0])
    if with_certificate:
        context.load_cert_chain(*pki["kba-lab"])
    return context


def test_mllp_over_tls_takes_a_sender_with_its_client_certificate(cast, pki, mllp_receiver, strict):
    MllpSender.objects.create(
        name="KBA", application="LABSYS", facility="KBA RH", certificate_subject="kba-lab"
    )
    raw = socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10)
    with _tls_client(pki).wrap_socket(raw, server_hostname="localhost") as conn:
        assert exchange(conn, message("T1")).get(1) == "AA"
    # Another registered sender without a certificate name is refused over this connection
    # unless its address is listed: the certificate says who is speaking.
    MllpSender.objects.create(name="Other", application="OTHER", facility="KBA RH")
    raw = socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10)
    with _tls_client(pki).wrap_socket(raw, server_hostname="localhost") as conn:
        assert exchange(conn, message("T2", app="OTHER")).get(1) == "AR"


def test_without_a_client_certificate_the_tls_handshake_fails(cast, pki, mllp_receiver, strict):
    raw = socket.create_connection(("127.0.0.1", mllp_receiver), timeout=10)
    client = _tls_client(pki, with_certificate=False)

    def attempt():
        with client.wrap_socket(raw, server_hostname="localhost") as conn:
            exchange(conn, message("T3"))

    with pytest.raises((ssl.SSLError, ConnectionError)):
        attempt()
    assert not InboundMessage.objects.exists()
