"""govledger: the application layer of a permissioned government blockchain network.

Solidity contracts record a consortium of departments, data-sharing authorisations, hashes of shared
records and e-certificates; this package holds the departments' signing keys, submits their
transactions, indexes contract events into SQL and serves departments, citizens and auditors.
"""

import os

__version__ = "0.1.0"

# web3 and eth_utils hash through eth_hash, which picks its backend at its first hash. pysha3 (installed
# as safe-pysha3) is ~6x faster per call than its default pycryptodome: signing, checksummed addresses and
# event topics all pay it. An operator's explicit ETH_HASH_BACKEND still wins.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
