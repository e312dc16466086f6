"""The plugin's own tests run inner pytest sessions with pytester.

``pytest_plugins = ["pytester"]`` would enable it, but pytest only accepts that in the rootdir's
conftest ("non-top-level conftest is no longer supported") when the suite runs from the
repository root; registering the builtin plugin here has the same effect from any directory.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
