"""roles/host_state/files/host_state.py, the roles' one read of a machine: run as the role runs it
(python3 -c SCRIPT SPEC) on files laid out by hand. The roles compare its "state" strings with the
ones they want, so their exact form is the contract tested here."""
import grp
import hashlib
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "roles" / "host_state" / "files" / "host_state.py"


def read(**spec) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT.read_text(), json.dumps(spec)],
                         capture_output=True, text=True, check=True).stdout
    assert out.count("\n") == 1, "one JSON line, which the role picks out of a login's output"
    return json.loads(out)


def me() -> str:
    return f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"


def test_a_file_is_its_type_owner_group_mode_and_digest(tmp_path):
    f = tmp_path / "server.properties"
    f.write_bytes(b"a=1\n")
    f.chmod(0o640)
    state = read(paths=[str(f)])["paths"][str(f)]
    digest = hashlib.sha1(b"a=1\n").hexdigest()
    assert state["state"] == f"file {me()} 0640 {digest}"
    assert state["realpath"] == str(f)


def test_a_folder_and_a_link_have_no_digest_and_the_link_says_where_it_leads(tmp_path):
    (tmp_path / "kafka_2.13-4.1.1").mkdir(mode=0o755)
    (tmp_path / "kafka_2.13-4.1.1").chmod(0o755)
    (tmp_path / "current").symlink_to(tmp_path / "kafka_2.13-4.1.1")
    paths = read(paths=[str(tmp_path / "kafka_2.13-4.1.1"), str(tmp_path / "current")])["paths"]
    assert paths[str(tmp_path / "kafka_2.13-4.1.1")]["state"] == f"directory {me()} 0755"
    link = paths[str(tmp_path / "current")]
    assert link["state"] == f"link {me()} 0777"
    assert link["target"] == str(tmp_path / "kafka_2.13-4.1.1")
    assert link["realpath"] == str(tmp_path / "kafka_2.13-4.1.1")


def test_what_does_not_exist_is_left_out(tmp_path):
    state = read(paths=[str(tmp_path / "no")], contents=[str(tmp_path / "no")], listings=[str(tmp_path / "no")],
                 users=["no-such-user-here"], groups=["no-such-group-here"], packages=["no-such-package-here"])
    assert state == {"paths": {}, "contents": {}, "listings": {}, "listed": [], "users": {}, "groups": {},
                     "packages": {}, "units": {}}


def test_a_listing_has_every_entry_with_its_size_and_the_listed_paths_are_normalised(tmp_path):
    (tmp_path / "a-1.0.whl").write_bytes(b"x" * 10)
    (tmp_path / "a-1.0.whl").chmod(0o644)
    (tmp_path / ".hidden").write_text("")
    (tmp_path / "link").symlink_to("/nowhere")
    state = read(listings=[str(tmp_path) + "/"])
    entries = state["listings"][str(tmp_path) + "/"]
    assert entries["a-1.0.whl"] == {"state": f"file {me()} 0644", "size": 10}
    assert entries["link"]["state"].startswith("link ")
    assert state["listed"] == sorted(str(tmp_path / name) for name in ("a-1.0.whl", ".hidden", "link"))


def test_contents_users_and_groups(tmp_path):
    (tmp_path / "meta.properties").write_text("cluster.id=abc\n")
    state = read(contents=[str(tmp_path / "meta.properties")], users=["root"], groups=["root"])
    assert state["contents"] == {str(tmp_path / "meta.properties"): "cluster.id=abc\n"}
    root = pwd.getpwnam("root")
    assert state["users"] == {"root": {"uid": 0, "gid": root.pw_gid, "group": grp.getgrgid(root.pw_gid).gr_name,
                                       "home": root.pw_dir, "shell": root.pw_shell}}
    assert state["groups"] == {"root": {"gid": 0}}


def test_an_installed_package_has_its_version():
    state = read(packages=["dpkg", "no-such-package-here"])
    assert list(state["packages"]) == ["dpkg"] and state["packages"]["dpkg"][0].isdigit()
