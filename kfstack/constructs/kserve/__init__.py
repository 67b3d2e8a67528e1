"""KServe model serving from its official charts (kserve-crd, kserve); optional Knative mode."""
