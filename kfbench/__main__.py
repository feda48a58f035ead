from kfbench.cli import main

main()
