# The compiled reader (included by _speedups.pyx): cue point elements from lxml's tree -> columns.
#
# The pure-Python reader spends most of its time creating a Python proxy, a tag string and a text
# string for every child element (``reader._read_row``), then converting those strings to Arrow.
# This part walks the same libxml2 tree that lxml built, through lxml's public C API
# (``lxml.includes.etreepublic``), and copies each value's UTF-8 bytes straight into Arrow column
# buffers (offsets, data, validity), so plain values never become Python objects. It reads only
# what lxml already parsed: well-formedness, entities, encodings and line numbers stay lxml's.
#
# It handles the common shapes only. Anything else in a cue point (an unknown or namespaced element
# or attribute, a value that needs the general time parser, the server's loose question layout,
# an element inside a value) is handed to ``slow(element, key, index)``, which runs the pure-Python
# reader on that one element.

cdef enum:  # what a column holds for the record being read
    S_NULL = 0
    S_TEXT = 1   # the text of node ``src`` (an element or an attribute)
    S_TAGS = 2   # the texts of ``src``'s element children, joined with ","
    S_INT = 3
    S_PY = 4     # a Python object in ``sobj``
    S_BUF = 5    # UTF-8 bytes at ``sbase + soff`` (``slen`` of them): the tree-free reader's values

cdef enum:
    MAXCOLS = 64


