"""The committed Postman collection is what postman/build_collection.py generates."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _builder():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "build_collection", ROOT / "postman" / "build_collection.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_collection_is_up_to_date() -> None:
    builder = _builder()
    committed = (ROOT / "postman" / "portcullis.postman_collection.json").read_text()
    assert committed == builder.render(), "run: .venv/bin/python postman/build_collection.py"


def test_collection_has_the_issue_folders() -> None:
    collection = json.loads((ROOT / "postman" / "portcullis.postman_collection.json").read_text())
    folders = {f["name"]: [i["name"] for i in f["item"]] for f in collection["item"]}
    assert {"Users", "Groups", "Factors", "WorkOS MFA"} <= set(folders)
    assert "Create User without Credentials" in folders["Users"]
    assert "Verify the same code again (replay)" in folders["Factors"]
    for folder in collection["item"]:
        for item in folder["item"]:
            tests = next(e for e in item["event"] if e["listen"] == "test")
            assert any("pm.test" in line for line in tests["script"]["exec"]), item["name"]
