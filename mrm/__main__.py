from mrm.cli import main

raise SystemExit(main())
