"""cert-manager from its official chart, plus Kubeflow's self-signing ClusterIssuer."""
