from arstudio.cli import main

raise SystemExit(main())
