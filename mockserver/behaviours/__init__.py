"""Stateful behaviours: the documented business outcomes of each API."""

from mockserver.behaviours.registry import (
    BEHAVIOURS,
    JOB_HANDLERS,
    SEEDERS,
    Call,
    Reply,
    behaviour,
    job_handler,
    load_builtin,
    seeder,
)

__all__ = [
    "BEHAVIOURS",
    "JOB_HANDLERS",
    "SEEDERS",
    "Call",
    "Reply",
    "behaviour",
    "job_handler",
    "load_builtin",
    "seeder",
]
