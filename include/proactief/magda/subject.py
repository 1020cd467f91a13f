"""Whether a service's official request XSD accepts a subject's number, checked before the question is sent.

MAGDA validates every request against the service's XSD and answers a SOAP Fault (level 1) when one element
is wrong. For the subject's number that is a fact about one person, not a bug: the KSZ-schema services
(``GeefDossierHandicap``: ``ssin`` of ``SsinType``) accept only Rijksregister months 00-12, bis 20-32 / 40-52
and test numbers 60-72, while the Generiek ``INSZType`` takes any 11 digits. The client asks this module
first and answers a number the schema would refuse as that person's data error, without sending it, so one
person never fails a chunk.

The rule is read from the XSD itself: the request's content model is walked from its root element to every
element named :attr:`~proactief.magda.services.ServiceSpec.subject_tag`, and that element's declared type is
checked by lxml with a one-element wrapper schema, so the XSD's own semantics apply (``\\p{N}``, length
facets, derivation) and nothing is copied by hand.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

from proactief.magda.reference import SchemaError, xsd_root
from proactief.magda.services import ServiceSpec

__all__ = ["SubjectCheck", "subject_check", "subject_types"]

log = logging.getLogger("proactief.magda")

_XS = "http://www.w3.org/2001/XMLSchema"
_PROBE_NS = "urn:proactief:subject-check"
_CONTAINERS = frozenset(f"{{{_XS}}}{n}" for n in (
    "sequence", "choice", "all", "complexContent", "simpleContent", "extension", "restriction"))
_QName = tuple[str, str]


@dataclass
class _Graph:
    """The global declarations of one XSD and everything it imports or includes."""

    elements: dict[_QName, etree._Element] = field(default_factory=dict)
    complex_types: dict[_QName, etree._Element] = field(default_factory=dict)
    simple_types: dict[_QName, Path] = field(default_factory=dict)
    groups: dict[_QName, etree._Element] = field(default_factory=dict)

    @classmethod
    def load(cls, start: Path) -> _Graph:
        graph = cls()
        seen: set[Path] = set()
        todo: list[tuple[Path, str | None]] = [(start.resolve(), None)]
        while todo:
            path, inherited = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            if not path.is_file():
                raise SchemaError(f"XSD not found: {path}")
            root = etree.parse(str(path)).getroot()
            tns = root.get("targetNamespace") or inherited or ""
            for node in root:
                tag, name = node.tag, node.get("name")
                if tag in (f"{{{_XS}}}import", f"{{{_XS}}}include") and node.get("schemaLocation"):
                    todo.append(((path.parent / node.get("schemaLocation", "")).resolve(),
                                 tns if tag.endswith("include") else None))
                elif name is None:
                    continue
                elif tag == f"{{{_XS}}}element":
                    graph.elements[(tns, name)] = node
                elif tag == f"{{{_XS}}}complexType":
                    graph.complex_types[(tns, name)] = node
                elif tag == f"{{{_XS}}}simpleType":
                    graph.simple_types[(tns, name)] = path
                elif tag == f"{{{_XS}}}group":
                    graph.groups[(tns, name)] = node
        return graph


def _qname(node: etree._Element, value: str) -> _QName:
    prefix, _, local = value.rpartition(":")
    return (node.nsmap.get(prefix or None) or "", local)


def _walk(graph: _Graph, node: etree._Element, key: str,
          seen: set[etree._Element]) -> Iterator[tuple[_QName, Path | None]]:
    """The declared types of every element named ``key`` in the content model under ``node``."""
    if node in seen:  # the set holds the proxies, so lxml hands out the same object for a node seen before
        return
    seen.add(node)
    tag = node.tag
    if tag == f"{{{_XS}}}element":
        if node.get("ref"):
            target = graph.elements.get(_qname(node, node.get("ref", "")))
            if target is not None:
                yield from _walk(graph, target, key, seen)
            return
        type_name = _qname(node, node.get("type", "")) if node.get("type") else None
        if node.get("name") == key:
            if type_name is None:
                raise SchemaError(f"element {key} has an anonymous type; the subject check needs a named one")
            yield type_name, graph.simple_types.get(type_name)
        if type_name is not None and type_name in graph.complex_types:
            yield from _walk(graph, graph.complex_types[type_name], key, seen)
    elif tag == f"{{{_XS}}}group" and node.get("ref"):
        target = graph.groups.get(_qname(node, node.get("ref", "")))
        if target is not None:
            yield from _walk(graph, target, key, seen)
        return
    if tag in (f"{{{_XS}}}extension", f"{{{_XS}}}restriction") and node.get("base"):
        base = graph.complex_types.get(_qname(node, node.get("base", "")))
        if base is not None:
            yield from _walk(graph, base, key, seen)
    for child in node:
        if child.tag in _CONTAINERS or child.tag in (f"{{{_XS}}}element", f"{{{_XS}}}group",
                                                      f"{{{_XS}}}complexType"):
            yield from _walk(graph, child, key, seen)


def subject_types(spec: ServiceSpec) -> tuple[tuple[_QName, Path | None], ...]:
    """The types (namespace, name) the request XSD declares for the subject element, with the file of each
    simple type (None for a complex or built-in one); empty when the request has no such element."""
    if not spec.subject_tag:
        return ()
    graph = _Graph.load(xsd_root() / spec.request_xsd)
    root = graph.elements.get((spec.namespace, spec.name))
    if root is None:
        raise SchemaError(f"{spec.request_xsd} declares no element {spec.name}")
    return tuple(dict.fromkeys(_walk(graph, root, spec.subject_tag, set())))


SEEN_LIMIT = 100_000
"""At most this many remembered numbers per service (about 12 MiB), then the memory starts again."""


@dataclass(frozen=True)
class SubjectCheck:
    """The subject element's XSD types for one service, compiled; :meth:`accepts` is thread-safe."""

    service: str
    element: str
    types: tuple[_QName, ...]
    _schemas: tuple[etree.XMLSchema, ...] = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _seen: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)
    """Numbers already checked: a run asks about the same persons service after service, day after day, and the
    schema validation under one lock was a twentieth of a simulated year. Bounded by :data:`SEEN_LIMIT`."""

    def accepts(self, number: str) -> bool:
        """True when every type declared for the subject element accepts ``number`` as its value."""
        known = self._seen.get(number)
        if known is not None:
            return known
        probe = etree.Element(f"{{{_PROBE_NS}}}v")
        probe.text = number
        with self._lock:  # an XMLSchema object is not safe to use from two threads at once
            verdict = all(schema.validate(probe) for schema in self._schemas)
            if len(self._seen) >= SEEN_LIMIT:
                self._seen.clear()
            self._seen[number] = verdict
        return verdict


