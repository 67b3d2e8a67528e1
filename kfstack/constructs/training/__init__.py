"""Kubeflow training: Trainer v2 (chart kubeflow-trainer) and Training Operator v1 (kustomize), GPU pool scheduling."""
