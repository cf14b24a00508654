"""The lab's hosts: names, addresses and whether the inventory lists them."""

HOSTS = {  # the inventory's four hosts
    "producer": "10.213.0.11",
    "broker": "10.213.0.12",
    "consumer1": "10.213.0.13",
    "consumer2": "10.213.0.14",
}
OUTSIDER = ("outsider", "10.213.0.15")  # optional, not in the inventory
ALL_HOSTS = dict(HOSTS, **{OUTSIDER[0]: OUTSIDER[1]})