def _wrapper(namespace: str, name: str, where: Path) -> etree.XMLSchema:
    """A schema with one element ``v`` of the given type, importing the file that declares the type."""
    location = where.resolve().as_uri()
    if namespace:
        doc = (f'<xs:schema xmlns:xs="{_XS}" xmlns:t="{namespace}" targetNamespace="{_PROBE_NS}" '
               f'elementFormDefault="qualified"><xs:import namespace="{namespace}" schemaLocation="{location}"/>'
               f'<xs:element name="v" type="t:{name}"/></xs:schema>')
    else:  # a chameleon include takes the including schema's namespace
        doc = (f'<xs:schema xmlns:xs="{_XS}" xmlns="{_PROBE_NS}" targetNamespace="{_PROBE_NS}" '
               f'elementFormDefault="qualified"><xs:include schemaLocation="{location}"/>'
               f'<xs:element name="v" type="{name}"/></xs:schema>')
    return etree.XMLSchema(etree.fromstring(doc.encode()))


@cache
def subject_check(spec: ServiceSpec) -> SubjectCheck | None:
    """The compiled check for ``spec`` (once per process); None when its request has no subject element or
    its XSD cannot be read (then the platform's own validation is the only one, as before; said once)."""
    try:
        found = subject_types(spec)
        schemas = []
        for (namespace, name), where in found:
            if where is None:
                if namespace == _XS:
                    continue  # a built-in type (xs:string …) restricts nothing an INSZ-shaped value needs
                raise SchemaError(f"type {name} of {spec.subject_tag} is not a simple type")
            schemas.append(_wrapper(namespace, name, where))
    except (SchemaError, etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        log.warning("MAGDA %s: subject numbers not checked before sending (%s)", spec.key, exc)
        return None
    if not schemas:
        return None
    return SubjectCheck(spec.key, spec.subject_tag, tuple(t for t, _ in found), tuple(schemas))
