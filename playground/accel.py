"""The compiled engine: the engine's hot modules built with mypyc, used only while they match the sources.

The engine is plain Python (playground/engine/). ``make setup`` also compiles its hot modules with
mypyc (``make engine``) into ``build/mypyc/``: the same source, as C
extension modules, about 1.8 times as fast on the reference benchmark, with the same results
(``tests/engine/test_compiled.py`` runs both and compares them).

The build sits outside the source tree, with a manifest of the engine sources it was built from.
``install()`` (called when the ``playground`` package is imported) serves the compiled modules only
when that manifest matches every ``playground/engine/**/*.py`` file as it is now and the same
Python; after any edit the engine runs interpreted until the next build, so a stale build can
never run in place of the code being edited. ``FANOUT_ENGINE=interpreted`` turns the build off.

Without a C compiler (or with a build error) setup says so and everything runs interpreted.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "playground" / "engine"
BUILD = ROOT / "build" / "mypyc"
MANIFEST = BUILD / "manifest.json"

#: The modules compiled: the hot path of a Kafka run (producer, replication, logs, groups, the
#: kernel). The rest of the engine gains little from it and stays interpreted.
COMPILED = (
    "playground/engine/kernel.py",
    "playground/engine/kafka/producer.py",
    "playground/engine/kafka/accumulator.py",
    "playground/engine/kafka/sender.py",
    "playground/engine/kafka/replication.py",
    "playground/engine/kafka/cluster.py",
    "playground/engine/kafka/log.py",
    "playground/engine/kafka/segments.py",
    "playground/engine/kafka/group.py",
    "playground/engine/kafka/runtime.py",
)

_state: dict[str, Any] = {"active": False, "why": "not installed"}


def sources_digest() -> str:
    """One hash over every engine source file, path and content: any edit changes it."""
    digest = hashlib.sha256()
    for path in sorted(ENGINE.rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _platform() -> str:
    return f"{sys.implementation.cache_tag} {sysconfig.get_config_var('EXT_SUFFIX')}"


class _Finder:
    """Finds the compiled modules of the manifest (and mypyc's shared library) in the build: a
    meta path finder (not derived from importlib.abc's, whose import costs more than this module)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(name)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(name, str(file))
        return importlib.util.spec_from_file_location(name, file, loader=loader)


def install() -> None:
    """Serve the compiled engine modules when the build matches the sources (see the module docstring)."""
    if _state["active"]:
        return
    if os.environ.get("FANOUT_ENGINE", "") == "interpreted":
        _state["why"] = "FANOUT_ENGINE=interpreted"
        return
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        _state["why"] = "no build (make setup builds it when a C compiler is there)"
        return
    files, why = check(manifest, BUILD)
    if files is None:
        _state["why"] = why
        return
    if any(name in sys.modules for name in files):
        _state["why"] = "the engine was imported before the build could be installed"
        return
    sys.meta_path.insert(0, _Finder(files))
    _state.update(active=True, why="")


def check(manifest: dict[str, Any], build: Path) -> tuple[dict[str, Path] | None, str]:
    """The compiled modules' files by module name if ``manifest`` matches the sources and this
    Python and every file is there; else None and why not."""
    if manifest.get("platform") != _platform():
        return None, f"built for {manifest.get('platform')}, this is {_platform()}"
    if manifest.get("sources") != sources_digest():
        return None, "the engine sources changed since the build (make setup rebuilds it)"
    files = {name: build / rel for name, rel in manifest.get("modules", {}).items()}
    if not files or not all(file.exists() for file in files.values()):
        return None, "the build is incomplete"
    return files, ""


def status() -> dict[str, Any]:
    """{"compiled": bool, "why": reason when not}: what the benchmark and the tests report."""
    from playground.engine.simulation import ENGINE_BUILD  # the engine's own answer (it tags snapshots)

    return {"compiled": ENGINE_BUILD == "compiled", "installed": _state["active"], "why": _state["why"]}


# -- building ---------------------------------------------------------------------------------

LOG = ROOT / "build" / "engine-build.log"
LOCK = ROOT / "build" / "engine-build.lock"

#: One C file per module (multi_file) compiled on every core: 43 s instead of 61 s of wall time on
#: two cores (measured on a loaded machine), for the same code at run time: bench/engine_bench.py
#: --messages 200000 under callgrind ran 2,669.0 M instructions against 2,673.1 M for one C file.
_SETUP = """
import os, sys
from setuptools import setup
from mypyc.build import mypycify
setup(name="fanout-engine-compiled", packages=[], py_modules=[],
      ext_modules=mypycify(sys.argv[1].split(","), opt_level="3", multi_file=True, target_dir=sys.argv[3] + "/c"),
      script_args=["build_ext", "--build-lib", sys.argv[2], "--build-temp", sys.argv[3],
                   "--parallel", str(os.cpu_count() or 1)])
"""


def _up_to_date(digest: str, compiler: str) -> bool:
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return False
    return (manifest.get("sources") == digest and manifest.get("platform") == _platform()
            and manifest.get("compiler") == compiler)


def _compiler() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"mypy {version('mypy')}"
    except PackageNotFoundError:
        return None


def _has_c_compiler() -> bool:
    import shutil

    return shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0]) is not None


