"""Wire contracts shared by the edge and the DCS.

The enrichment code and the DCS never import each other; what they must agree on lives here:
visitor and transaction ids (`ids`), the signed enrichment envelope (`envelope`) and the provider
protocol v1 (`provider_protocol`).
"""
