from webmem.browser.launch import main

raise SystemExit(main())
