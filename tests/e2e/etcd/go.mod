// Wrapper module: builds the published etcd server as-is (go build go.etcd.io/etcd/server/v3).
module kubectl-depgraph/e2e/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16
