"""kubectl depgraph suspend [NAME…]"""

import click

from kubectl_depgraph.cli import lifecycle
from kubectl_depgraph.judge.lifecycle import SUSPEND


@click.command()
@lifecycle.lifecycle_options
@lifecycle.flux_option
def suspend(common, use_flux, **options):
    """Suspend dependents first, then what they depend on.

    \b
    `flux suspend` (or `kubectl patch` spec.suspend=true without flux) per object;
    each waits only for its dependents' writes, not for any reconcile.

    \b
    Exit status: 0 all suspended; 1 something failed or was skipped; 2 bad
    arguments; 4 no cluster; 130 interrupted.

    \b
    Examples:
      kubectl depgraph suspend infra --dependents --dry-run
      kubectl depgraph suspend --kind hr -n apps"""
    return lifecycle.run(SUSPEND, common, use_flux=use_flux, **options)
