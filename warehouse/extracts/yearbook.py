"""Statistical-yearbook tables (placeholder until the yearbook reader lands)."""
from __future__ import annotations


def sniff_yearbook(head_rows) -> bool:
    return False


def parse_yearbook(parsed, tables, context, sink) -> None:  # pragma: no cover - replaced below
    raise NotImplementedError
