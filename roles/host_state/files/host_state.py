"""What a role needs to know of a machine, read in one command: paths, users, groups, packages.

    python3 host_state.py '{"paths": [...], "contents": [...], "users": [...], "groups": [...], "packages": [...],
                              "units": [...], "listings": [...]}'

Prints one JSON object on one line. Only what exists is listed:
  paths:    {path: {state: "TYPE OWNER GROUP MODE[ SHA1]" (TYPE: file, directory, link or other;
                            MODE as "0640"; SHA1 of a file's content), realpath, target (of a link)}}
  listings: {folder: {name: {state: "TYPE OWNER GROUP MODE", size}}} of the folders asked for (each
            entry as lstat sees it, no digests: a folder of wheels may hold hundreds of MB)
  listed:   [path] every entry of those folders as a normalised path, dot files and links too
  contents: {path: text} of the small text files asked for (a version file, a properties file)
  users:    {name: {uid, gid, group (the primary group's name), home, shell}}
  groups:   {name: {gid}}
  packages: {name: version} for the packages dpkg has installed.
  units:    {name: {active: ActiveState, sub: SubState, enabled: UnitFileState}} for the units systemd has loaded
            or has a file of.
Standard library only, and run with the machine's python3 through a raw command: no Ansible module
is started on the machine (see the role's tasks for why).
"""
import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_state(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    kind = ("link" if stat.S_ISLNK(st.st_mode) else "directory" if stat.S_ISDIR(st.st_mode)
            else "file" if stat.S_ISREG(st.st_mode) else "other")
    fields = [kind, _name(pwd.getpwuid, st.st_uid), _name(grp.getgrgid, st.st_gid), "%04o" % stat.S_IMODE(st.st_mode)]
    found = {"realpath": os.path.realpath(path)}
    if kind == "link":
        found["target"] = os.readlink(path)
    elif kind == "file":
        digest = hashlib.sha1()
        try:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            fields.append(digest.hexdigest())
        except OSError:
            pass
    found["state"] = " ".join(fields)
    return found


def listing(folder):
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    entries = {}
    for name in names:
        try:
            st = os.lstat(os.path.join(folder, name))
        except OSError:
            continue
        kind = ("link" if stat.S_ISLNK(st.st_mode) else "directory" if stat.S_ISDIR(st.st_mode)
                else "file" if stat.S_ISREG(st.st_mode) else "other")
        entries[name] = {"state": " ".join([kind, _name(pwd.getpwuid, st.st_uid), _name(grp.getgrgid, st.st_gid),
                                            "%04o" % stat.S_IMODE(st.st_mode)]),
                         "size": st.st_size}
    return entries


def content(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(1 << 16)
    except OSError:
        return None


def user_state(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return {"uid": entry.pw_uid, "gid": entry.pw_gid, "group": _name(grp.getgrgid, entry.pw_gid),
            "home": entry.pw_dir, "shell": entry.pw_shell}


def group_state(name):
    try:
        return {"gid": grp.getgrnam(name).gr_gid}
    except KeyError:
        return None


def package_versions(names):
    if not names:
        return {}
    try:
        out = subprocess.run(["dpkg-query", "--show", "--showformat=${Package} ${Status} ${Version}\n", *names],
                             capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}).stdout
    except OSError:
        return {}
    versions = {}
    for line in out.splitlines():
        fields = line.split()
        # "openjdk-17-jre-headless install ok installed 17.0.15+6-1~deb12u1"
        if len(fields) == 5 and fields[1:4] == ["install", "ok", "installed"]:
            versions[fields[0].split(":")[0]] = fields[4]
    return versions


def unit_states(names):
    if not names:
        return {}
    try:
        out = subprocess.run(["systemctl", "show", "--property=Id,LoadState,ActiveState,SubState,UnitFileState", "--", *names],
                             capture_output=True, text=True).stdout
    except OSError:
        return {}
    units = {}
    # One block of KEY=VALUE lines per unit, in the order asked, separated by empty lines.
    for name, block in zip(names, out.split("\n\n")):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if fields.get("LoadState") not in (None, "not-found"):
            units[name] = {"active": fields.get("ActiveState", ""), "sub": fields.get("SubState", ""),
                           "enabled": fields.get("UnitFileState", "")}
    return units


def main(spec):
    state = {
        "paths": {p: s for p in spec.get("paths", []) if (s := path_state(p)) is not None},
        "listings": {d: e for d in spec.get("listings", []) if (e := listing(d)) is not None},
        "contents": {p: c for p in spec.get("contents", []) if (c := content(p)) is not None},
        "users": {u: s for u in spec.get("users", []) if (s := user_state(u)) is not None},
        "groups": {g: s for g in spec.get("groups", []) if (s := group_state(g)) is not None},
        "packages": package_versions(spec.get("packages", [])),
        "units": unit_states(spec.get("units", [])),
    }
    state["listed"] = sorted(os.path.normpath(os.path.join(folder, name))
                             for folder, entries in state["listings"].items() for name in entries)
    print(json.dumps(state, sort_keys=True))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
