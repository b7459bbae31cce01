#!/usr/bin/env python3
"""Encrypts the ENC, MAC and DEK columns of a key table the way pySim's
CardKeyFieldCryptor does (pySim/card_key_provider.py, osmocom/pysim): each
value is hex of AES-CBC under the column's transport key with the fixed IV
of sixteen 0x23 bytes and no padding. Independent of dmboot: uses pyca's
cryptography. Usage: pysim_csv.py KEK_HEX < plain.csv > encrypted.csv"""
import csv
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV = b"\x23" * 16
kek = bytes.fromhex(sys.argv[1])
reader = csv.DictReader(sys.stdin)
writer = csv.DictWriter(sys.stdout, fieldnames=reader.fieldnames, lineterminator="\n")
writer.writeheader()
for row in reader:
    # pySim upper-cases the header names; so does dmboot.
    for column in [name for name in reader.fieldnames if name.upper() in ("ENC", "MAC", "DEK")]:
        encryptor = Cipher(algorithms.AES(kek), modes.CBC(IV)).encryptor()
        row[column] = (encryptor.update(bytes.fromhex(row[column])) + encryptor.finalize()).hex()
    writer.writerow(row)
