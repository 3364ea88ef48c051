"""Benchmarks for cuepipe: a seeded data generator, a subprocess-per-case runner and a profiler.

``python -m benchmarks.run`` measures read, chunked read, write and validate against peers
(pandas, xmlschema) and floors (bare lxml); ``python -m benchmarks.profile`` profiles one cuepipe
case with pyinstrument. Generated inputs go to ``benchmarks/data/`` (git-ignored), results to
``benchmarks/results/``.
"""
