"""Everything ``edge debug`` loads into mitmweb or the console with ``-s``.

    mitmweb --mode reverse:http://127.0.0.1:8090@127.0.0.1:8080 -s addons/debug_entry.py \\
        --set edge_config=edge/demo.toml --set connection_strategy=lazy \\
        --set keep_host_header=true --set edge_max_flows=2000

Order matters: the chaos addon follows the edge (it acts on what the edge did) and hands the
edge its provider client; the recorder comes after both, so it writes the final flow.
"""

import logging

from addons.chaos import EdgeChaos
from addons.commands import EdgeCommands
from addons.edge_addon import EdgeAddon
from addons.record import Record
from addons.retention import Retention
from addons.view import DcsHitView

for _noisy in ("httpx", "httpcore", "hpack"):  # the tools set the root logger to DEBUG
    logging.getLogger(_noisy).setLevel(logging.WARNING)

_chaos = EdgeChaos()

addons = [
    EdgeAddon(client_factory=_chaos.client_for),
    _chaos,
    DcsHitView(),
    EdgeCommands(),
    Record(),
    Retention(),
]
