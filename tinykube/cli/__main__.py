"""`python -m tinykube.cli` — the same as the `tinykube` command."""

from tinykube.cli.main import main

if __name__ == "__main__":
    main()
