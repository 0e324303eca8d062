"""govledger: the application layer of a permissioned government blockchain network.

Solidity contracts record a consortium of departments, data-sharing authorisations, hashes of shared
records and e-certificates; this package holds the departments' signing keys, submits their
transactions, indexes contract events into SQL and serves departments, citizens and auditors.
"""

__version__ = "0.1.0"
