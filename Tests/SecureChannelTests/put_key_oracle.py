#!/usr/bin/env python3
"""Independent oracle for PUT KEY of an SCP03 key set (Python `cryptography`,
OpenSSL underneath but none of dmboot's code): the data field GlobalPlatformPro's
GPSession.putKeys/encodeKey builds (new KVN, then per key 88 | len+1 | keylen |
AES-CBC(DEK, key, IV 0) | 03 | KCV) and the KCV of Amendment D 7.2.2 as
GlobalPlatformPro's GPCrypto.kcv_aes computes it (AES of 16 x 01, first 3 bytes).
Usage: put_key_oracle.py DEK NEWKVN ENC MAC DEK2 -> prints the data field in hex."""
import sys
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def kcv(key):
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return (enc.update(b"\x01" * 16) + enc.finalize())[:3]


def component(dek, key):
    enc = Cipher(algorithms.AES(dek), modes.CBC(bytes(16))).encryptor()
    cgram = enc.update(key) + enc.finalize()
    return bytes([0x88, len(cgram) + 1, len(key)]) + cgram + bytes([3]) + kcv(key)


dek = bytes.fromhex(sys.argv[1])
data = bytes([int(sys.argv[2], 16)])
for hexkey in sys.argv[3:6]:
    data += component(dek, bytes.fromhex(hexkey))
print(data.hex().upper())
print(" ".join(kcv(bytes.fromhex(k)).hex().upper() for k in sys.argv[3:6]))
