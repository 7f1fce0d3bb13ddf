from webmem.cli.app import main

main()
