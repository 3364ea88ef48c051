# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""cuepipe's compiled core: one extension module, built from three parts.

* ``_speedups_codes.pxi``: the integer codes and tuple layouts shared with the Python side
  (``cuepipe/xml/_layout.py``), exported as :data:`CODES` and :data:`LAYOUTS` so a test can check
  that both sides agree;
* ``_speedups_reader.pxi``: the reader, a harvest of cue point elements from lxml's tree into
  Arrow-ready column buffers (``Run``, ``Context``, ``harvest``), under ``reader.iter_columns``;
* ``_speedups_writer.pxi``: the writer, rows of Python values -> cue point elements as UTF-8
  (``render_block``), under ``writer.write_xml`` for DataFrames.

Both parts handle the common shapes only and hand anything else to the pure-Python code, so
results and error messages are the same by construction; ``tests/test_speedups.py`` compares the
two paths. The module is optional: ``CUEPIPE_NO_EXTENSIONS=1`` builds (or runs) without it.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_GET_LENGTH
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memcpy, memset, strcmp, strlen

from lxml.includes cimport tree
from lxml.includes.etreepublic cimport _Element, elementFactory, import_lxml__etree


import numpy as np
import pyarrow as pa

import_lxml__etree()

include "_speedups_codes.pxi"
include "_speedups_reader.pxi"
include "_speedups_writer.pxi"
include "_speedups_sax.pxi"
include "_speedups_pipe.pxi"
