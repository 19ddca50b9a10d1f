"""The browser's systems list: every system module must be imported and listed, or its node
types silently fall back to the generic card (this happened once in a merge)."""

import re
from pathlib import Path

SYSTEMS_DIR = Path(__file__).resolve().parents[2] / "static" / "src" / "systems"


def test_every_system_module_is_imported_and_listed_in_systems():
    index = (SYSTEMS_DIR / "index.js").read_text()
    imported = dict(re.findall(r'import \* as (\w+) from "\./(\w+)\.js";', index))
    listed = set(re.findall(r"^\s+(\w+),$", index.split("export const SYSTEMS = [", 1)[1].split("];", 1)[0], re.M))
    modules = {p.stem for p in SYSTEMS_DIR.glob("*.js")} - {"index", "generic"}
    assert set(imported.values()) >= modules, f"not imported: {modules - set(imported.values())}"
    assert listed == {alias for alias, module in imported.items() if module in modules}
