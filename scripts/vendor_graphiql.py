"""Fetch GraphiQL's published browser files from npm into `gateway/edge/static/graphiql/`.

    python scripts/vendor_graphiql.py           # (re)write the files and manifest.json
    python scripts/vendor_graphiql.py --check   # fetch again, compare with what is committed

The gateway serves these files itself (`gateway/edge/graphiql.py`), so the playground works with no CDN and
no internet. Each package is fetched with `npm pack NAME@VERSION` (npm checks the tarball against
the registry's integrity); the manifest records every tarball's integrity and every file's sha256.
To upgrade: change PACKAGES (keep React's UMD builds: GraphiQL 3 is a UMD bundle), run, commit.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "gateway" / "edge" / "static" / "graphiql"

# (npm package, exact version, files of its tarball to serve), in the order the page loads them
PACKAGES = [
    ("react", "18.2.0", ["umd/react.production.min.js"]),
    ("react-dom", "18.2.0", ["umd/react-dom.production.min.js"]),
    ("graphiql", "3.8.3", ["graphiql.min.css", "graphiql.min.js"]),
    ("@graphiql/plugin-explorer", "1.0.2", ["dist/style.css", "dist/index.umd.js"]),
]


def directory(name: str, version: str) -> str:
    """`@graphiql/plugin-explorer`, `1.0.2` → `graphiql-plugin-explorer@1.0.2` (the URL's version)."""
    return f"{name.lstrip('@').replace('/', '-')}@{version}"


def pack(name: str, version: str, into: Path) -> tuple[Path, str]:
    done = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(into)],
        capture_output=True,
        text=True,
        check=True,
    )
    (packed,) = json.loads(done.stdout)
    return into / packed["filename"], packed["integrity"]


def read(archive: tarfile.TarFile, source: str) -> bytes:
    extracted = archive.extractfile(f"package/{source}")
    assert extracted is not None, f"no {source} in {archive.name}"
    return extracted.read()


def fetch(into: Path) -> dict[str, object]:
    packages, files = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for name, version, wanted in PACKAGES:
            tarball, integrity = pack(name, version, Path(scratch))
            folder = directory(name, version)
            (into / folder).mkdir(parents=True, exist_ok=True)
            with tarfile.open(tarball) as archive:
                meta = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
                packages.append(
                    {
                        "name": name,
                        "version": version,
                        "license": meta["license"],
                        "integrity": integrity,
                    }
                )
                if "package/LICENSE" in archive.getnames():
                    (into / folder / "LICENSE").write_bytes(read(archive, "LICENSE"))
                for source in wanted:
                    data = read(archive, source)
                    path = f"{folder}/{Path(source).name}"
                    (into / path).write_bytes(data)
                    digest = hashlib.sha256(data).digest()
                    files.append(
                        {
                            "path": path,
                            "package": name,
                            "version": version,
                            "source": source,
                            "bytes": len(data),
                            "sha256": digest.hex(),
                            "integrity": "sha256-" + base64.b64encode(digest).decode(),
                        }
                    )
    manifest = {"generated_by": "scripts/vendor_graphiql.py", "packages": packages, "files": files}
    (into / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh fetch with ours")
    args = parser.parse_args()
    if not args.check:
        shutil.rmtree(TARGET, ignore_errors=True)
        manifest = fetch(TARGET)
        print(f"wrote {len(manifest['files'])} files to {TARGET}")  # type: ignore[arg-type]
        return
    with tempfile.TemporaryDirectory() as fresh:
        theirs = fetch(Path(fresh))
    ours = json.loads((TARGET / "manifest.json").read_text("utf-8"))
    if theirs != ours:
        sys.exit("the committed GraphiQL files differ from npm's: run scripts/vendor_graphiql.py")
    print("the committed GraphiQL files are npm's")


if __name__ == "__main__":
    main()
