from floodwatch.cli import main

main()
