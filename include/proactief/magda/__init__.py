"""MAGDA: the Flemish data platform. Client, message formats, error semantics, audit.

Modules (import what you need; this package module imports nothing, so ``proactief.magda.audit`` stays cheap):

- ``services``: the registry of services (names, versions, namespaces, XSDs, endpoint paths).
- ``config``: :class:`~proactief.magda.config.MagdaConfig` (from code, ``PROACTIEF_MAGDA_*`` or a mapping).
- ``client``: :class:`~proactief.magda.client.MagdaClient`, one method per service plus bulk helpers.
- ``envelope`` / ``parse``: SOAP requests built with lxml; answers read into ``results`` dataclasses.
- ``uitzondering``: ``Uitzondering`` and the outcome classification of MAGDA.md.
- ``transport`` / ``curlhttp`` / ``wssec``: HTTP(S) with mutual TLS, concurrency bound, WS-Security signature.
- ``audit``: the consultation record and the sink protocol; ``reference``: the shipped official XSDs.
"""
