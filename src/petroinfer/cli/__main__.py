from petroinfer.cli.main import main

main()
