"""CPU time of ``write_xml`` per kind of input, in one process (issue 13, target 1).

    python -m benchmarks.write_inputs [--n 100000] [--repeat 5]

``make bench`` runs each write case in a fresh process and compares wall times, which a shared
machine makes noisy. This runs the typed frame, the user-built frames (default, ``string`` and
Arrow dtypes), the list of dicts and ``DataFrame.to_dict("records")`` in turn in one process,
``--repeat`` times, and prints the best CPU time (``time.process_time``) of each and its ratio to
the typed frame's, after checking that every output is the typed frame's bytes. The inputs are
those of ``benchmarks/cases.py``, built before timing.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from . import cases as C
from .generate import DATA_DIR, DEFAULT_SEED, ensure_data


def inputs(files: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    user = C._user_frame(files)
    text = [c for c in user.columns if isinstance(user[c].dtype, pd.StringDtype)]
    return {
        "typed frame": pd.read_pickle(files["frame"]),
        "pd.DataFrame(records)": user,
        "... with string columns": user.astype(dict.fromkeys(text, "string")),
        "... with Arrow dtypes": user.convert_dtypes(dtype_backend="pyarrow"),
        "list of dicts": C._records(files),
        "to_dict('records')": user.to_dict("records"),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.write_inputs", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--data", type=Path, default=DATA_DIR)
    args = p.parse_args(argv)
    import cuepipe

    files = ensure_data(args.n, args.seed, args.data).as_dict()
    data = inputs(files)
    expected = Path(files["ingest_xml"]).read_bytes()
    best = dict.fromkeys(data, float("inf"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.xml"
        for _ in range(args.repeat):
            for label, value in data.items():  # interleaved: a burst of load hits every input alike
                gc.collect()
                t0 = time.process_time()
                cuepipe.write_xml(value, out)
                best[label] = min(best[label], time.process_time() - t0)
                if out.read_bytes() != expected:
                    raise SystemExit(f"{label}: the output differs from the typed frame's")
    typed = best["typed frame"]
    print(f"write_xml, N={args.n:,}, best CPU seconds of {args.repeat} (same process; outputs identical)")
    for label, seconds in best.items():
        print(f"  {label:26s} {seconds:6.3f} s  {seconds / typed:5.2f}x the typed frame")


if __name__ == "__main__":
    main()
