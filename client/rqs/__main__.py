"""`python -m rqs`, the same as the `rqs` command."""

import sys

from rqs.cli import main

sys.exit(main())
