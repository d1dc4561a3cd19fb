"""Presence: awareness state of each room and who is present where."""
