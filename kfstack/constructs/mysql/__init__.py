"""MySQL for Kubeflow metadata: mysql-operator, an InnoDB Cluster, databases and users."""
