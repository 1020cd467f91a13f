"""Local stand-ins for the downstream systems a grant lands in (UiTPAS, …): small in-memory HTTP services that
answer like the real APIs, so adapters, tests and the demo run without credentials or network."""
