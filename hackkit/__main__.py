from hackkit.cli import main

main()
