"""Where the lab keeps its state: .lab/ of the checkout; the base images in $LAB_CACHE."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_DIR = os.path.join(REPO, ".lab")
HOSTS_DIR = os.path.join(LAB_DIR, "hosts")
KEY = os.path.join(LAB_DIR, "id_ed25519")
INVENTORY = os.path.join(LAB_DIR, "inventory.ini")
LAB_VARS = os.path.join(LAB_DIR, "lab-vars.yml")
CACHE = os.environ.get("LAB_CACHE") or "/var/cache/monitoring-lab"


def rel(path):
    """A path as the user reads it: relative to the checkout."""
    return os.path.relpath(path, REPO)
