"""The `secretbox` transformer: NaCl's XSalsa20-Poly1305, in Kubernetes' byte layout.

A random 24-byte nonce, then what Go's `nacl/secretbox.Seal` writes: the 16-byte
Poly1305 tag followed by the ciphertext. Keys are 32 bytes. Unlike `aesgcm`, the etcd
key is not authenticated (secretbox has no additional data), as upstream.

The `cryptography` package has Poly1305 but no XSalsa20, so the stream cipher is
written here from its specification (D. J. Bernstein, "The Salsa20 family of stream
ciphers" and "Extending the Salsa20 nonce"): HSalsa20 derives a subkey from the key
and the nonce's first 16 bytes, Salsa20 with that subkey and the nonce's last 8 bytes
makes the keystream, whose first 32 bytes are the Poly1305 key. Plain Python is slow
(about a megabyte per second), which is enough for Secrets of a few kilobytes.

Kubernetes counterpart: staging/src/k8s.io/apiserver/pkg/storage/value/encrypt/secretbox/secretbox.go
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.poly1305 import Poly1305

from apiserver.storage.value.transformer import TransformError

NONCE_BYTES = 24
TAG_BYTES = 16
KEY_BYTES = 32
_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"
_MASK = 0xFFFFFFFF
Random = Callable[[int], bytes]


def _rounds(state: list[int]) -> list[int]:
    """Salsa20's 20 rounds (10 double rounds: columns, then rows) over 16 words."""
    x = list(state)

    def quarter(a: int, b: int, c: int, d: int) -> None:
        t = (x[a] + x[d]) & _MASK
        x[b] ^= ((t << 7) | (t >> 25)) & _MASK
        t = (x[b] + x[a]) & _MASK
        x[c] ^= ((t << 9) | (t >> 23)) & _MASK
        t = (x[c] + x[b]) & _MASK
        x[d] ^= ((t << 13) | (t >> 19)) & _MASK
        t = (x[d] + x[c]) & _MASK
        x[a] ^= ((t << 18) | (t >> 14)) & _MASK

    for _ in range(10):
        quarter(0, 4, 8, 12), quarter(5, 9, 13, 1), quarter(10, 14, 2, 6), quarter(15, 3, 7, 11)
        quarter(0, 1, 2, 3), quarter(5, 6, 7, 4), quarter(10, 11, 8, 9), quarter(15, 12, 13, 14)
    return x


def _state(key: bytes, middle: tuple[int, ...]) -> list[int]:
    k = struct.unpack("<8I", key)
    return [_SIGMA[0], *k[:4], _SIGMA[1], *middle, _SIGMA[2], *k[4:], _SIGMA[3]]


def hsalsa20(key: bytes, nonce16: bytes) -> bytes:
    """The subkey for a 24-byte nonce: words 0, 5, 10, 15, 6, 7, 8, 9 after the rounds."""
    x = _rounds(_state(key, struct.unpack("<4I", nonce16)))
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


def salsa20_stream(key: bytes, nonce8: bytes, length: int) -> bytes:
    n0, n1 = struct.unpack("<2I", nonce8)
    blocks = []
    for counter in range((length + 63) // 64):
        state = _state(key, (n0, n1, counter & _MASK, counter >> 32))
        mixed = _rounds(state)
        blocks.append(struct.pack("<16I", *((a + b) & _MASK for a, b in zip(mixed, state))))
    return b"".join(blocks)[:length]


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream[:len(data)], "little")).to_bytes(
        len(data), "little")


def seal(message: bytes, nonce: bytes, key: bytes) -> bytes:
    """nacl/secretbox.Seal: tag, then ciphertext."""
    stream = salsa20_stream(hsalsa20(key, nonce[:16]), nonce[16:], 32 + len(message))
    ciphertext = _xor(message, stream[32:])
    return Poly1305.generate_tag(stream[:32], ciphertext) + ciphertext


def open_box(box: bytes, nonce: bytes, key: bytes) -> bytes | None:
    """nacl/secretbox.Open: the message, or None when the tag does not match."""
    if len(box) < TAG_BYTES:
        return None
    tag, ciphertext = box[:TAG_BYTES], box[TAG_BYTES:]
    stream = salsa20_stream(hsalsa20(key, nonce[:16]), nonce[16:], 32 + len(ciphertext))
    try:
        Poly1305.verify_tag(stream[:32], ciphertext, tag)
    except InvalidSignature:
        return None
    return _xor(ciphertext, stream[32:])


class SecretboxTransformer:
    def __init__(self, key: bytes, random: Random = os.urandom) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"secretbox keys are {KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self._random = random

    def from_storage(self, data: bytes, context: bytes) -> tuple[bytes, bool]:
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise TransformError("the stored data was shorter than the required size")
        opened = open_box(data[NONCE_BYTES:], data[:NONCE_BYTES], self._key)
        if opened is None:
            raise TransformError("output array was not large enough for encryption")
        return opened, False

    def to_storage(self, data: bytes, context: bytes) -> bytes:
        nonce = self._random(NONCE_BYTES)
        return nonce + seal(data, nonce, self._key)
