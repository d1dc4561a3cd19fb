"""The chain service: app assembly, auth, rooms, HTTP API, CLI, chain schema."""
