"""Everything that talks to the chain; the only package that imports web3 (imported lazily by its modules)."""
