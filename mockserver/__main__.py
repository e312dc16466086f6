"""``python -m mockserver`` runs the command line."""

from mockserver.cli import run

run()
