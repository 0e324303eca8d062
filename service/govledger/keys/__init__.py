"""Signing keys: the ``Signer`` protocol, the in-process ``LocalSigner`` and the encrypted ``Keystore``.

Start-up unlocks the keystore once (``Keystore.unlock_all``) and hands each department's ``Signer`` to
the transaction manager; nothing outside this package ever sees a private key.
"""

from govledger.keys.keystore import KeyInfo, Keystore
from govledger.keys.signer import LocalSigner, SignedTransaction, Signer

__all__ = ["KeyInfo", "Keystore", "LocalSigner", "SignedTransaction", "Signer"]
