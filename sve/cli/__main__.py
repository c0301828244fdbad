"""``python -m sve.cli``."""

import sys

from sve.cli import main

sys.exit(main())
