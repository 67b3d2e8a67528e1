"""kfstack: infrastructure as code for an on-prem Kubeflow platform on cdktf.

Environment files (``environments/*.yaml``) are loaded and validated by
:mod:`kfstack.config`, composed into one Terraform stack per environment by
:mod:`kfstack.stacks`, and synthesized to ``cdktf.out/stacks/<env>/cdk.tf.json``.
Importing this package does not import cdktf; only ``kfstack.constructs.*.construct``
and ``kfstack.stacks`` do.
"""

__version__ = "0.1.0"
