"""AES-128-CBC without padding for KS v2 (docs/kaltura-api.md#ks-version-2), on the ``cryptography`` package.

The emulator verifies KS v2 tokens with its own code path (``ks.py``), not the client's KS module,
so a bug in one is caught by the other; the cipher itself comes from a crypto library. Callers pad
to the block size themselves (the server pads with NUL bytes).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16


def _cipher(key: bytes, iv: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(data) % BLOCK:
        raise ValueError("AES-CBC input must be a whole number of 16-byte blocks")
    enc = _cipher(key, iv).encryptor()
    return enc.update(data) + enc.finalize()


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    if len(data) % BLOCK:
        raise ValueError("AES-CBC input must be a whole number of 16-byte blocks")
    dec = _cipher(key, iv).decryptor()
    return dec.update(data) + dec.finalize()
