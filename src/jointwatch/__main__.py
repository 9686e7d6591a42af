"""``python -m jointwatch`` runs the CLI."""

from jointwatch.cli import main

main()
