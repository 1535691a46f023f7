"""`python -m lunasample`: the same as the `lunasample` command."""

from lunasample.cli import main

raise SystemExit(main())
