"""kubectl depgraph resume [NAME…]"""

import click

from kubectl_depgraph.cli import lifecycle
from kubectl_depgraph.judge.lifecycle import RESUME


@click.command()
@lifecycle.lifecycle_options
@lifecycle.flux_option
def resume(common, use_flux, **options):
    """Resume in dependency order, each object once what it depends on is Ready.

    \b
    `flux resume` (or `kubectl patch` spec.suspend=false without flux) per object,
    dependencies first; each waits for Ready before its dependents are resumed.

    \b
    Exit status: 0 all resumed and ready; 1 something failed or was skipped;
    2 bad arguments; 4 no cluster; 130 interrupted.

    \b
    Examples:
      kubectl depgraph resume apps --dependencies --dry-run
      kubectl depgraph resume -n flux-system"""
    return lifecycle.run(RESUME, common, use_flux=use_flux, **options)
