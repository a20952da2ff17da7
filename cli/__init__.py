"""The finsam command line: thin Typer commands that parse, call `workflow`, and print."""
