"""``kfstack check``: prove a synthesized stack against the real charts it installs.

For every ``helm_release`` of ``cdktf.out/stacks/<env>/cdk.tf.json`` the
chart archive is located (vendor cache, a Helm repository folder such as a
site's mirror, the rendered kustomize parts of ``kfstack vendor --publish``,
or the project's own chart folders), rendered with exactly what Terraform
passes (every ``values`` document, ``set``, ``set_sensitive`` with a
placeholder, the release name and namespace) by the Helm CLI the helm
provider embeds, and judged:

* render errors, the chart's own ``values.schema.json`` included;
* value paths the chart never reads (a silent no-op);
* install-time preconditions: a ``lookup`` of an object nothing earlier creates
  (with a cluster, lookups see exactly what earlier resources create);
* objects the API server rejects (server-side dry run, strict field
  validation, custom resources against the CRDs the stack itself installs);
* pods that the namespace's enforced Pod Security level rejects (the API
  server's own PodSecurity admission, on the pod template of every workload);
* DaemonSets and operator-managed node plugins that cannot reach the node
  pools they select (taints, labels from the environment's node pools);
* Helm's 1 MiB release limit, PodDisruptionBudgets that block a drain, and
  images outside the environment's registry (every image
  :func:`kfstack.images.images_in_objects` finds, not only containers';
  ``auto`` and :data:`kfstack.images.NOT_REHOSTABLE` exempt);
* the environment's rendered images against its ``kfstack images`` inventory
  (pseudo-line ``(image inventory)``): an image missing from the inventory
  is one the site's mirror will not hold. The inventory renders the
  environment once more without the registry (upstream references); the
  check's own renders are reused for the rendered side.

Modules: :mod:`.stack` (read the synthesized JSON), :mod:`.charts` (find
archives), :mod:`.render` (Helm), :mod:`.rules` (checks on rendered objects),
:mod:`.server` (the API server), :mod:`.run` (the driver), :mod:`.report`.
"""
