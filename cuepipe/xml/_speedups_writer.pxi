# The compiled writer (included by _speedups.pyx): rows of Python values -> cue point elements,
# byte for byte as writer._Renderer.render writes them. A row it cannot write exactly (an unusual
# value, anything that needs an error message) goes to the Python renderer.

from libc.math cimport floor

cdef class _Out:
    cdef char* buf
    cdef Py_ssize_t n, cap

    def __cinit__(self):
        self.cap = 1 << 20
        self.buf = <char*>realloc(NULL, self.cap)
        if self.buf is NULL:
            raise MemoryError()
        self.n = 0

    def __dealloc__(self):
        free(self.buf)

    cdef int reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t cap = self.cap
        cdef void* p
        if self.n + extra <= cap:
            return 0
        while cap < self.n + extra:
            cap *= 2
        p = realloc(self.buf, cap)
        if p is NULL:
            raise MemoryError()
        self.buf = <char*>p
        self.cap = cap
        return 0

    cdef inline int put(self, const char* s, Py_ssize_t k) except -1:
        if self.n + k > self.cap:
            self.reserve(k)
        memcpy(self.buf + self.n, s, k)
        self.n += k
        return 0

    cdef int put_bytes(self, bytes b) except -1:
        return self.put(<const char*>b, len(b))

    cdef int put_str(self, str s) except -1:
        cdef Py_ssize_t size
        cdef const char* utf8 = PyUnicode_AsUTF8AndSize(s, &size)
        return self.put(utf8, size)

    cdef int put_escaped(self, str s, bint attr) except -1:
        """UTF-8 of ``s`` escaped as writer._esc_text (text) or writer._esc_attr (attribute) does."""
        cdef Py_ssize_t size, i, start = 0
        cdef const char* u = PyUnicode_AsUTF8AndSize(s, &size)
        cdef unsigned char ch
        cdef const char* rep
        self.reserve(size)
        for i in range(size):
            ch = <unsigned char>u[i]
            if ch > c'>':
                continue
            rep = NULL
            if ch == c'&':
                rep = "&amp;"
            elif ch == c'<':
                rep = "&lt;"
            elif ch == c'>':
                if not attr:
                    rep = "&gt;"
            elif ch == c'\r':
                rep = "&#13;"
            elif attr:
                if ch == c'"':
                    rep = "&quot;"
                elif ch == c'\t':
                    rep = "&#9;"
                elif ch == c'\n':
                    rep = "&#10;"
            if rep is not NULL:
                self.put(u + start, i - start)
                self.put(rep, strlen(rep))
                start = i + 1
        self.put(u + start, size - start)
        return 0


cdef bint _bad_xml_bytes(const unsigned char* s, Py_ssize_t n) noexcept:
    """A character XML 1.0 cannot carry in this UTF-8 (controls, U+FFFE, U+FFFF)."""
    cdef Py_ssize_t i
    cdef unsigned char ch
    for i in range(n):
        ch = s[i]
        if ch < 0x20:
            if ch != 9 and ch != 10 and ch != 13:
                return True
        elif ch == 0xEF and i + 2 < n and s[i + 1] == 0xBF and (s[i + 2] == 0xBE or s[i + 2] == 0xBF):
            return True
    return False


