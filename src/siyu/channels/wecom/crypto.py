"""WeCom callback crypto (加解密方案): SHA1 msg_signature and AES-256-CBC with 32-byte PKCS#7 padding."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK = 32  # WeCom pads to a multiple of 32 bytes, not AES's 16
_RANDOM_PREFIX = 16


class CallbackCryptoError(ValueError):
    """A callback could not be verified or decrypted; the message says which step failed."""


def _pad(data: bytes) -> bytes:
    n = _BLOCK - len(data) % _BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CallbackCryptoError("callback decrypt: empty plaintext")
    n = data[-1]
    if n < 1 or n > _BLOCK or data[-n:] != bytes([n]) * n:
        raise CallbackCryptoError("callback decrypt: bad PKCS#7 padding (wrong EncodingAESKey?)")
    return data[:-n]


class WecomCrypto:
    """Sign, verify, encrypt and decrypt callbacks for one app (token, EncodingAESKey, receive id = CorpID)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise CallbackCryptoError(
                f"callback crypto: EncodingAESKey must be 43 characters, got {len(encoding_aes_key)}"
            )
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CallbackCryptoError("callback crypto: EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise CallbackCryptoError("callback crypto: EncodingAESKey must decode to 32 bytes")
        self._token = token
        self._key = key
        self._iv = key[:16]
        self._receive_id = receive_id

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """msg_signature = sha1 of the sorted, concatenated token, timestamp, nonce and ciphertext."""
        parts = sorted([self._token, str(timestamp), str(nonce), encrypted])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.signature(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, (msg_signature or "").lower()):
            raise CallbackCryptoError(
                "callback signature mismatch: msg_signature does not match the configured callback token"
            )

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification: check the signature over echostr, decrypt it and return the plaintext to echo."""
        return self.decrypt(msg_signature, timestamp, nonce, echostr).decode("utf-8")

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> bytes:
        """Verify the signature, then decrypt; returns the message and checks the trailing receive id."""
        self._check(msg_signature, timestamp, nonce, encrypted)
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CallbackCryptoError("callback decrypt: ciphertext is not base64") from exc
        if not raw or len(raw) % 16:
            raise CallbackCryptoError(
                "callback decrypt: ciphertext length is not a multiple of the AES block"
            )
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < _RANDOM_PREFIX + 4:
            raise CallbackCryptoError("callback decrypt: plaintext too short")
        (length,) = struct.unpack(">I", plain[_RANDOM_PREFIX : _RANDOM_PREFIX + 4])
        body_end = _RANDOM_PREFIX + 4 + length
        if body_end > len(plain):
            raise CallbackCryptoError("callback decrypt: message length exceeds the plaintext")
        receive_id = plain[body_end:].decode("utf-8", errors="replace")
        if receive_id != self._receive_id:
            raise CallbackCryptoError(
                f"callback decrypt: receive id {receive_id!r} is not the configured corp id {self._receive_id!r}"
            )
        return plain[_RANDOM_PREFIX + 4 : body_end]

    def encrypt(
        self, plaintext: bytes, nonce: str, timestamp: str, *, random_prefix: bytes | None = None
    ) -> tuple[str, str]:
        """Encrypt a message (for replies and tests); returns (base64 ciphertext, msg_signature)."""
        prefix = random_prefix if random_prefix is not None else os.urandom(_RANDOM_PREFIX)
        if len(prefix) != _RANDOM_PREFIX:
            raise CallbackCryptoError("callback encrypt: the random prefix must be 16 bytes")
        body = prefix + struct.pack(">I", len(plaintext)) + plaintext + self._receive_id.encode("utf-8")
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        encrypted = base64.b64encode(encryptor.update(_pad(body)) + encryptor.finalize()).decode("ascii")
        return encrypted, self.signature(timestamp, nonce, encrypted)
