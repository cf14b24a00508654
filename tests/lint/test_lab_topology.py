"""The lab's topology files: a mistake is one line naming the file, the host and the key."""

import pytest

from nspawnlab import topology
from nspawnlab.shell import LabError

pytestmark = pytest.mark.lint

GROUPS = ["producer", "broker", "consumer1", "consumer2"]


def parse(data):
    return topology.parse(data, "t.yml", GROUPS)


def host(**kw):
    return dict({"name": "broker", "groups": ["broker"]}, **kw)


@pytest.mark.parametrize("data,message", [
    (None, "topology t.yml: must be a mapping with a list `hosts`"),
    ({"hosts": []}, "topology t.yml: hosts: must be a non-empty list"),
    ({"hosts": [host()], "hostz": 1}, "topology t.yml: unknown key 'hostz' (known: defaults, hosts)"),
    ({"defaults": {"relase": "trixie"}, "hosts": [host()]},
     "topology t.yml: defaults: unknown key 'relase' (known: release, login)"),
    ({"hosts": [{"groups": ["broker"]}]}, "topology t.yml: host #1: must be a mapping with a name"),
    ({"hosts": [host(name="Broker_1")]}, "topology t.yml: host #1: name: 'Broker_1' is not a host name"),
    ({"hosts": [host(name="consumer-one")]}, "topology t.yml: host #1: name: 'consumer-one' is not a host name"),
    ({"hosts": [host(), host()]}, "topology t.yml: host 'broker': name: given twice"),
    ({"hosts": [host(release="buster")]},
     "topology t.yml: host 'broker': release: unknown release 'buster' (known: bookworm, trixie)"),
    ({"defaults": {"release": "sid"}, "hosts": [host()]},
     "topology t.yml: host 'broker': release: unknown release 'sid' (known: bookworm, trixie)"),
    ({"hosts": [host(groups=["kafka"])]},
     "topology t.yml: host 'broker': groups: unknown group 'kafka' (known: producer, broker, consumer1, consumer2)"),
    ({"hosts": [host(groups="broker")]}, "topology t.yml: host 'broker': groups: must be a list of group names"),
    ({"hosts": [host(colour="red")]}, "topology t.yml: host 'broker': unknown key 'colour'"),
    ({"hosts": [host(login="deploy")]}, "topology t.yml: host 'broker': login: must be root or {user: NAME"),
    ({"hosts": [host(login={"user": "deploy"})]},
     "topology t.yml: host 'broker': login: sudo must be one of nopasswd, password, not None"),
    ({"hosts": [host(login={"user": "deploy", "sudo": "yes"})]},
     "topology t.yml: host 'broker': login: sudo must be one of nopasswd, password, not 'yes'"),
    ({"hosts": [host(login={"user": "Deploy Me", "sudo": "password"})]},
     "topology t.yml: host 'broker': login: user must be a login name"),
    ({"hosts": [host(login={"user": "root", "sudo": "password"})]},
     "topology t.yml: host 'broker': login: user root needs no sudo"),
    ({"hosts": [host(login={"user": "deploy", "sudo": "password", "shell": "zsh"})]},
     "topology t.yml: host 'broker': login: unknown key 'shell' (known: user, sudo)"),
    ({"hosts": [host(address="10.213.1.5")]},
     "topology t.yml: host 'broker': address: 10.213.1.5 is outside the hosts' range 10.213.0.11-10.213.0.254"),
    ({"hosts": [host(address="10.213.0.1")]}, "topology t.yml: host 'broker': address: 10.213.0.1 is outside"),
    ({"hosts": [host(address="nowhere")]}, "topology t.yml: host 'broker': address: 'nowhere' is not an IPv4 address"),
    ({"hosts": [host(address="10.213.0.20"), host(name="b2", address="10.213.0.20")]},
     "topology t.yml: host 'b2': address: 10.213.0.20 is host 'broker''s too"),
    ({"hosts": [host(name=f"h{i}") for i in range(1, 246)]},
     "topology t.yml: host 'h245': address: none left (10.213.0.11-10.213.0.254 are all taken)"),
])
def test_a_mistake_is_one_line_naming_host_and_key(data, message):
    with pytest.raises(LabError) as e:
        parse(data)
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_addresses_follow_the_order_around_the_given_ones():
    topo = parse({"hosts": [host(name="a"), host(name="b", address="10.213.0.11"), host(name="c")]})
    assert [(h.name, h.address) for h in topo.hosts] == [("a", "10.213.0.12"), ("b", "10.213.0.11"),
                                                         ("c", "10.213.0.13")]


def test_defaults_and_a_host_of_its_own():
    topo = parse({"defaults": {"release": "trixie", "login": {"user": "deploy", "sudo": "password"}},
                  "hosts": [host(), host(name="b2", release="bookworm", login="root"), host(name="out", groups=[])]})
    assert [(h.name, h.release, h.login.user, h.login.sudo) for h in topo.hosts] == [
        ("broker", "trixie", "deploy", "password"), ("b2", "bookworm", "root", ""), ("out", "trixie", "deploy", "password")]
    assert [h.name for h in topo.grouped()] == ["broker", "b2"]


def test_a_file_that_is_not_yaml_or_missing(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("hosts: [\n")
    with pytest.raises(LabError, match=r"^topology .*bad.yml: not YAML: "):
        topology.load(str(bad))
    with pytest.raises(LabError, match=r"^topology .*nosuch.yml: cannot read it: No such file"):
        topology.load(str(tmp_path / "nosuch.yml"))
