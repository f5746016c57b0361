"""Acting on the cluster: running a reconcile plan through the flux CLI or kubectl."""
