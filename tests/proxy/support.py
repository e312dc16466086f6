"""What the proxy tests share: the ``mockserver`` command of this environment."""

from __future__ import annotations

import sys
from pathlib import Path

MOCKSERVER = str(Path(sys.executable).with_name("mockserver"))
