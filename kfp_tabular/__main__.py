"""``python -m kfp_tabular`` is the ``kfp-tabular`` command."""

import sys

from kfp_tabular.cli import main

sys.exit(main())
