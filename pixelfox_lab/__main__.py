from pixelfox_lab.cli import main

main()
