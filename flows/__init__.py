"""Prefect orchestration of the annual refresh (orchestration only, no business logic)."""
