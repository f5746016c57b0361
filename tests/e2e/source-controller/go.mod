// Wrapper module: builds the published source-controller as-is.
// v1.9.6 is the newest release whose go.mod accepts Go 1.26 (v1.10.x says go 1.27.0).
module kubectl-depgraph/e2e/source-controller

go 1.26.0

require github.com/fluxcd/source-controller v1.9.6

// Non-local replace copied from source-controller v1.9.6's go.mod.
replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be

// Not from source-controller's go.mod: the module proxy reachable here does not serve
// github.com/fluxcd/pkg/artifact v0.18.3 (403 "This module version is not available"),
// nor v0.18.2 or v0.8.1 that the other Go-1.26 releases need; v0.18.0 is served.
replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0
