#!/usr/bin/python3
"""A PKCS#15 card whose ISO/IEC 7816-4 file system is not dmboot's.

The card is vsmartcard's vicc 0.8 (Debian python3-virtualsmartcard 3.3, the
"iso7816" card type): its Iso7816OS answers SELECT, READ BINARY and READ
RECORD and builds the FCP/FCI from its own file classes (MF, DF,
TransparentStructureEF, RecordStructureEF), and its VirtualICC speaks the vpcd
protocol to pcscd. This script only builds the file system with those classes
and hands it to them:

  3F00 MF
    2F00 EF(DIR), linear variable records: one PKCS#15 application template
    5015 DF, DF name A000000063504B43532D3135 (the PKCS#15 AID)
      5031 ODF        dataObjects [7] -> 4401
      5032 TokenInfo  version 0, serial, manufacturer, label, empty token flags
      4401 DODF       one oidDO 2.23.43.7.1 (OMA DM bootstrap) -> 4402
      4402 the bootstrap document given with --bootstrap (WBXML from xml2wbxml)

The DER follows the PKCS#15 v1.1 ASN.1 module (IMPLICIT TAGS) and ISO/IEC
7816-4 8.2.1.1 (EF.DIR application template 61: 4F AID, 50 label, 51 path).
With --save the file system is also written as a pickle of vicc's MF, the form
virtualsmartcard's own SmartcardFilesystem pickles its files in.

Debian installs the library outside sys.path and vicc imports PyCrypto's
"Crypto" package, which Debian ships as pycryptodome's "Cryptodome"; both are
bridged here. One vicc defect is mended: TLVutils.pack ends with
b"".join(result) over a bytes object (a Python 2 leftover), so every SELECT
asking for an FCP or FCI (P2 04 or 00) raises TypeError, which vicc does not
catch: the card process dies and pcscd reports the card removed. `pack`
below is the same encoding ending with the bytes themselves; the FCP/FCI
content is still vicc's own (MF.encodeFileControlParameter).
"""
import argparse
import importlib
import logging
import pickle
import sys

sys.path.insert(0, "/usr/lib/python3/site-packages/virtualsmartcard")
for name in ("", ".Cipher", ".Cipher.DES3", ".Cipher.DES", ".Cipher.AES", ".Cipher.ARC4", ".Hash", ".Hash.HMAC",
             ".Hash.SHA", ".Hash.MD5"):
    sys.modules["Crypto" + name] = importlib.import_module("Cryptodome" + name)

import virtualsmartcard.TLVutils as TLVutils  # noqa: E402
from virtualsmartcard.ConstantDefinitions import FDB  # noqa: E402
import virtualsmartcard.SmartcardFilesystem as SmartcardFilesystem  # noqa: E402
from virtualsmartcard.SmartcardFilesystem import (DF, MF, Record, RecordStructureEF,  # noqa: E402
                                                  TransparentStructureEF)
from virtualsmartcard.SmartcardSAM import SAM  # noqa: E402
from virtualsmartcard.VirtualSmartcard import Iso7816OS, VirtualICC  # noqa: E402



def pack(tlv_data, recalculate_length=False):
    """vicc's TLVutils.pack (BER-TLV of (tag, length, value) tuples), returning its bytes."""
    result = b""
    for tag, length, value in (item[:3] for item in tlv_data):
        if tag in (0xFF, 0x00):
            result += bytes([tag])
            continue
        if not isinstance(value, bytes):
            value = pack(value, recalculate_length)
        if recalculate_length:
            length = len(value)
        encoded_tag = b""
        while tag > 0:
            encoded_tag = bytes([tag & 0xFF]) + encoded_tag
            tag >>= 8
        if length < 0x7F:
            encoded_length = bytes([length])
        else:
            octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
            encoded_length = bytes([0x80 | len(octets)]) + octets
        result += encoded_tag + encoded_length + value
    return result


