"""The core: what every layer may use, and which uses none of them (clock, roles, ids, the
wire protocol, metrics, logging, background tasks)."""
