"""The kafka role's filter kafka_sha512: the digest in the .sha512 file published beside a Kafka archive.

Apache publishes Kafka's digests in gpg's `--print-md SHA512` layout: the file name, a colon, then 128
hex digits in upper-case groups of eight, wrapped over indented lines:

    kafka_2.13-4.1.1.tgz: D78ABB05 42736865 F9470452 1609C230 DAC03A2F 369D043A
                          C212D693 3B91410E ...

Mirrors and newer releases may use coreutils' `sha512sum` layout instead (`<hex>  <name>`); both are read.
get_url's own checksum-URL parser reads only the second, hence this filter.
"""

from __future__ import annotations

import re

DIGITS = 128  # hex digits in a SHA-512 digest
_SHA512SUM = re.compile(r"^([0-9A-Fa-f]{%d})(?:[ \t]+\*?(\S+))?$" % DIGITS)
# The name may stand alone on the first line (gpg breaks after a long name); an "SHA512 =" tag is allowed.
_PRINT_MD = re.compile(r"^(\S[^\n]*?)\s*:\s*(?:SHA512\s*=\s*)?([0-9A-Fa-f][0-9A-Fa-f\s]*)$", re.S)


def read_sha512_file(text: str, archive: str) -> tuple[str, str]:
    """(the digest as 128 lower-case hex digits, '') or ('', why not, as one clause) for the .sha512
    file `text` of the archive named `archive`."""
    text = (text or "").strip()
    if not text:
        return "", "is empty"
    found = _SHA512SUM.match(text)
    if found:
        digest, name = found.group(1), found.group(2)
    else:
        found = _PRINT_MD.match(text)
        if not found:
            return "", "is in neither gpg's print-md layout nor sha512sum's (no '<name>: <hex groups>' or '<hex>  <name>')"
        name, digest = found.group(1).strip(), re.sub(r"\s+", "", found.group(2))
    if name is not None and name.rsplit("/", 1)[-1] != archive:
        return "", f"is the digest of {name}, not of {archive}"
    if len(digest) != DIGITS:
        return "", f"holds {len(digest)} hex digits where a SHA-512 digest has {DIGITS}"
    return digest.lower(), ""


def kafka_sha512(text: str, archive: str) -> dict:
    """{'checksum': 'sha512:<hex>' for get_url, or '', 'problem': '' or why the file is unusable}."""
    digest, problem = read_sha512_file(text, archive)
    return {"checksum": f"sha512:{digest}" if digest else "", "problem": problem}


class FilterModule:
    def filters(self):
        return {"kafka_sha512": kafka_sha512}
