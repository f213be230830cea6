from stream_mcp.cli import main

raise SystemExit(main())
