from nvr.cli import main

raise SystemExit(main())
