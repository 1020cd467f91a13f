"""MAGDA: the Flemish data platform. Client, message formats, error semantics, audit."""
