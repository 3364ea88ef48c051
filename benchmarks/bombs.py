"""Peak memory of every read path on bomb-shaped inputs: it must not grow with the expanded size.

A "bomb" is a small gzip file that expands to one enormous construct libxml2 would buffer whole
until it ends (a comment, a CDATA section, an attribute value, a processing instruction, a start
tag, whitespace between cue points). The file is made of many identical gzip members, so a 2 GB
expansion costs about 2 MB of disk and nothing to generate; the readers stop after
``CUEPIPE_MAX_RECORD_BYTES`` of it, so a case takes about as long as reading that much.

Every (path, shape, size) runs in a fresh process; the child notes its RSS once warmed up (a small
valid document read the same way), resets the kernel's peak mark, reads the bomb, and reports
``delta_mb`` = peak - base. Run::

    python -m benchmarks.bombs                 # default bound, 256 MB and 2 GB expansions
    python -m benchmarks.bombs --sizes 64,1024 --limit 4194304
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "bombs.json"

_CODE = '<scene-code-cue-point entryId="0_abc"><sceneStartTime>00:00:01</sceneStartTime>'
#: shape -> (bytes before the filler, the filler byte); the filler never ends the construct
SHAPES: dict[str, tuple[bytes, bytes]] = {
    "comment": (b"<scenes><!--", b"a"),
    "cdata": (f"<scenes>{_CODE}<description><![CDATA[".encode(), b"a"),
    "attribute": (b'<scenes><scene-code-cue-point entryId="', b"a"),
    "pi": (b"<scenes><?pi ", b"a"),
    "start-tag": (b"<scenes><scene-code-cue-point ", b" "),
    "whitespace": (f"<scenes>{_CODE}</scene-code-cue-point>".encode(), b" "),
}

#: table files: shape -> (bytes before the filler, the filler); "quoted-lines" is a quoted CSV field of short lines
TABLE_SHAPES: dict[str, tuple[bytes, bytes]] = {
    "csv-quoted": (b'cuePointType,entryId,text\r\nannotation.Annotation,0_a,"', b"a"),
    "csv-unquoted": (b"cuePointType,entryId,text\r\nannotation.Annotation,0_a,", b"a"),
    "csv-quoted-lines": (b'cuePointType,entryId,text\r\nannotation.Annotation,0_a,"', b"a\n"),
    "jsonl": (b'{"cuePointType": "annotation.Annotation", "entryId": "0_a", "text": "', b"a"),
}
ALL_SHAPES = {**SHAPES, **TABLE_SHAPES}

#: the read paths: what a child does with a path (every one must fail with a clear error)
PATHS = (
    "iter_cue_points",
    "iter_cue_points-pure",
    "read_xml",
    "read_xml-chunked",
    "validate",
    "dask",
    "dask-blocks",
    "cli-convert",
    "cli-validate",
    "read_table",
    "cli-convert-table",
)
TABLE_PATHS = ("read_table", "cli-convert-table")


def shapes_for(path: str) -> list[str]:
    return list(TABLE_SHAPES if path in TABLE_PATHS else SHAPES)


def _suffix(shape: str) -> str:
    return ".jsonl.gz" if shape == "jsonl" else ".csv.gz" if shape.startswith("csv") else ".xml.gz"


_MEMBER = 1 << 20  # bytes of filler per gzip member


def bomb_bytes(shape: str, expanded: int) -> bytes:
    """A gzip document of ``expanded`` bytes: the shape's opening, then filler to the end."""
    prefix, filler = ALL_SHAPES[shape]
    member = gzip.compress(filler * (_MEMBER // len(filler)), compresslevel=9, mtime=0)
    return gzip.compress(prefix, mtime=0) + member * max(1, expanded // _MEMBER)


def plain_bytes(shape: str, expanded: int) -> bytes:
    """The same document uncompressed (for the Dask block reader, which splits plain files only)."""
    prefix, filler = SHAPES[shape]
    return prefix + filler * expanded


VALID = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<scenes>'
    + b"".join(
        f'<scene-code-cue-point entryId="0_abc"><sceneStartTime>00:00:{i:02d}</sceneStartTime>'
        f"<code>c{i}</code></scene-code-cue-point>\n".encode()
        for i in range(50)
    )
    + b"</scenes>\n"
)


def _run_path(name: str, path: str, workdir: str) -> str:
    """Read ``path`` the way ``name`` does; return what stopped it (the error text) or "ok"."""
    import cuepipe

    if name == "iter_cue_points" or name == "iter_cue_points-pure":
        n = sum(1 for _ in cuepipe.iter_cue_points(path))
        return f"ok {n}"
    if name == "read_xml":
        return f"ok {len(cuepipe.read_xml(path))}"
    if name == "read_xml-chunked":
        return f"ok {sum(len(c) for c in cuepipe.read_xml(path, chunksize=1000))}"
    if name == "validate":
        report = cuepipe.validate(path)
        return "ok" if report.ok else str(report.errors[0])
    if name in ("dask", "dask-blocks"):
        import dask

        import cuepipe.dask as cdask

        with dask.config.set(scheduler="synchronous"):
            blocksize = 1 << 20 if name == "dask-blocks" else None
            return f"ok {len(cdask.read_xml(path, blocksize=blocksize).compute())}"
    if name == "read_table":
        from cuepipe import frames

        return f"ok {sum(len(c) for c in frames.read_table(path))}"
    if name.startswith("cli-"):
        from cuepipe.cli import main

        if name == "cli-validate":
            args = ["validate", path]
        else:
            args = ["convert", path, os.path.join(workdir, "out.xml" if name == "cli-convert-table" else "out.csv")]
        try:
            code = main(args, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
        return f"exit {code or 0}"
    raise ValueError(name)


def _vm_hwm_kb() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(name: str, valid: str, workdir: str, bombs: list[str]) -> list[dict[str, Any]]:
    """In a fresh process: warm up on a valid document, then per bomb reset the peak and read it."""
    import gc
    import io
    from contextlib import redirect_stderr, redirect_stdout

    if name == "iter_cue_points-pure":
        import cuepipe.xml.reader as reader

        reader._speedups = None  # type: ignore[assignment]
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        _run_path(name, valid, workdir)
    results = []
    for path in bombs:
        gc.collect()
        base = _rss_kb()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            reset = True
        except OSError:
            reset = False
        sink = io.StringIO()
        with redirect_stdout(sink), redirect_stderr(sink):
            try:
                outcome = _run_path(name, path, workdir)
            except Exception as exc:  # the outcome every path should have: a clear error
                outcome = f"{type(exc).__name__}: {exc}"
        peak = _vm_hwm_kb() if reset else None
        if peak is None:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results.append(
            {
                "base_mb": round(base / 1024, 1),
                "peak_mb": round(peak / 1024, 1),
                "delta_mb": round((peak - base) / 1024, 1),
                "outcome": (outcome + " " + sink.getvalue()).strip()[:400],
            }
        )
    return results


def measure(
    name: str, cases: list[tuple[str, int]], *, limit: int | None = None, workdir: str | None = None
) -> list[dict[str, Any]]:
    """Read each (shape, expanded size) bomb the way ``name`` does, in one fresh process.

    ``limit`` sets CUEPIPE_MAX_RECORD_BYTES for it. Returns one result per case, in order.
    """
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        bombs = []
        for i, (shape, expanded) in enumerate(cases):
            if name == "dask-blocks":
                path = os.path.join(tmp, f"bomb-{i}-{shape}.xml")
                with open(path, "wb") as f:  # plain bytes, written in pieces
                    prefix, filler = SHAPES[shape]
                    f.write(prefix)
                    block = filler * _MEMBER
                    for _ in range(max(1, expanded // _MEMBER)):
                        f.write(block)
            else:
                path = os.path.join(tmp, f"bomb-{i}-{shape}{_suffix(shape)}")
                Path(path).write_bytes(bomb_bytes(shape, expanded))
            bombs.append(path)
        if name in TABLE_PATHS:
            valid = os.path.join(tmp, "valid.csv")
            Path(valid).write_bytes(b"cuePointType,entryId,startTime,endTime\r\nannotation.Annotation,0_a,0,5\r\n")
        else:
            valid = os.path.join(tmp, "valid.xml")
            Path(valid).write_bytes(VALID)
        env = dict(os.environ)
        if limit is not None:
            env["CUEPIPE_MAX_RECORD_BYTES"] = str(limit)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bombs", "--child", name, valid, tmp, *bombs],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            timeout=900,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"{name}: child failed ({proc.returncode}): {proc.stderr[-2000:]}")
        results: list[dict[str, Any]] = json.loads(lines[-1][len("RESULT ") :])
        for r, (shape, expanded) in zip(results, cases, strict=True):
            r.update(path=name, shape=shape, expanded_mb=expanded >> 20)
        return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="256,2048", help="expanded sizes in MB (default 256,2048)")
    parser.add_argument("--limit", type=int, default=None, help="CUEPIPE_MAX_RECORD_BYTES for the children")
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--shapes", default="", help="default: every shape the path reads")
    args = parser.parse_args(argv)
    if args.child:
        name, valid, workdir, *bombs = args.child
        print("RESULT " + json.dumps(child(name, valid, workdir, bombs)))
        return
    sizes = [int(s) << 20 for s in args.sizes.split(",")]
    results = []
    print(f"{'path':22} {'shape':11} {'expanded':>9} {'base MB':>8} {'peak MB':>8} {'delta MB':>9}  outcome")
    for name in args.paths.split(","):
        cases = [
            (shape, size)
            for shape in (args.shapes.split(",") if args.shapes else shapes_for(name))
            for size in sizes
            if not (name == "dask-blocks" and size > 256 << 20)  # a plain file: kept small on disk
        ]
        for r in measure(name, cases, limit=args.limit):
            results.append(r)
            print(
                f"{name:22} {r['shape']:11} {r['expanded_mb']:>7}MB {r['base_mb']:>8} {r['peak_mb']:>8} "
                f"{r['delta_mb']:>9}  {r['outcome'][:70]}",
                flush=True,
            )
    RESULTS.parent.mkdir(exist_ok=True)
    # merged with earlier runs: a run of some paths replaces only their entries
    key = lambda r: (r["path"], r["shape"], r["expanded_mb"])  # noqa: E731
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    fresh = {key(r) for r in results}
    merged = [r for r in earlier if key(r) not in fresh] + results
    RESULTS.write_text(json.dumps(merged, indent=1) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
