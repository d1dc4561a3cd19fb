"""The HTTP API (contract sections 1 and 3)."""
