"""Load the edge into stock mitmproxy tools.

    mitmdump --mode reverse:http://127.0.0.1:8090@8080 --set connection_strategy=lazy \\
        --set keep_host_header=true -s addons/entry.py --set edge_config=edge/demo.toml

``mitmweb -s addons/entry.py ...`` works the same way.
"""

from addons.edge_addon import EdgeAddon

addons = [EdgeAddon()]
