from ecitizen.cli import main

main()
