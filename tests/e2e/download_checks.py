"""The kafka role's download path on a lab host: Kafka came from the lab's mirror (lab/nspawnlab/mirror.py)
with its .sha512 checked, and an archive or digest that does not match is refused in one line, leaving
nothing installed. Used by test_kafka_download.py (the four hosts) and test_lab_topologies.py."""
from __future__ import annotations

import hashlib
import re
import shutil

from nspawnlab import mirror

from .conftest import ROOT, on, playbook

VERSION = "4.1.1"
ARCHIVE = f"kafka_2.13-{VERSION}.tgz"
BUILT = ROOT / "build" / "kafka" / ARCHIVE


def one_line(output: str) -> str:
    """The output with its line wrapping undone (the yaml callback wraps long messages)."""
    return " ".join(output.split())


def assert_installed_from_the_mirror(site_output: str, broker: str) -> None:
    """The fresh site.yml downloaded the archive the mirror serves, and it is what Kafka runs from."""
    task = re.search(r"TASK \[kafka : Download the Kafka archive \(its digest checked\)\][^\n]*\n(.*?)\n\n",
                     site_output, re.S)
    assert task and f"changed: [{broker}-node]" in task.group(1), "no download in site.yml's output"
    want = hashlib.sha512(BUILT.read_bytes()).hexdigest()
    got = on(broker, f"sha512sum /var/cache/kafka/{ARCHIVE}").split()[0]
    assert got == want, f"{broker}: the downloaded archive is not make kafka-dist's"
    assert on(broker, "readlink /opt/kafka/current").strip() == f"/opt/kafka/kafka_2.13-{VERSION}"


# What a refused install is handed (the mirror's archive and .sha512 changed), and the line that says so.
REFUSALS = {
    "tampered-archive": ("archive", f"{ARCHIVE} does not match the SHA-512 digest in "),
    "wrong-digest": ("digest", f"{ARCHIVE} does not match the SHA-512 digest in "),
    "no-digest": ("garbage", f"{ARCHIVE}.sha512 is in neither gpg's print-md layout nor sha512sum's"),
}


def assert_refused(case: str, broker: str) -> None:
    """A broken copy of the mirror under .lab/mirror/<case>/; the kafka role pointed at it installs
    into folders of its own on `broker` (the running Kafka is not touched) and must refuse."""
    how, message = REFUSALS[case]
    served = mirror.publish(str(BUILT), str(ROOT / ".lab" / "mirror" / case))
    if how == "archive":  # one byte changed in the middle; the .sha512 is the true one
        data = bytearray(open(served, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(served, "wb").write(bytes(data))
    elif how == "digest":  # the archive is intact; its .sha512 holds another file's digest
        open(served + ".sha512", "w").write(mirror.print_md(ARCHIVE, hashlib.sha512(b"another").hexdigest()))
    else:
        open(served + ".sha512", "w").write("<html><body>Not Found</body></html>\n")
    install, cache = f"/opt/kafka-{case}", f"/var/cache/kafka-{case}"
    try:
        res, _ = playbook("site.yml", "--limit", f"{broker}-node", "--tags", "kafka_install",
                          "-e", f"kafka_mirror=http://{mirror.GATEWAY}:{mirror.PORT}/{case}/kafka",
                          "-e", f"kafka_install_dir={install}", "-e", f"kafka_download_dir={cache}")
        assert res.returncode != 0, f"{case}: the install went through:\n{res.stdout[-3000:]}"
        text = one_line(res.stdout)
        assert f"Kafka not installed: http://{mirror.GATEWAY}:{mirror.PORT}/{case}/kafka/{VERSION}/{message}" \
            in text, res.stdout[-3000:]
        assert res.stdout.count("FAILED!") == 1, f"{case}: more than one failure reported:\n{res.stdout[-3000:]}"
        left = on(broker, f"find {install} {cache} -mindepth 1 2>/dev/null; true").split()
        assert left == [], f"{case}: left on {broker}: {left}"
        assert on(broker, "systemctl is-active kafka").strip() == "active"
        assert on(broker, "readlink /opt/kafka/current").strip() == f"/opt/kafka/kafka_2.13-{VERSION}"
    finally:
        on(broker, f"rm -rf {install} {cache}", check=False)
        shutil.rmtree(ROOT / ".lab" / "mirror" / case, ignore_errors=True)
