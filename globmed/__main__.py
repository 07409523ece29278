from globmed.cli import run

run()
