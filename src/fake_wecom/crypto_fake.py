"""The fake server's own callback crypto (written independently of siyu's, so tests cross-check two implementations)."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def callback_signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """msg_signature: SHA1 over the four strings sorted and concatenated (DOC/91144)."""
    parts = sorted([token, timestamp, nonce, encrypted])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def _aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError(f"fake crypto: EncodingAESKey decodes to {len(key)} bytes, need 32")
    return key


def encrypt_for_callback(
    encoding_aes_key: str, receive_id: str, plaintext: bytes, prefix: bytes | None = None
) -> str:
    """random(16) ‖ len(4, big endian) ‖ msg ‖ receive_id, padded to 32 bytes, AES-256-CBC, IV = key[:16], base64."""
    key = _aes_key(encoding_aes_key)
    head = prefix if prefix is not None else os.urandom(16)
    if len(head) != 16:
        raise ValueError("fake crypto: the random prefix must be 16 bytes")
    body = head + struct.pack(">I", len(plaintext)) + plaintext + receive_id.encode("utf-8")
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode("ascii")


def decrypt_from_callback(encoding_aes_key: str, encrypted: str) -> tuple[bytes, str]:
    """Inverse of encrypt_for_callback: (plaintext, receive_id); used by the fake's own tests."""
    key = _aes_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    body = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    body = body[: -body[-1]]
    (length,) = struct.unpack(">I", body[16:20])
    return body[20 : 20 + length], body[20 + length :].decode("utf-8")
