"""Errors every layer may raise."""


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""
