"""kubectl depgraph delete [NAME…]"""

import click

from kubectl_depgraph.cli import lifecycle
from kubectl_depgraph.judge.lifecycle import DELETE


@click.command()
@lifecycle.lifecycle_options
@click.option("--force", is_flag=True,
              help="Delete even when objects outside the selection depend on it (they wait forever).")
def delete(common, force, **options):
    """Delete dependents first, each gone (finalizers included) before what it uses.

    \b
    `kubectl delete --wait=false` per object, in reverse dependency order; an object
    is deleted only once everything selected that depends on it is gone. Refuses to
    delete an object whose dependents are not selected (add --dependents, or --force).

    \b
    Exit status: 0 all deleted; 1 something failed or was skipped; 2 bad arguments
    or unselected dependents; 4 no cluster; 130 interrupted.

    \b
    Examples:
      kubectl depgraph delete infra --dependents --dry-run
      kubectl depgraph delete apps"""
    return lifecycle.run(DELETE, common, force=force, **options)
