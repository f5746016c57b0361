"""End-to-end tests against a real kube-apiserver, etcd and the real Flux controllers."""
