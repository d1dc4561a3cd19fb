"""The presence-gated sync engine (ESI client, datasets)."""
