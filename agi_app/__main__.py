from agi_app.admin.cli import main

raise SystemExit(main())
