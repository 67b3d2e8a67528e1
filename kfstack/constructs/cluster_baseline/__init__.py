"""Cluster baseline: shared namespaces, priority classes, GPU node-pool conventions."""
