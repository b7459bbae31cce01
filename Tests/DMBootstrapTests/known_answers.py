"""Independent known answers for dmboot's bootstrap-security code, computed
with Python's hmac and hashlib only. Run: python3 known_answers.py FIXTURES_DIR
The values printed are pinned in PushSecurityTests.swift."""
import base64
import hashlib
import hmac
import sys

fixtures = sys.argv[1]


def imsi_key(imsi):
    # EF_IMSI without its length byte: identity nibble 9 (odd) or 1 (even, F filler), nibbles swapped.
    nibbles = ("9" + imsi) if len(imsi) % 2 else ("1" + imsi + "F")
    return bytes(int(nibbles[i + 1] + nibbles[i], 16) for i in range(0, len(nibbles), 2))


body = open(fixtures + "/dm12-x509.wbxml", "rb").read()
print("imsi odd", imsi_key("404020506708200").hex().upper())
print("imsi even", imsi_key("21407650123456").hex().upper())
print("hmac USERPIN 1234", hmac.new(b"1234", body, hashlib.sha1).hexdigest().upper())
print("hmac NETWORKID imsi", hmac.new(imsi_key("262011234567890"), body, hashlib.sha1).hexdigest().upper())
print("hmac USERPIN_NETWORKID", hmac.new(b"1234:" + imsi_key("262011234567890"), body, hashlib.sha1).hexdigest().upper())
ks = bytes(range(32))
print("DMBIK", hmac.new(ks, b"\x01dm-bik\x00\x06", hashlib.sha256).hexdigest().upper())
print("DMBEK", hmac.new(ks, b"\x01dm-bek\x00\x06", hashlib.sha256).hexdigest().upper())
for name, h in (("md5", hashlib.md5), ("sha256", hashlib.sha256)):
    inner = base64.b64encode(h(b"Bruce1:OhBehave").digest())
    print("digest", name, base64.b64encode(h(inner + b":" + b"Nonce").digest()).decode())
print("x-syncml-hmac", base64.b64encode(hmac.new(b"integrity-key", b"2012-01-01T13:04:20Z:" + b"<SyncML/>", hashlib.sha256).digest()).decode())
