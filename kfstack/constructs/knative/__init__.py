"""Knative Serving (for KServe's Knative mode) through the Knative Operator's official chart."""
