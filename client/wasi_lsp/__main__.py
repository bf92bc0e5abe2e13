from wasi_lsp.cli import main

raise SystemExit(main())
