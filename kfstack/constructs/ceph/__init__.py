"""Rook-Ceph storage from Rook's official charts: operator, Ceph-CSI drivers, cluster."""