cdef class Run:
    """Column buffers for a run of cue points: Arrow layouts for text, integer and float columns,
    a Python list for nested values."""

    cdef int ncols
    cdef int kinds[MAXCOLS]
    cdef Py_ssize_t n, cap
    cdef char* data[MAXCOLS]
    cdef Py_ssize_t dlen[MAXCOLS]
    cdef Py_ssize_t dcap[MAXCOLS]
    cdef int64_t* offs[MAXCOLS]  # large_string offsets: what pandas' ArrowStringArray keeps
    cdef int64_t* ints[MAXCOLS]
    cdef double* floats[MAXCOLS]
    cdef uint8_t* valid[MAXCOLS]
    cdef list objs
    # the record being read
    cdef int smode[MAXCOLS]
    cdef tree.xmlNode* src[MAXCOLS]
    cdef int64_t sint[MAXCOLS]
    cdef list sobj
    cdef const char* sbase
    cdef Py_ssize_t soff[MAXCOLS]
    cdef Py_ssize_t slen[MAXCOLS]
    # rows written so far per column: a cue point sets a handful of the ~60 columns, so the missing
    # values of the others are written later, a stretch at a time (_fill), not one store per column
    # per cue point
    cdef Py_ssize_t filled[MAXCOLS]
    cdef Py_ssize_t first  # rows the buffers are first sized for
    cdef bint spent  # arrays() gave its buffers to the next run (_pass_on)

    def __cinit__(self, kinds, Py_ssize_t capacity=1024):
        cdef int i
        self.ncols = len(kinds)
        if self.ncols > MAXCOLS:
            raise ValueError("too many columns")
        self.objs = []
        self.sobj = [None] * self.ncols
        for i in range(self.ncols):
            self.kinds[i] = kinds[i]
            self.data[i] = NULL
            self.dlen[i] = 0
            self.dcap[i] = 0
            self.offs[i] = NULL
            self.ints[i] = NULL
            self.floats[i] = NULL
            self.valid[i] = NULL
            self.objs.append([] if kinds[i] == C_OBJ else None)
            self.smode[i] = S_NULL
            self.filled[i] = 0
        self.n = 0
        self.cap = 0
        self.first = capacity if capacity > 0 else 1
        self.spent = False
        # no buffers yet: the first row allocates them (_commit), unless the run before this one
        # gives it its own first (_pass_on)

    def __dealloc__(self):
        cdef int i
        for i in range(self.ncols):
            free(self.data[i])
            free(self.offs[i])
            free(self.ints[i])
            free(self.floats[i])
            free(self.valid[i])

    def __len__(self):
        return self.n

    cdef int _grow(self) except -1:
        cdef Py_ssize_t cap
        cdef int i
        cdef void* p
        if self.spent:
            raise RuntimeError("this run's rows were handed over (Run.arrays)")
        cap = self.first if self.cap == 0 else self.cap * 2
        for i in range(self.ncols):
            k = self.kinds[i]
            if k == C_OBJ:
                continue
            p = realloc(self.valid[i], cap)
            if p is NULL:
                raise MemoryError()
            self.valid[i] = <uint8_t*>p
            if k == C_STR:
                p = realloc(self.offs[i], (cap + 1) * sizeof(int64_t))
                if p is NULL:
                    raise MemoryError()
                self.offs[i] = <int64_t*>p
                if self.cap == 0:
                    self.offs[i][0] = 0
            elif k == C_INT:
                p = realloc(self.ints[i], cap * sizeof(int64_t))
                if p is NULL:
                    raise MemoryError()
                self.ints[i] = <int64_t*>p
            else:
                p = realloc(self.floats[i], cap * sizeof(double))
                if p is NULL:
                    raise MemoryError()
                self.floats[i] = <double*>p
        self.cap = cap
        return 0

    cdef void _pass_on(self, Run nxt):
        """Give this run's buffers to ``nxt``, the run that follows it, if that one has none yet.

        A reader creates the next run, then hands this one's rows over (``arrays(nxt)``): the next
        run then fills the same blocks instead of allocating its own, so a chunked read reuses one
        set of run buffers throughout rather than interleaving a new set per run with the
        DataFrames' buffers in the heap (measured, chunked read of 1M: 2 MB less peak RSS; free
        space in the heap at the peak 3.9 MB instead of 8.6 MB). Only a live run holds buffers:
        nothing is kept once a read is over."""
        cdef int i
        if nxt is None or nxt is self:
            return
        if nxt.cap or nxt.n or nxt.spent or nxt.ncols != self.ncols or not self.cap:
            return
        for i in range(self.ncols):
            if nxt.kinds[i] != self.kinds[i]:
                return
        for i in range(self.ncols):
            nxt.data[i], self.data[i] = self.data[i], NULL
            nxt.dcap[i], self.dcap[i] = self.dcap[i], 0
            nxt.offs[i], self.offs[i] = self.offs[i], NULL
            nxt.ints[i], self.ints[i] = self.ints[i], NULL
            nxt.floats[i], self.floats[i] = self.floats[i], NULL
            nxt.valid[i], self.valid[i] = self.valid[i], NULL
            if nxt.offs[i] is not NULL:
                nxt.offs[i][0] = 0
        nxt.cap, self.cap = self.cap, 0
        self.spent = True  # its rows were handed over and its buffers given away: it takes no more

    cdef int _reserve(self, int i, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.dlen[i] + extra
        cdef Py_ssize_t cap
        cdef void* p
        if need <= self.dcap[i]:
            return 0
        cap = self.dcap[i] * 2 if self.dcap[i] else 65536
        while cap < need:
            cap *= 2
        p = realloc(self.data[i], cap)
        if p is NULL:
            raise MemoryError()
        self.data[i] = <char*>p
        self.dcap[i] = cap
        return 0

    cdef int _put(self, int i, const char* s, Py_ssize_t k) except -1:
        self._reserve(i, k)
        memcpy(self.data[i] + self.dlen[i], s, k)
        self.dlen[i] += k
        return 0

    cdef int _put_text(self, int i, tree.xmlNode* c) except -1:
        """Append the text and CDATA nodes from ``c`` on (siblings included)."""
        while c is not NULL:
            if c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE:
                self._put(i, <const char*>c.content, strlen(<const char*>c.content))
            c = c.next
        return 0

    cdef int _fill(self, int i, Py_ssize_t upto) except -1:
        """Write missing values in column ``i`` from its last written row up to row ``upto``."""
        cdef Py_ssize_t start = self.filled[i], r
        cdef int kind = self.kinds[i]
        cdef int64_t end
        if start >= upto:
            return 0
        if kind == C_OBJ:
            self.objs[i].extend([None] * (upto - start))
        else:
            memset(self.valid[i] + start, 0, upto - start)
            if kind == C_STR:
                end = self.dlen[i]
                for r in range(start + 1, upto + 1):
                    self.offs[i][r] = end
            elif kind == C_INT:
                memset(self.ints[i] + start, 0, (upto - start) * sizeof(int64_t))
            else:
                memset(self.floats[i] + start, 0, (upto - start) * sizeof(double))
        self.filled[i] = upto
        return 0

    cdef int _commit(self) except -1:
        """Append the record held in the scratch slots, then clear them (columns it does not set
        are filled in later by _fill)."""
        cdef int i, mode, kind
        cdef Py_ssize_t row = self.n
        cdef tree.xmlNode* c
        cdef bint first
        cdef const char* utf8
        cdef Py_ssize_t size
        if row >= self.cap:  # (a spent run has no buffers: _grow raises)
            self._grow()
        for i in range(self.ncols):
            mode = self.smode[i]
            if mode == S_NULL:
                continue
            self.smode[i] = S_NULL
            kind = self.kinds[i]
            if mode == S_PY:
                value = self.sobj[i]
                self.sobj[i] = None
                if value is None:
                    continue
            if self.filled[i] < row:
                self._fill(i, row)
            self.filled[i] = row + 1
            if kind == C_OBJ:
                self.objs[i].append(value)
                continue
            self.valid[i][row] = 1
            if kind == C_STR:
                if mode == S_BUF:
                    self._put(i, self.sbase + self.soff[i], self.slen[i])
                elif mode == S_TEXT:
                    self._put_text(i, self.src[i].children)
                elif mode == S_TAGS:
                    first = True
                    c = self.src[i].children
                    while c is not NULL:
                        if c.type == tree.XML_ELEMENT_NODE:
                            if not first:
                                self._put(i, ",", 1)
                            first = False
                            self._put_text(i, c.children)
                        c = c.next
                elif isinstance(value, bytes):
                    self._put(i, <const char*>value, len(<bytes>value))
                else:
                    utf8 = PyUnicode_AsUTF8AndSize(value, &size)
                    self._put(i, utf8, size)
                self.offs[i][row + 1] = self.dlen[i]
            elif kind == C_INT:
                self.ints[i][row] = self.sint[i] if mode == S_INT else <int64_t>value
            else:
                self.floats[i][row] = <double>value
        self.n = row + 1
        return 0

    cdef void _clear(self):
        cdef int i
        for i in range(self.ncols):
            if self.smode[i] == S_PY:
                self.sobj[i] = None
            self.smode[i] = S_NULL

    def arrays(self, Run nxt=None):
        """The columns: pyarrow arrays for text, integer and float columns, NumPy object arrays
        for nested ones.

        Each buffer is copied to a block of its exact size (giving Arrow the run's own buffers,
        shrunk in place, was measured to fragment the heap: 7 MB more peak RSS in a chunked read
        of 1M). A column without a value in the run (most columns belong to one cue point type)
        gets slices of one shared buffer of zeros instead of an offsets buffer and a validity
        bitmap of its own, as ``pyarrow.nulls`` would give it.

        With ``nxt`` (the run that follows, still empty) the run is handed over: it gives its buffers
        to ``nxt`` (``_pass_on``) and then takes no more rows (RuntimeError)."""
        cdef Py_ssize_t n = self.n, r, nulls
        cdef int i
        if self.spent:
            raise RuntimeError("this run's rows were handed over (Run.arrays)")
        out = []
        for i in range(self.ncols):
            self._fill(i, n)
            kind = self.kinds[i]
            if kind == C_OBJ:
                out.append(np.fromiter(self.objs[i], dtype=object, count=n))
                continue
            nulls = 0
            for r in range(n):
                nulls += self.valid[i][r] == 0
            if nulls == n:  # (no rows at all included)
                out.append(_all_missing(kind, n))
                continue
            bitmap = pa.py_buffer(_bitmap(self.valid[i], n)) if nulls else None
            if kind == C_STR:
                out.append(pa.LargeStringArray.from_buffers(
                    n,
                    pa.py_buffer(PyBytes_FromStringAndSize(<char*>self.offs[i], (n + 1) * sizeof(int64_t))),
                    pa.py_buffer(PyBytes_FromStringAndSize(self.data[i], self.dlen[i])),
                    bitmap, nulls))
            elif kind == C_INT:
                out.append(pa.Array.from_buffers(pa.int64(), n, [
                    bitmap, pa.py_buffer(PyBytes_FromStringAndSize(<char*>self.ints[i], n * sizeof(int64_t)))],
                    null_count=nulls))
            else:
                out.append(pa.Array.from_buffers(pa.float64(), n, [
                    bitmap, pa.py_buffer(PyBytes_FromStringAndSize(<char*>self.floats[i], n * sizeof(double)))],
                    null_count=nulls))
        self._pass_on(nxt)
        return out

    def append_row(self, list row):
        """Append a full-width row of Python values (from the pure-Python reader)."""
        cdef int i
        for i in range(self.ncols):
            value = row[i]
            if value is not None:
                self.smode[i] = S_PY
                self.sobj[i] = value
        self._commit()


_zeros = pa.py_buffer(b"")


cdef object _all_missing(int kind, Py_ssize_t n):
    """A column of ``n`` missing values over slices of one shared, immutable buffer of zeros:
    offsets and bitmap for text (no data), bitmap and values for numbers."""
    global _zeros
    cdef Py_ssize_t width = (n + 1) * 8
    if _zeros.size < width:
        _zeros = pa.py_buffer(bytes(width + width // 4))
    bitmap = _zeros.slice(0, (n + 7) >> 3)
    if kind == C_STR:
        return pa.LargeStringArray.from_buffers(n, _zeros.slice(0, width), _zeros.slice(0, 0), bitmap, n)
    return pa.Array.from_buffers(pa.int64() if kind == C_INT else pa.float64(), n,
                                 [bitmap, _zeros.slice(0, n * 8)], null_count=n)


cdef bytes _bitmap(const uint8_t* valid, Py_ssize_t n):
    """A byte per row (0 = missing) -> Arrow's validity bitmap (a bit per row, least significant first)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, (n + 7) >> 3)
    cdef uint8_t* bits = <uint8_t*><char*>out
    cdef Py_ssize_t r
    memset(bits, 0, (n + 7) >> 3)
    for r in range(n):
        if valid[r]:
            bits[r >> 3] |= <uint8_t>(1 << (r & 7))
    return out


cdef bint _text_only(tree.xmlNode* el):
    """True if ``el`` holds only text, CDATA, comments and PIs (``reader._text_of`` reads those)."""
    cdef tree.xmlNode* c = el.children
    while c is not NULL:
        if c.type != tree.XML_TEXT_NODE and c.type != tree.XML_CDATA_SECTION_NODE \
                and c.type != tree.XML_COMMENT_NODE and c.type != tree.XML_PI_NODE:
            return False
        c = c.next
    return True


cdef inline bint _skippable(tree.xmlNode* c):
    return c.type == tree.XML_TEXT_NODE or c.type == tree.XML_COMMENT_NODE or c.type == tree.XML_PI_NODE


cdef str _text(tree.xmlNode* el):
    cdef tree.xmlNode* c = el.children
    parts = []
    while c is not NULL:
        if c.type == tree.XML_TEXT_NODE or c.type == tree.XML_CDATA_SECTION_NODE:
            parts.append((<const char*>c.content)[:strlen(<const char*>c.content)].decode("utf-8"))
        c = c.next
    return "".join(parts)


cdef bint _int(tree.xmlNode* el, int64_t* out):
    """``int(text)`` for plain ASCII integers up to 18 digits; False for anything else (Python's
    int() is more lenient, and the slow path reproduces it and its errors exactly)."""
    cdef tree.xmlNode* c = el.children
    if c is NULL or c.next is not NULL or c.type != tree.XML_TEXT_NODE:
        return False
    cdef const unsigned char* s = <const unsigned char*>c.content
    cdef Py_ssize_t i = 0, start
    cdef int64_t v = 0
    cdef bint neg = False
    if s[0] == c'-':
        neg = True
        i = 1
    start = i
    while s[i] != 0:
        if s[i] < c'0' or s[i] > c'9' or i - start >= 18:
            return False
        v = v * 10 + (s[i] - c'0')
        i += 1
    if i == start:
        return False
    out[0] = -v if neg else v
    return True


cdef inline int _d2(const unsigned char* s):
    if c'0' <= s[0] <= c'9' and c'0' <= s[1] <= c'9':
        return (s[0] - c'0') * 10 + (s[1] - c'0')
    return -1


cdef bint _time(tree.xmlNode* el, int64_t* out):
    """``HH:MM:SS`` or ``HH:MM:SS.f`` (1-3 digits) -> milliseconds, as ``reader._as_time``'s fast
    path computes them; False for every other shape."""
    cdef tree.xmlNode* c = el.children
    if c is NULL or c.next is not NULL or c.type != tree.XML_TEXT_NODE:
        return False
    cdef const unsigned char* s = <const unsigned char*>c.content
    cdef size_t n = strlen(<const char*>s)
    if n < 8 or n > 12 or s[2] != c':' or s[5] != c':':
        return False
    cdef int h = _d2(s), m = _d2(s + 3), sec = _d2(s + 6)
    if h < 0 or m < 0 or sec < 0:
        return False
    cdef int64_t ms = h * 3600000LL + m * 60000LL + sec * 1000LL
    cdef int frac = 0
    cdef size_t i
    if n > 8:
        if s[8] != c'.' or n == 9:
            return False
        for i in range(9, 12):
            frac *= 10
            if i < n:
                if s[i] < c'0' or s[i] > c'9':
                    return False
                frac += s[i] - c'0'
    out[0] = ms + frac
    return True


cdef bint _tags_ok(tree.xmlNode* el):
    cdef tree.xmlNode* c = el.children
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            if not _text_only(c):
                return False
        elif not _skippable(c):
            return False
        c = c.next
    return True


cdef object _answers(tree.xmlNode* el, dict answer_fields, object as_float, bytes item):
    """``reader._read_answers`` for the plain layout; None when the slow path must read it."""
    cdef tree.xmlNode* opt = el.children
    cdef tree.xmlNode* part
    cdef PyObject* spec
    cdef int64_t iv
    answers = []
    while opt is not NULL:
        if opt.type == tree.XML_ELEMENT_NODE:
            if opt.ns is not NULL or strcmp(<const char*>opt.name, <const char*>item) != 0:
                return None
            answer = {}
            part = opt.children
            while part is not NULL:
                if part.type == tree.XML_ELEMENT_NODE:
                    if part.ns is not NULL or not _text_only(part):
                        return None
                    spec = PyDict_GetItem(answer_fields, <bytes>part.name)
                    if spec is NULL:
                        return None
                    column = (<tuple><object>spec)[RA_COLUMN]
                    kind = (<tuple><object>spec)[RA_KIND]
                    if kind == K_INT:
                        if not _int(part, &iv):
                            return None
                        answer[column] = iv
                    elif kind == K_FLOAT:
                        try:
                            answer[column] = as_float(_text(part))
                        except ValueError:
                            return None
                    else:
                        answer[column] = _text(part)
                elif not _skippable(part):
                    return None
                part = part.next
            answers.append(answer)
        elif not _skippable(opt):
            return None
        opt = opt.next
    return answers


cdef enum:
    TABLE = 64  # slots in a name table; at most half are used


cdef inline unsigned int _hash(const char* s) noexcept:
    cdef unsigned int h = 2166136261u
    while s[0] != 0:
        h = (h ^ <unsigned char>s[0]) * 16777619u
        s += 1
    return h


cdef class _Names:
    """A fixed name -> (slot, kind) table, looked up with the element's C string (no Python object
    per lookup)."""

    cdef const char* names[TABLE]
    cdef int slots[TABLE]
    cdef int kinds[TABLE]
    cdef list keep
    # the tree-free reader's cache: libxml2's name pointer -> find()'s answer (see find_interned)
    cdef const char* cptr[TABLE]
    cdef int cres[TABLE]

    def __cinit__(self, dict mapping):
        cdef unsigned int h
        cdef int i
        self.keep = []
        for i in range(TABLE):
            self.names[i] = NULL
        self.forget()
        if len(mapping) > TABLE // 2:
            raise ValueError("too many names for one table")
        for name, value in mapping.items():
            if isinstance(value, tuple):  # a child element: ReadChild
                slot, kind = (<tuple>value)[RC_SLOT], (<tuple>value)[RC_KIND]
            else:  # an attribute: its slot
                slot, kind = value, -1
            self.keep.append(name)
            h = _hash(<const char*>name) & (TABLE - 1)
            while self.names[h] is not NULL:
                h = (h + 1) & (TABLE - 1)
            self.names[h] = <const char*>name
            self.slots[h] = slot
            self.kinds[h] = kind

    cdef void forget(self) noexcept:
        """Empty the pointer cache (a new parser context: a new dictionary of names)."""
        memset(self.cptr, 0, sizeof(self.cptr))

    cdef inline int find_interned(self, const char* name) noexcept:
        """``find`` for a name libxml2's SAX2 parser handed over: those point into the parser
        context's dictionary (libxml2's own SAX2 tree builder keeps them as node names without
        copying), so within one context a pointer always means the same name, and a pointer seen
        before is answered without hashing or comparing the string. Call ``forget`` for each new
        context."""
        cdef unsigned int h = <unsigned int>(((<size_t>name) * <size_t>0x9E3779B97F4A7C15) >> 58) & (TABLE - 1)
        if self.cptr[h] == name:
            return self.cres[h]
        cdef int at = self.find(name)
        self.cptr[h] = name
        self.cres[h] = at
        return at

    cdef inline int find(self, const char* name) noexcept:
        cdef unsigned int h = _hash(name) & (TABLE - 1)
        while self.names[h] is not NULL:
            if strcmp(self.names[h], name) == 0:
                return <int>h
            h = (h + 1) & (TABLE - 1)
        return -1


cdef class _TypeSpec:
    cdef object key
    cdef bytes api_type
    cdef _Names attrs, children

    def __cinit__(self, tuple spec):
        self.key = spec[RS_KEY]
        self.api_type = spec[RS_API_TYPE]
        self.attrs = _Names(spec[RS_ATTRS])
        self.children = _Names(spec[RS_CHILDREN])


cdef bint _plain_subtree(tree.xmlNode* el):
    """True if no element or attribute under ``el`` (itself included) is namespaced or declares a
    namespace, and it holds nothing but elements and text (no comments, PIs or CDATA)."""
    cdef tree.xmlNode* c
    cdef tree.xmlAttr* a
    if el.ns is not NULL or el.nsDef is not NULL:
        return False
    a = el.properties
    while a is not NULL:
        if a.ns is not NULL:
            return False
        a = a.next
    c = el.children
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            if not _plain_subtree(c):
                return False
        elif c.type != tree.XML_TEXT_NODE:
            return False
        c = c.next
    return True


cdef class Context:
    """What one harvest needs besides the tree: the vocabulary tables and the Python fallbacks."""

    cdef dict answer_fields, custom_attrs
    cdef _Names types
    cdef list specs
    cdef object as_float, custom, slow, tostring, xml_key
    cdef bytes answer_item
    cdef tuple inherited  # the namespace declarations lxml's tostring() copies from <scenes>, as text
    cdef bint fast_custom

    def __init__(self, dict specs, dict answer_fields, dict custom_attrs, as_float, custom, slow, tostring,
                 xml_key, bytes answer_item):
        self.xml_key = xml_key
        self.answer_item = answer_item
        self.specs = [_TypeSpec(spec) for spec in specs.values()]
        self.types = _Names({name: i for i, name in enumerate(specs)})
        self.answer_fields = answer_fields
        self.custom_attrs = custom_attrs
        self.as_float = as_float
        self.custom = custom
        self.slow = slow
        self.tostring = tostring
        self.inherited = ()
        self.fast_custom = True

    cdef void forget(self):
        """Empty the name caches of every table (a new parser context is reading)."""
        cdef _TypeSpec spec
        self.types.forget()
        for spec in self.specs:
            spec.attrs.forget()
            spec.children.forget()

    def set_root(self, _Element root):
        """Note the root's namespace declarations (``xmlns:xsi`` in the server's files)."""
        cdef tree.xmlNs* ns = root._c_node.nsDef
        cdef bint safe = root._c_node.ns is NULL
        decls = []
        while ns is not NULL and safe:
            if ns.prefix is NULL or ns.href is NULL:
                safe = False
                break
            prefix = (<const char*>ns.prefix)[:strlen(<const char*>ns.prefix)].decode("utf-8")
            href = (<const char*>ns.href)[:strlen(<const char*>ns.href)].decode("utf-8")
            if any(ch in href for ch in '"&<>\'\t\n\r'):
                safe = False
            decls.append(f' xmlns:{prefix}="{href}"')
            ns = ns.next
        self.inherited = tuple(decls)
        self.fast_custom = safe


cdef object _custom(Context ctx, tree.xmlNode* el, _Element root):
    """``reader._read_custom_data`` for plain custom metadata (no namespaces used or declared
    below <scenes>); None when the Python version must read it."""
    cdef tree.xmlAttr* a
    cdef tree.xmlNode* c
    cdef tree.xmlNode* only = NULL
    cdef PyObject* spec
    cdef int64_t iv
    cdef str xml
    cdef Py_ssize_t head
    if not ctx.fast_custom or el.nsDef is not NULL or el.parent.nsDef is not NULL:
        return None
    item = {}
    a = el.properties
    while a is not NULL:
        if a.ns is not NULL:
            return None
        spec = PyDict_GetItem(ctx.custom_attrs, <bytes>a.name)
        if spec is NULL or a.children is NULL or a.children.next is not NULL \
                or a.children.type != tree.XML_TEXT_NODE:
            return None
        column = (<tuple><object>spec)[RCA_COLUMN]
        is_int = (<tuple><object>spec)[RCA_IS_INT]
        if is_int:
            if not _int(<tree.xmlNode*>a, &iv):
                return None
            item[column] = iv
        else:
            item[column] = _text(<tree.xmlNode*>a)
        a = a.next
    c = el.children
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            if only is not NULL:
                return None
            only = c
        elif not _skippable(c):
            return None
        c = c.next
    if only is NULL or not _plain_subtree(only):
        return None
    xml = ctx.tostring(elementFactory(root._doc, only), encoding="unicode", with_tail=False)
    if ctx.inherited:  # tostring() declares <scenes>'s namespaces; cleanup_namespaces() drops unused ones
        head = 1 + strlen(<const char*>only.name)
        rest = xml[head:]
        stripped = True
        while stripped:
            stripped = False
            for decl in ctx.inherited:
                if rest.startswith(decl):
                    rest = rest[len(<str>decl):]
                    stripped = True
        if rest.startswith(" xmlns"):
            return None
        xml = xml[:head] + rest
    item[ctx.xml_key] = xml
    return item


cdef bint _record(Run run, tree.xmlNode* node, _TypeSpec spec, Context ctx, _Element root) except -1:
    """Read one cue point into the run's scratch slots; False if the slow path must read it."""
    cdef _Names attrs = spec.attrs
    cdef _Names children = spec.children
    cdef tree.xmlAttr* a = node.properties
    cdef tree.xmlNode* c
    cdef int at, slot, kind
    cdef int64_t iv
    run.smode[TYPE_SLOT] = S_PY
    run.sobj[TYPE_SLOT] = spec.api_type
    while a is not NULL:
        if a.ns is NULL:
            at = attrs.find(<const char*>a.name)
            if at < 0:
                return False
            slot = attrs.slots[at]
            if a.children is not NULL and (a.children.next is not NULL or a.children.type != tree.XML_TEXT_NODE):
                return False
            run.smode[slot] = S_TEXT
            run.src[slot] = <tree.xmlNode*>a
        a = a.next
    c = node.children
    while c is not NULL:
        if c.type == tree.XML_ELEMENT_NODE:
            if c.ns is not NULL:
                return False
            at = children.find(<const char*>c.name)
            if at < 0:
                return False
            slot = children.slots[at]
            kind = children.kinds[at]
            if kind == K_STR:
                if not _text_only(c):
                    return False
                run.smode[slot] = S_TEXT
                run.src[slot] = c
            elif kind == K_TIME or kind == K_INT:
                if not (_time(c, &iv) if kind == K_TIME else _int(c, &iv)):
                    return False
                run.smode[slot] = S_INT
                run.sint[slot] = iv
            elif kind == K_TAGS:
                if not _tags_ok(c):
                    return False
                run.smode[slot] = S_TAGS
                run.src[slot] = c
            elif kind == K_ANSWERS:
                value = _answers(c, ctx.answer_fields, ctx.as_float, ctx.answer_item)
                if value is None:
                    return False
                if run.smode[slot] == S_PY:
                    value = run.sobj[slot] + value
                run.smode[slot] = S_PY
                run.sobj[slot] = value
            elif kind == K_CUSTOM:
                value = _custom(ctx, c, root)
                if value is None:
                    try:
                        value = ctx.custom(elementFactory(root._doc, c))
                    except Exception:
                        return False  # the slow path raises the reader's error, with the record number
                run.sobj[slot] = run.sobj[slot] + [value] if run.smode[slot] == S_PY else [value]
                run.smode[slot] = S_PY
            else:
                if not _text_only(c):
                    return False
                try:
                    value = ctx.as_float(_text(c))
                except ValueError:
                    return False
                run.smode[slot] = S_PY
                run.sobj[slot] = value
        elif not _skippable(c) and c.type != tree.XML_CDATA_SECTION_NODE:
            return False
        c = c.next
    return True


