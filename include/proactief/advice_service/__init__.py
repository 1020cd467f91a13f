"""The advice service (issue 20): Automatisch Advies as its own process.

It alone holds the MAGDA client (certificate, afnemer identity), the scheme rules and the audit of MAGDA
consultations; callers (the counter, the call centre, the CLI, later the DAGs) send a scheme, a reference date, the
subject's INSZ and the city's own facts, and get back only the advice (:class:`~.models.AdviceOut`): never a raw
MAGDA value. ``proactief advice-service`` runs it (:mod:`.app`); :mod:`.client` asks it.
"""
