"""Judging the graph: readiness, explanations, reconcile plans and checks. No I/O."""