def harvest(_Element root, Context ctx, Run run, Py_ssize_t index, bint final):
    """Append the finished cue point elements under ``root`` to ``run``.

    ``ctx.specs`` maps an element name (bytes) to ``(key, api_type, attrs, children)``: the type's
    UTF-8 name, attribute name -> column and child name -> (column, kind). Unless ``final``, the
    last child is left alone (the parser may still be filling it). ``ctx.slow(element, key, index)``
    returns the full row for an element this code does not read (or raises the reader's error).

    Returns how many lxml children (elements, comments, PIs) were used, for ``del root[:n]``.
    """
    cdef tree.xmlNode* node = root._c_node.children
    cdef Py_ssize_t consumed = 0, records = 0
    cdef int at
    cdef _TypeSpec spec
    while node is not NULL:
        if node.next is NULL and not final:
            break
        if node.type == tree.XML_ELEMENT_NODE:
            at = -1 if node.ns is not NULL else ctx.types.find(<const char*>node.name)
            if at < 0:
                run.append_row(ctx.slow(elementFactory(root._doc, node), None, index + records))
            else:
                spec = <_TypeSpec>ctx.specs[ctx.types.slots[at]]
                if _record(run, node, spec, ctx, root):
                    run._commit()
                else:
                    run._clear()
                    run.append_row(ctx.slow(elementFactory(root._doc, node), spec.key, index + records))
            records += 1
            consumed += 1
        elif node.type == tree.XML_COMMENT_NODE or node.type == tree.XML_PI_NODE \
                or node.type == tree.XML_ENTITY_REF_NODE:
            consumed += 1
        node = node.next
    return consumed, records
