"""Istio from its official charts: base, cni, istiod, ingress and cluster-local gateways."""
