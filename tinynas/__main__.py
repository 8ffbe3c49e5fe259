from tinynas.cli import main

main()
