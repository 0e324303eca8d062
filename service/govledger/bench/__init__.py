"""The performance benchmark behind ``scripts/bench``: one module per measured row, ``runner`` ties them together.

``stack`` starts anvil, deploys the system and serves it as an operator would; ``load`` holds the client-side
machinery (concurrent clients, confirmation watching, percentiles); ``table`` prints the result. Nothing here
is imported by the service itself.
"""
