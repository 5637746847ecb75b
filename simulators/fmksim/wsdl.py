"""FMK's WSDL as fmksim reads it: the operations of the binding and the schemas to validate.

The WSDL is the one Sundhed vendors (`medicinkort/fmk/wsdl/`, FMK 1.4.6 E6). It carries
`<?filter ...?>` processing instructions inside `xs:sequence`; they are dropped on loading.
"""

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import xmlschema
from lxml import etree

DEFAULT_WSDL = (
    Path(__file__).resolve().parents[2]
    / "medicinkort"
    / "fmk"
    / "wsdl"
    / "MedicineCard-inline_2015_06_01_E6.wsdl"
)
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XS_NS = "http://www.w3.org/2001/XMLSchema"


@dataclass(frozen=True)
class Operation:
    """One operation of the binding: its SOAP action and the elements in and out."""

    name: str
    action: str
    input: str  # Clark notation {namespace}local
    output: str


def _tree(path: Path):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.parse(str(path), parser)
    for instruction in tree.xpath("//processing-instruction()"):
        instruction.getparent().remove(instruction)
    return tree


def _qname(element, prefixed: str) -> str:
    prefix, _, local = prefixed.rpartition(":")
    return f"{{{element.nsmap[prefix or None]}}}{local}"


@cache
def operations(path: Path = DEFAULT_WSDL) -> dict[str, Operation]:
    """The binding's operations by SOAP action."""
    root = _tree(path).getroot()
    parts = {}
    for message in root.iter(f"{{{WSDL_NS}}}message"):
        part = message.find(f"{{{WSDL_NS}}}part")
        if part is not None and part.get("element"):
            parts[message.get("name")] = _qname(part, part.get("element"))
    port_type = {}
    for op in root.find(f"{{{WSDL_NS}}}portType").iter(f"{{{WSDL_NS}}}operation"):
        message_in = op.find(f"{{{WSDL_NS}}}input").get("message").rpartition(":")[2]
        message_out = op.find(f"{{{WSDL_NS}}}output").get("message").rpartition(":")[2]
        port_type[op.get("name")] = (parts[message_in], parts[message_out])
    found = {}
    for op in root.find(f"{{{WSDL_NS}}}binding").iter(f"{{{WSDL_NS}}}operation"):
        soap = op.find(f"{{{SOAP_BINDING_NS}}}operation")
        if soap is None:
            continue
        element_in, element_out = port_type[op.get("name")]
        found[soap.get("soapAction")] = Operation(
            op.get("name"), soap.get("soapAction"), element_in, element_out
        )
    return found


@cache
def schema(path: Path = DEFAULT_WSDL) -> xmlschema.XMLSchema10:
    """All the WSDL's inline schemas as one, for validating requests and answers."""
    root = _tree(path).getroot()
    sources = [
        io.StringIO(etree.tostring(s, encoding="unicode")) for s in root.iter(f"{{{XS_NS}}}schema")
    ]
    # xmlschema takes a list of sources (its annotations name one).
    return xmlschema.XMLSchema10(sources, validation="lax")  # type: ignore[arg-type]
