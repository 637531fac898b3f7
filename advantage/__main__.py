"""`python -m advantage`: the `advantage` command, for when the script is not on PATH."""

import sys

from advantage.cli import main

if __name__ == "__main__":
    sys.exit(main())