def _run_with_progress(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the mypyc build, printing a line as each module's C file is compiled (a first build
    takes about a minute on two cores: it must not look stuck). Returns (exit code, output)."""
    import subprocess
    import time

    started = time.monotonic()
    print("compiled engine: type-checking and generating C (mypyc)", flush=True)
    lines: list[str] = []
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            words = line.split()
            # mypyc's multi_file build: one __native_playground___engine___<module>.c per module
            source = next((w for w in words if w.endswith(".c") and "__native_playground___engine___" in w), None)
            if words and words[0] in ("gcc", "cc", "clang") and source:
                module = source.rsplit("__native_playground___engine___", 1)[1][: -len(".c")].replace("___", ".")
                print(f"compiled engine: compiling {module} ({time.monotonic() - started:.0f} s)", flush=True)
    return proc.returncode, "".join(lines)


def build(force: bool = False) -> int:
    """Compile COMPILED into build/mypyc and write the manifest; 0 when built or up to date.

    Returns 1 (with the reason printed) when it cannot: no compiler, no mypy, a build error. The
    engine then runs interpreted; nothing else depends on the build. One build at a time: a build
    started while another runs (``make run`` builds in the background) waits for it first.
    """
    import fcntl

    compiler = _compiler()
    if compiler is None:
        print("compiled engine: not built (mypy is not installed); the engine runs interpreted")
        return 1
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"compiled engine: waiting for the build already running (log: {LOG.relative_to(ROOT)})",
                  flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(compiler, force)


def _build_locked(compiler: str, force: bool) -> int:
    import shutil
    import tempfile

    digest = sources_digest()
    if not force and _up_to_date(digest, compiler):
        print("compiled engine: up to date")
        return 0
    if not _has_c_compiler():
        print("compiled engine: not built (no C compiler); the engine runs interpreted")
        return 1
    print(f"compiled engine: building {len(COMPILED)} modules with mypyc (about a minute on two cores)", flush=True)
    shutil.rmtree(BUILD, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="fanout-mypyc-") as tmp:
        out, temp = Path(tmp) / "lib", Path(tmp) / "temp"
        env = {**os.environ, "MYPY_CACHE_DIR": str(Path(tmp) / "mypy-cache"), "PYTHONUNBUFFERED": "1"}
        code, output = _run_with_progress([sys.executable, "-c", _SETUP, ",".join(COMPILED), str(out), str(temp)],
                                          env)
        if code != 0:
            print(output[-8000:])
            print("compiled engine: the build failed; the engine runs interpreted")
            return 1
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        modules: dict[str, str] = {}
        for file in out.rglob(f"*{suffix}"):
            parts = file.relative_to(out).parts
            modules[".".join(parts)[: -len(suffix)]] = "/".join(parts)
        BUILD.mkdir(parents=True, exist_ok=True)
        for name in modules.values():
            (BUILD / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / name, BUILD / name)
    expected = {path[: -len(".py")].replace("/", ".") for path in COMPILED}
    if not expected <= modules.keys():
        print(f"compiled engine: the build lacks {sorted(expected - modules.keys())}; the engine runs interpreted")
        return 1
    if sources_digest() != digest:
        print("compiled engine: the sources changed during the build; run it again")
        return 1
    MANIFEST.write_text(json.dumps({"sources": digest, "platform": _platform(), "compiler": compiler,
                                    "modules": modules}, indent=1))
    print(f"compiled engine: built ({len(modules)} extension modules in {BUILD.relative_to(ROOT)})")
    return 0


def background() -> int:
    """``make run``: start the build in a process of its own when it is needed (installing mypy
    from requirements-engine.txt first if it is missing), and return at once, so that a first start
    serves the editor without waiting for the compiler. The server started now runs the
    interpreted engine (the same results, slower); the next start runs the build."""
    import subprocess

    if not _has_c_compiler():
        print("compiled engine: no C compiler here (gcc, python3-dev); the engine runs interpreted")
        return 0
    compiler = _compiler()
    if compiler is not None and _up_to_date(sources_digest(), compiler):
        print("compiled engine: up to date")
        return 0
    steps = "from playground import accel; raise SystemExit(accel.build())"
    if compiler is None:
        steps = ("import subprocess, sys; subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', "
                 "'--disable-pip-version-check', '-r', 'requirements-engine.txt'], check=True); " + steps)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("w") as log:
        subprocess.Popen([sys.executable, "-c", steps], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    print(f"compiled engine: building in the background (about a minute; log: {LOG.relative_to(ROOT)}). "
          "This server runs the interpreted engine; the next start uses the compiled one.")
    return 0


def main(argv: list[str]) -> int:
    """``make engine``: ``main(["build"])``; ``--force`` rebuilds an up-to-date build. ``make run``:
    ``main(["background"])``."""
    if argv[:1] == ["build"]:
        return build(force="--force" in argv)
    if argv[:1] == ["background"]:
        return background()
    print("usage: accel.main(['build'], ['build', '--force'] or ['background'])", file=sys.stderr)
    return 2
