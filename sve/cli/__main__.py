"""``python -m sve.cli``."""

import sys

from sve.cli import main

if __name__ == "__main__":
    sys.exit(main())
