"""One error hierarchy. The CLI catches DepgraphError in one place and turns it into
a one-line message, an optional hint and the exit code documented in the README."""

# Exit codes (README "Exit codes").
OK = 0
FAILED = 1          # reconcile failed/skipped objects; check findings at --fail-on
USAGE = 2           # bad arguments, unknown or ambiguous NAME
NOT_READY = 3       # why --exit-code: something is not ready
CLUSTER = 4         # kubectl/flux missing, cluster unreachable, auth, RBAC, Flux not installed
INPUT = 5           # unreadable or invalid --file/--path input
INTERNAL = 70       # a bug: "internal error", traceback only with --debug (sysexits EX_SOFTWARE)
INTERRUPTED = 130   # Ctrl-C


class DepgraphError(Exception):
    """An error the user can act on: message, optional hint, exit code."""

    exit_code = CLUSTER

    def __init__(self, message, hint=None, exit_code=None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self):
        return self.message


class UsageError(DepgraphError):
    exit_code = USAGE


class InputError(DepgraphError):
    exit_code = INPUT


class SelectionError(DepgraphError):
    """What the user selected (a cluster folder, …) is not in the input: a usage error found
    only once the input is read."""

    exit_code = USAGE


class CommandNotFound(DepgraphError):
    """An external program (kubectl, flux) is not installed or not executable."""

    exit_code = CLUSTER


class CommandFailed(DepgraphError):
    """An external program ran and failed; carries argv, exit status and stderr."""

    exit_code = CLUSTER

    def __init__(self, message, argv, returncode, stderr, hint=None):
        super().__init__(message, hint=hint)
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


class CommandTimeout(CommandFailed):
    pass


class ClusterError(DepgraphError):
    """The cluster (or kubectl talking to it) failed; `transient` when retrying may help
    (unreachable, timeout, server error, reset connection)."""

    exit_code = CLUSTER

    def __init__(self, message, hint=None, exit_code=None, transient=False):
        super().__init__(message, hint=hint, exit_code=exit_code)
        self.transient = transient
