"""`python -m importer`: the same as the helpscout-import command."""

from importer.cli import main

main(prog_name="helpscout-import")
