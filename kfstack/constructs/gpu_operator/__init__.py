"""NVIDIA GPU Operator from its official chart: drivers, toolkit, device plugin, DCGM exporter, MIG manager."""
