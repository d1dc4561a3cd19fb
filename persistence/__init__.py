"""Durable storage: SQLAlchemy models, Alembic migrations, update log, snapshots."""
