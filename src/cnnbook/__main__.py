"""Allow ``python -m cnnbook`` (and ``torchrun -m cnnbook``) to run the CLI."""

from cnnbook.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
