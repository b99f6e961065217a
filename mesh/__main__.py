"""``python -m mesh`` runs the ``allelemesh`` command."""

import sys

from mesh.cli import main

sys.exit(main())
