"""One exception root for everything mockserver raises on purpose.

Messages say what failed, show the offending value, and say how to fix it.
"""

from __future__ import annotations


class MockServerError(Exception):
    """Root of every error mockserver raises deliberately."""

    exit_code = 1


class ConfigError(MockServerError):
    """A setting (argument, environment variable or file) is missing or wrong."""

    exit_code = 2


class SpecError(MockServerError):
    """An OpenAPI document cannot be used: names the file, the JSON pointer and the problem."""

    exit_code = 3

    def __init__(self, file: str, pointer: str, problem: str) -> None:
        self.file = file
        self.pointer = pointer or "/"
        self.problem = problem
        super().__init__(f"{file}#{self.pointer}: {problem}")
