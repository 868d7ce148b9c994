"""``python -m scalinglaws``: see :mod:`scalinglaws.cli`."""

import sys

from .cli import main

sys.exit(main())
