from kubectl_depgraph.cli import main

main()
