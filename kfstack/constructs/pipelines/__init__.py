"""Kubeflow Pipelines 2.16.0 from the kustomize base, wired to the platform's MySQL and object store."""
