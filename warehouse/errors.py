"""Errors a user can act on: printed by the CLI without a traceback, exit status 1."""
from __future__ import annotations


class ResilienceError(Exception):
    """Base class of every error the pipeline reports to its user."""


class ExtractError(ResilienceError):
    """A landing file is malformed; the message names the file, the line/row and the reason."""

    def __init__(self, file: str, reason: str, line: int | None = None):
        self.file, self.reason, self.line = file, reason, line
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {reason}")


class WarehouseBusyError(ResilienceError):
    """Another refresh holds the warehouse."""
