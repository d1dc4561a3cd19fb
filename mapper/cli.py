"""The `mapper` command."""


def main() -> None:
    raise SystemExit("mapper: the command line is being assembled")
