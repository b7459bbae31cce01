"""Packs an MCIM blob with pyca/cryptography alone, following the layout in
dmboot(1), MCIM BLOB, so that dmboot's unpack is checked against an
implementation it shares no code with.

usage: independent_pack.py PUBLIC_KEY.pem PAYLOAD_HEX TAG OUT"""
import os
import struct
import sys

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

public_key = serialization.load_pem_public_key(open(sys.argv[1], "rb").read())
payload = bytes.fromhex(sys.argv[2])
tag = int(sys.argv[3])
pik, pck, iv = os.urandom(20), os.urandom(16), os.urandom(16)
wrapped = public_key.encrypt(pik + pck, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
data = bytes([tag]) + struct.pack(">I", len(payload)) + payload + b"\x01"
data += b"\x00" * ((16 - len(data) % 16) % 16)
encryptor = Cipher(algorithms.AES(pck), modes.CBC(iv)).encryptor()
ciphertext = encryptor.update(data) + encryptor.finalize()
mac = hmac.HMAC(pik, hashes.SHA1())
mac.update(iv + ciphertext)
blob = b"MCIM\x01" + struct.pack(">H", len(wrapped)) + wrapped + iv + struct.pack(">I", len(ciphertext)) + ciphertext + mac.finalize()
open(sys.argv[4], "wb").write(blob)
