"""``python -m wann_plugin.cli ...`` runs the ``wann`` command."""

import sys

from wann_plugin.cli import main

sys.exit(main())
