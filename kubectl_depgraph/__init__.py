"""kubectl-depgraph: the Flux dependsOn graph."""

__version__ = "0.1.0"