cdef int _put_2(_Out out, int v) except -1:
    cdef char d[2]
    d[0] = <char>(c'0' + v // 10)
    d[1] = <char>(c'0' + v % 10)
    return out.put(d, 2)


cdef bint _put_time(_Out out, object value, bint serve) except -1:
    """format_time / format_serve_time for an int, or a whole float, in range; False to let Python
    do it (or fail)."""
    cdef long long ms, s
    cdef int frac
    cdef char d[4]
    cdef double f
    if type(value) is float:
        # values.to_milliseconds takes a whole, finite float as int(value): the same text follows.
        # NaN fails the comparisons; a fraction, a negative or a day and more is the Python side's.
        f = value
        if not (f >= 0.0 and f < 86400000.0) or f != floor(f):
            return False
        ms = <long long>f
    elif type(value) is not int:
        return False
    else:
        try:
            ms = value
        except OverflowError:
            return False
    if ms < 0:
        return False
    if serve:
        ms = (ms + 50) // 100 * 100
    if ms >= 86400000:
        return False
    s = ms // 1000
    frac = <int>(ms % 1000)
    _put_2(out, <int>(s // 3600))
    out.put(":", 1)
    _put_2(out, <int>(s // 60 % 60))
    out.put(":", 1)
    _put_2(out, <int>(s % 60))
    if frac:
        d[0] = c'.'
        if serve:
            d[1] = <char>(c'0' + frac // 100)
            out.put(d, 2)
        else:
            d[1] = <char>(c'0' + frac // 100)
            d[2] = <char>(c'0' + frac // 10 % 10)
            d[3] = <char>(c'0' + frac % 10)
            out.put(d, 4)
    return True


cdef bint _put_tags(_Out out, str value, Py_ssize_t maxlen, tuple markup) except -1:
    """writer.render_tags' fast path: comma-separated tags, each 1..maxlen characters.
    ``markup``: what opens the list, what separates two tags, what closes the list."""
    cdef Py_ssize_t size, i, chars = 0, start = 0
    cdef const char* u = PyUnicode_AsUTF8AndSize(value, &size)
    cdef unsigned char ch
    if size == 0:
        return True  # no tags: render_tags writes nothing (the typed frame's form of an empty list)
    for i in range(size + 1):
        if i == size or u[i] == c',':
            if chars == 0 or chars > maxlen:
                return False
            chars = 0
        elif (<unsigned char>u[i] & 0xC0) != 0x80:
            chars += 1
    out.put_bytes(markup[TM_OPEN])
    for i in range(size):
        ch = <unsigned char>u[i]
        if ch == c',':
            out.put(u + start, i - start)
            out.put_bytes(markup[TM_SEPARATOR])
            start = i + 1
        elif ch == c'&' or ch == c'<' or ch == c'>' or ch == c'\r':
            out.put(u + start, i - start)
            out.put("&amp;" if ch == c'&' else "&lt;" if ch == c'<' else "&gt;" if ch == c'>' else "&#13;",
                    5 if ch == c'&' or ch == c'\r' else 4)
            start = i + 1
    out.put(u + start, size - start)
    out.put_bytes(markup[TM_CLOSE])
    return True


cdef bint _put_tag_list(_Out out, object value, Py_ssize_t maxlen, tuple markup) except -1:
    """writer.render_tags for a list, tuple or NumPy array of tags (an Arrow ``list<string>`` cell):
    values.split_tags' checks (text, no comma, 1..maxlen characters), then one ``<tag>`` each. An
    empty list writes nothing, as render_tags does."""
    cdef Py_ssize_t k
    cdef bint first = True
    for t in value:  # checked before anything is written
        if type(t) is not str:
            return False
        k = PyUnicode_GET_LENGTH(t)
        if k == 0 or k > maxlen or "," in <str>t:
            return False
    if len(value) == 0:
        return True
    out.put_bytes(markup[TM_OPEN])
    for t in value:
        if not first:
            out.put_bytes(markup[TM_SEPARATOR])
        first = False
        out.put_escaped(<str>t, False)
    out.put_bytes(markup[TM_CLOSE])
    return True


cdef bint _put_int(_Out out, object value) except -1:
    """str(writer._int_value(v)) for a plain int in the xs:int range."""
    cdef long long v
    if type(value) is not int:
        return False
    try:
        v = value
    except OverflowError:
        return False
    if v < -2147483648LL or v > 2147483647LL:
        return False
    out.put_str(str(v))
    return True


cdef bint _put_answers(_Out out, object value, tuple how) except -1:
    """writer._render_answers for a list of plain dicts; False for anything else."""
    cdef tuple fields = how[AX_FIELDS]
    cdef tuple markup = how[AX_MARKUP]
    cdef tuple f
    if type(value) is not list:
        return False
    out.put_bytes(markup[AM_LIST_OPEN])
    for answer in <list>value:
        if type(answer) is not dict:
            return False
        known = 0
        out.put_bytes(markup[AM_ITEM_OPEN])
        for f in fields:  # AnswerField tuples
            v = (<dict>answer).get(f[AF_COLUMN])
            if v is None:
                continue
            known += 1
            out.put_bytes(f[AF_OPEN])
            if f[AF_KIND] == A_TEXT:
                if type(v) is not str:
                    return False
                out.put_escaped(v, False)
            elif f[AF_KIND] == A_FLOAT:
                if type(v) is not float or v != v or v == float("inf") or v == float("-inf"):
                    return False
                out.put_str(repr(v))
            elif not _put_int(out, v):
                return False
            out.put_bytes(f[AF_CLOSE])
        if known != len(<dict>answer):
            return False  # an unknown key, or a missing value spelled NA/NaN: the Python renderer decides
        out.put_bytes(markup[AM_ITEM_CLOSE])
    out.put_bytes(markup[AM_LIST_CLOSE])
    return True


cdef bint _put_custom(_Out out, object value, tuple how) except -1:
    """writer.render_custom for a list of plain dicts; False for anything else."""
    cdef tuple attrs = how[CX_ATTRS]  # CustomAttr tuples
    cdef frozenset known = how[CX_KNOWN]
    checked = how[CX_CHECKED]  # writer._checked_metadata
    xml_key = how[CX_XML_KEY]
    cdef tuple a
    if type(value) is not list:
        return False
    for item in <list>value:
        if type(item) is not dict:
            return False
        for k, v in (<dict>item).items():
            if v is None or k not in known:
                return False
        out.put_bytes(how[CX_OPEN])
        for a in attrs:
            v = (<dict>item).get(a[CT_COLUMN])
            if v is None:
                if a[CT_REQUIRED]:
                    return False
                continue
            out.put_bytes(a[CT_NAME])
            if a[CT_IS_INT]:
                if not _put_int(out, v):
                    return False
            else:
                if type(v) is not str:
                    return False
                out.put_escaped(v, True)
            out.put("\"", 1)
        out.put(">", 1)
        xml = (<dict>item).get(xml_key)
        if type(xml) is not str:
            return False
        try:
            out.put_str(checked(xml))
        except Exception:
            return False
        out.put_bytes(how[CX_CLOSE])
    return True


cdef bint _row(_Out out, list columns, Py_ssize_t i, tuple spec, bint serve) except -1:
    """One row into ``out``; False if writer._Renderer.render must write it (or raise for it)."""
    cdef bytes open_ = spec[WS_OPEN]
    cdef list steps = spec[WS_STEPS]
    cdef list choices = spec[WS_CHOICES]
    cdef tuple step
    cdef int kind, pos, present
    cdef Py_ssize_t maxlen
    for group in choices:
        present = 0
        for pos in group:
            if pos >= 0 and (<list>columns[pos])[i] is not None:
                present += 1
        if present > 1:
            return False
    out.put_bytes(open_)
    for step in steps:
        kind = step[WST_KIND]
        pos = step[WST_POS]
        if kind == W_END_OF_ATTRIBUTES:
            out.put(">", 1)
            continue
        value = (<list>columns[pos])[i] if pos >= 0 else None
        if value is None:
            if step[WST_REQUIRED]:
                return False  # required: the Python renderer names the field
            continue
        if kind == W_ATTR or kind == W_STR:
            if type(value) is not str:
                return False  # NA, NaN, or not text: the Python renderer decides
            maxlen = step[WST_MAX_LENGTH]
            if maxlen >= 0 and PyUnicode_GET_LENGTH(value) > maxlen:
                return False
            if kind == W_ATTR:
                out.put_bytes(step[WST_OPEN])
                out.put_escaped(value, True)
                out.put("\"", 1)
            elif PyUnicode_GET_LENGTH(value) == 0:
                out.put_bytes(step[WST_EMPTY])
            else:
                out.put_bytes(step[WST_OPEN])
                out.put_escaped(value, False)
                out.put_bytes(step[WST_CLOSE])
        elif kind == W_TIME:
            out.put_bytes(step[WST_OPEN])
            if not _put_time(out, value, serve):
                return False
            out.put_bytes(step[WST_CLOSE])
        elif kind == W_ENUM:
            if type(value) is not str and type(value) is not int and type(value) is not float:
                return False  # a boolean would find the member whose value is 1: the Python renderer refuses it
            try:
                text = (<dict>step[WST_AUX]).get(value)
            except TypeError:
                return False
            if text is None:
                return False
            out.put_bytes(step[WST_OPEN])
            out.put_str(text)
            out.put_bytes(step[WST_CLOSE])
        elif kind == W_TAGS:
            if type(value) is str:
                if not _put_tags(out, value, step[WST_MAX_LENGTH], step[WST_AUX]):
                    return False
            elif type(value) is list or type(value) is tuple or (type(value) is np.ndarray and value.ndim == 1):
                if not _put_tag_list(out, value, step[WST_MAX_LENGTH], step[WST_AUX]):
                    return False
            else:
                return False
        elif kind == W_ANSWERS:
            if not _put_answers(out, value, step[WST_AUX]):
                return False
        elif kind == W_CUSTOM:
            if not _put_custom(out, value, step[WST_AUX]):
                return False
        else:  # any other kind: the Python step itself, for plain values only
            if type(value) is not str and type(value) is not list:
                return False
            try:
                text = step[WST_AUX](value)
            except Exception:
                return False  # the Python renderer raises it again, naming record and field
            out.put_str(text)
    out.put_bytes(spec[WS_CLOSE])
    return True


cdef bint _row_or_false(_Out out, list columns, Py_ssize_t i, tuple spec, bint serve) except -1:
    try:
        return _row(out, columns, i, spec, serve)
    except UnicodeEncodeError:  # a lone surrogate: the Python renderer reports it
        return False


def render_block(list columns, list types, dict specs, object fallback, Py_ssize_t first, bint serve):
    """Rows ``first``.. of a block (one Python list per column) -> UTF-8, one element per line.

    ``specs`` maps a cuePointType value to ``(bound, spec)`` (see writer._fast_spec); a row whose
    type is not there, or that the fast path does not write exactly as the Python renderer would,
    goes to ``fallback(bound, row, index)`` (writer._Renderer.render), which also raises the errors.
    """
    cdef _Out out = _Out()
    cdef Py_ssize_t i, n = len(types), start
    cdef object found
    for i in range(n):
        start = out.n
        t = types[i]
        try:
            found = specs.get(t)
        except TypeError:
            found = None
        if found is None:
            out.put_str(fallback(None, tuple([col[i] for col in columns]), first + i))
        elif not _row_or_false(out, columns, i, (<tuple>found)[BS_SPEC], serve) \
                or _bad_xml_bytes(<const unsigned char*>out.buf + start, out.n - start):
            out.n = start
            out.put_str(fallback((<tuple>found)[BS_BOUND], tuple([col[i] for col in columns]), first + i))
        out.put("\n", 1)
    return PyBytes_FromStringAndSize(out.buf, out.n)


def records_to_columns(list records, dict positions, object type_key, dict allowed, object allowed_for,
                       Py_ssize_t first, tuple missing):
    """A block of dict records -> ``(columns, types, checked)``: one list per column (``positions``
    maps a column name to its list; absent keys are None), each record's ``type_key`` value, and how
    many leading records passed the checks writer._record_rows makes (exactly dicts, known keys
    only, a type that has an XML form, no value in a column the type cannot carry).

    ``allowed`` caches, per cuePointType value, the columns that type may carry;
    ``allowed_for(type, index)`` gives them for a value not seen yet, or None if it is not a type
    the writer can write. The first record that fails a check, and every record after it in the
    block, are left to the Python path, which raises the error.

    A missing value spelled float NaN or one of ``missing`` (pandas' NA and NaT: what
    ``DataFrame.to_dict("records")`` gives) is stored as None: the Python renderer treats them all
    alike (``values.is_missing``), and only None lets the compiled writer skip the cell.
    """
    cdef Py_ssize_t n = len(records), ncols = len(positions), i
    cdef list columns = [[None] * n for i in range(ncols)]
    cdef list types = [None] * n
    cdef PyObject* pos
    cdef object ok
    na, nat = missing
    for i in range(n):
        rec = records[i]
        if type(rec) is not dict:
            return columns, types, i
        t = (<dict>rec).get(type_key)
        try:
            ok = allowed.get(t)
        except TypeError:  # an unhashable cuePointType value
            return columns, types, i
        if ok is None:
            ok = allowed_for(t, first + i)
            if ok is None:
                return columns, types, i
            allowed[t] = ok
        for k, v in (<dict>rec).items():
            pos = PyDict_GetItem(positions, k)
            if pos is NULL:
                return columns, types, i
            if v is not None:
                if (type(v) is float and v != v) or v is na or v is nat:
                    v = None
                elif k not in <frozenset>ok:
                    return columns, types, i
            (<list>columns[<Py_ssize_t><object>pos])[i] = v
        types[i] = t
    return columns, types, n
