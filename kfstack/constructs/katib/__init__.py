"""Katib 0.19.0 from the kustomize base, its DB manager wired to the platform's MySQL."""
