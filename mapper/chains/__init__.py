"""Chains: the chain document's rules, and what can be done to a chain (create, share, snapshot,
restore, compact), each use case in one place."""
