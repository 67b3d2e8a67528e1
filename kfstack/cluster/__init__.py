"""Local Kubernetes control planes for tests and demos (``kfstack cluster up|status|down``).

:mod:`.pki` makes the certificates, :mod:`.nodes` turns node pools into kwok
Node objects, :mod:`.local` runs etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok on 127.0.0.1, :mod:`.kind` writes a kind config.
"""
