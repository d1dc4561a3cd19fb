"""The browser app, served at /."""
