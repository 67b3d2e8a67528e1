"""S3 object store for Pipelines artifacts: SeaweedFS (default), Rook Ceph RGW or MinIO."""
