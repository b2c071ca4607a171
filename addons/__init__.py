"""mitmproxy addons: thin adapters from flows and options to the edge library (edge/).

- ``edge_addon.EdgeAddon``: routing, visitor identity, provider fan-out, signed enrichment,
  Server-Timing, metrics; options ``edge_config``, ``edge_admin``.
- ``drain.Drain``: graceful drain of in-flight flows on shutdown.
- ``entry``: the script for stock tools: ``mitmdump -s addons/entry.py --set edge_config=...``.
- ``run``: the lean production runner behind ``edge proxy``.
"""