TLVutils.pack = SmartcardFilesystem.pack = pack

PKCS15_AID = bytes.fromhex("A000000063504B43532D3135")
DM_BOOTSTRAP_OID = "2.23.43.7.1"


def tlv(tag, value):
    """DER: one tag byte, definite length (short or long form), the value."""
    length = len(value)
    if length < 0x80:
        encoded = bytes([length])
    else:
        octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
        encoded = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + encoded + value


def oid(text):
    """X.690 8.19: the first two arcs in one subidentifier, base 128 big-endian."""
    arcs = [int(arc) for arc in text.split(".")]
    numbers = [arcs[0] * 40 + arcs[1]] + arcs[2:]
    out = b""
    for number in numbers:
        chunk = [number & 0x7F]
        number >>= 7
        while number:
            chunk.insert(0, 0x80 | (number & 0x7F))
            number >>= 7
        out += bytes(chunk)
    return tlv(0x06, out)


def path(fid):
    """PKCS#15 Path ::= SEQUENCE { path OCTET STRING, ... }, relative to the application DF."""
    return tlv(0x30, tlv(0x04, fid))


def build(bootstrap):
    mf = MF()
    directory = tlv(0x61, tlv(0x4F, PKCS15_AID) + tlv(0x50, b"VICC PKCS15") + tlv(0x51, bytes.fromhex("3F005015")))
    mf.append(RecordStructureEF(parent=mf, fid=0x2F00, filedescriptor=FDB["EFSTRUCTURE_LINEAR_VARIABLE_NOFURTHERINFO"],
                                records=[Record(identifier=1, data=directory)]))
    application = DF(parent=mf, fid=0x5015, dfname=PKCS15_AID)
    # ODF: PKCS15Objects CHOICE, dataObjects [7] PKCS15ObjectValue (a Path).
    odf = tlv(0xA7, path(b"\x44\x01"))
    # TokenInfo ::= SEQUENCE { version, serialNumber, manufacturerID, label [0], tokenflags }
    token_info = tlv(0x30, tlv(0x02, b"\x00") + tlv(0x04, bytes.fromhex("0C0FFEE5")) + tlv(0x0C, b"vsmartcard vicc")
                     + tlv(0x80, b"independent card") + tlv(0x03, b"\x00"))
    # DataType oidDO [1] DataObject{OidDO}: commonObjectAttributes (label, flags), commonDataObjectAttributes,
    # typeAttributes [1] OidDO ::= SEQUENCE { id OBJECT IDENTIFIER, value ObjectValue (indirect: a Path) }.
    dm_object = tlv(0xA1, tlv(0x30, tlv(0x0C, b"DM bootstrap") + tlv(0x03, b"\x06\x40"))
                    + tlv(0x30, b"")
                    + tlv(0xA1, oid(DM_BOOTSTRAP_OID) + path(b"\x44\x02")))
    for fid, data in ((0x5031, odf), (0x5032, token_info), (0x4401, dm_object), (0x4402, bootstrap)):
        application.append(TransparentStructureEF(parent=application, fid=fid, data=data))
    mf.append(application)
    return mf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="the DM bootstrap document for EF 4402")
    parser.add_argument("--port", type=int, default=35963, help="vpcd's port (default 35963)")
    parser.add_argument("--save", help="also write the file system (a pickle of vicc's MF) here")
    args = parser.parse_args()
    with open(args.bootstrap, "rb") as file:
        mf = build(file.read())
    if args.save:
        with open(args.save, "wb") as file:
            pickle.dump(mf, file)
    card = VirtualICC(None, "iso7816", "localhost", args.port, logginglevel=logging.WARNING)
    sam = SAM(b"1234", b"1234567890")
    sam.set_MF(mf)
    card.os = Iso7816OS(mf, sam)
    print("vicc card on port %d" % args.port, flush=True)
    try:
        card.run()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
