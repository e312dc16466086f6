"""``python -m mockserver`` and the ``mockserver`` command.

Both start here, in a module that loads nothing heavy, because ``serve`` first runs itself again
with glibc's ``malloc`` as Python's allocator (:func:`mockserver.memory.run_with_malloc`), so
that the memory of a large request goes back to the system.
"""

import sys

from mockserver import memory


def _allocator() -> None:
    if sys.argv[1:2] == ["serve"]:
        memory.run_with_malloc()


def command() -> None:
    """The ``mockserver`` command."""
    _allocator()
    from mockserver.cli import main

    main()


def module() -> None:
    """``python -m mockserver``."""
    _allocator()
    from mockserver.cli import run

    run()


if __name__ == "__main__":
    module()
