from modeling.cli import main

raise SystemExit(main())
