"""Shared by every test: the app's own folder on sys.path, as main.py puts it."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
sys.path.insert(0, str(APP))
sys.path.insert(0, str(APP / "spark-jobs"))
sys.path.insert(0, str(ROOT))
