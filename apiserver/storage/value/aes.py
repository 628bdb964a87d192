"""AES transformers for encryption at rest, in Kubernetes' byte layout.

- AES-GCM (`aesgcm`): a random 12-byte nonce, then the sealed value (ciphertext
  followed by the 16-byte tag); the etcd key is the authenticated data, so a value
  moved under another key fails to open. NIST's limit: about 2^32 writes per key
  with random nonces, so keys must be rotated.
- AES-CBC (`aescbc`): a random 16-byte IV, then the value padded with PKCS#7 and
  encrypted; nothing is authenticated.

Keys are 16, 24 or 32 bytes (AES-128/192/256). Both only ever see the value after
the provider and key-name prefixes (`k8s:enc:aesgcm:v1:key1:`) are stripped.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/value/encrypt/aes/aes.go
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from apiserver.storage.value.transformer import TransformError

GCM_NONCE_BYTES = 12
BLOCK_BYTES = 16  # AES's block, the CBC IV's size
Random = Callable[[int], bytes]


class GCMTransformer:
    def __init__(self, key: bytes, random: Random = os.urandom) -> None:
        self._aead = AESGCM(key)
        self._random = random

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if len(data) < GCM_NONCE_BYTES:
            raise TransformError("the stored data was shorter than the required size")
        try:
            return self._aead.decrypt(data[:GCM_NONCE_BYTES], data[GCM_NONCE_BYTES:], context), False
        except InvalidTag:
            # Go's crypto/cipher words it so: wrong key, tampered value or moved key.
            raise TransformError("cipher: message authentication failed") from None

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        nonce = self._random(GCM_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, context)


class CBCTransformer:
    def __init__(self, key: bytes, random: Random = os.urandom) -> None:
        self._algorithm = algorithms.AES(key)
        self._random = random

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if len(data) < BLOCK_BYTES:
            raise TransformError("the stored data was shorter than the required size")
        iv, body = data[:BLOCK_BYTES], data[BLOCK_BYTES:]
        if len(body) % BLOCK_BYTES:
            raise TransformError("the stored data is not a multiple of the block size")
        decryptor = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        plain = decryptor.update(body) + decryptor.finalize()
        padding = plain[-1] if plain else 0
        if padding == 0 or padding > len(plain) or padding > BLOCK_BYTES:
            raise TransformError("invalid PKCS7 data (empty or not padded)")
        if plain[-padding:] != bytes([padding]) * padding:
            raise TransformError("invalid padding on input")
        return plain[:-padding], False

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        padding = BLOCK_BYTES - len(data) % BLOCK_BYTES
        iv = self._random(BLOCK_BYTES)
        encryptor = Cipher(self._algorithm, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(data + bytes([padding]) * padding) + encryptor.finalize()
