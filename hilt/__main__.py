"""``python -m hilt ...``: the ``hilt`` command."""

from hilt.cli import main

raise SystemExit(main())
