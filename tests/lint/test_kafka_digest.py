"""The kafka role reads Apache's .sha512 files (roles/kafka/filter_plugins/sha512_file.py) and the lab
writes its mirror's in the same layout (lab/nspawnlab/mirror.py): both against a file gpg itself wrote.

GPG_PRINT_MD is `gpg --print-md SHA512 kafka_2.13-4.1.1.tgz` of a file holding b"hi\\n" (GnuPG 2.2),
the layout of the .sha512 files on Apache's download site."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from nspawnlab import mirror
from roles.kafka.filter_plugins.sha512_file import kafka_sha512, read_sha512_file
from tests.support.ansible_tools import run, venv_tool

pytestmark = pytest.mark.lint

NAME = "kafka_2.13-4.1.1.tgz"
CONTENT = b"hi\n"
DIGEST = hashlib.sha512(CONTENT).hexdigest()
GPG_PRINT_MD = (
    "kafka_2.13-4.1.1.tgz: D78ABB05 42736865 F9470452 1609C230 DAC03A2F 369D043A\n"
    "                      C212D693 3B91410E 06399E37 F9C5CC88 436A3173 7330C1C8\n"
    "                      ECCB2C2F 9F374D62 F716432A 32D50FAC\n")


def test_the_print_md_layout_is_read():
    assert read_sha512_file(GPG_PRINT_MD, NAME) == (DIGEST, "")
    assert kafka_sha512(GPG_PRINT_MD, NAME) == {"checksum": f"sha512:{DIGEST}", "problem": ""}


def test_a_long_name_on_its_own_line_and_crlf_are_read():
    """gpg puts the digest on the next line after a name longer than 40 characters; Windows line ends."""
    name = "kafka_2.13-4.1.1-with-a-rather-long-suffix-name.tgz"
    text = f"{name}:\r\n" + "\r\n".join(f"  {DIGEST[i:i + 32].upper()}" for i in range(0, 128, 32)) + "\r\n"
    assert read_sha512_file(text, name) == (DIGEST, "")


def test_the_sha512sum_layout_is_read():
    assert read_sha512_file(f"{DIGEST}  {NAME}\n", NAME) == (DIGEST, "")
    assert read_sha512_file(f"{DIGEST} *{NAME}\n", NAME) == (DIGEST, "")
    assert read_sha512_file(DIGEST.upper(), NAME) == (DIGEST, "")


@pytest.mark.parametrize(("text", "problem"), [
    ("", "is empty"),
    ("<html><body>404 Not Found</body></html>", "is in neither gpg's print-md layout nor sha512sum's"),
    (GPG_PRINT_MD.replace("32D50FAC", "32D50F"), "holds 126 hex digits where a SHA-512 digest has 128"),
    (GPG_PRINT_MD.replace("4.1.1.tgz:", "4.1.0.tgz:"), "is the digest of kafka_2.13-4.1.0.tgz, not of kafka_2.13-4.1.1.tgz"),
    (f"{DIGEST}  kafka_2.13-4.0.0.tgz", "is the digest of kafka_2.13-4.0.0.tgz, not of kafka_2.13-4.1.1.tgz"),
    (GPG_PRINT_MD.replace("C212D693", "C212D69Z"), "is in neither"),
])
def test_an_unusable_file_is_named_not_guessed(text, problem):
    digest, why = read_sha512_file(text, NAME)
    assert digest == "" and why.startswith(problem), why
    assert kafka_sha512(text, NAME)["checksum"] == ""


def test_the_lab_writes_what_gpg_writes():
    assert mirror.print_md(NAME, DIGEST) == GPG_PRINT_MD


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_the_lab_writes_what_this_gpg_writes_for_other_names(tmp_path):
    for name in ("kafka_2.13-4.1.1.tgz", "kafka_2.12-10.20.30.tgz", "k.tgz"):
        path = tmp_path / name
        path.write_bytes(name.encode())
        out = subprocess.run(["gpg", "--homedir", str(tmp_path), "--print-md", "SHA512", name], cwd=tmp_path,
                             capture_output=True, text=True, check=True).stdout
        assert mirror.print_md(name, hashlib.sha512(name.encode()).hexdigest()) == out


def test_the_mirror_lays_an_archive_out_as_apache_does(tmp_path):
    archive = tmp_path / NAME
    archive.write_bytes(CONTENT)
    dest = mirror.publish(str(archive), str(tmp_path / "mirror"))
    assert dest == str(tmp_path / "mirror" / "kafka" / "4.1.1" / NAME)
    assert (tmp_path / "mirror" / "kafka" / "4.1.1" / f"{NAME}.sha512").read_text() == GPG_PRINT_MD
    assert not (tmp_path / "mirror" / "kafka" / "4.1.1" / NAME).samefile(archive), "a copy, not a link"


def test_the_role_reads_the_digest_with_its_filter(tmp_path):
    """The filter as the kafka role loads it (a role's filter_plugins/), not only as a Python function."""
    play = tmp_path / "digest.yml"
    play.write_text("- name: The kafka role's digest filter\n  hosts: localhost\n  gather_facts: false\n"
                    "  roles: [{role: kafka, tags: [never]}]\n  tasks:\n"
                    "    - name: Show it\n      ansible.builtin.debug:\n"
                    "        msg: \"{{ sha512_text | kafka_sha512('" + NAME + "') | to_json }}\"\n")
    res = run([venv_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
               "-e", json.dumps({"sha512_text": GPG_PRINT_MD})])
    assert res.returncode == 0, res.stdout[-3000:]
    assert f"sha512:{DIGEST}" in res.stdout, res.stdout[-3000:]
