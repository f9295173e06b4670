from agi_app.cli import main

raise SystemExit(main())
