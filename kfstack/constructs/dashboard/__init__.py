"""Central Dashboard, Profiles + KFAM (multi-user), optional Notebooks, and Kubeflow's Istio resources."""
