# The tree-free reader (included by _speedups.pyx): libxml2's SAX2 callbacks -> column buffers.
#
# The tree harvest (_speedups_reader.pxi) spends most of its time in libxml2 building a tree that is
# thrown away right after (benchmarks/results/analysis.md: ~60% of a read). This part drives the same
# libxml2 that lxml bundles (its functions are looked up in lxml's own extension module, so there is
# one libxml2 in the process and it is the one lxml's options and fixes apply to) as a push parser
# with SAX2 callbacks, and copies each value straight into the Run's buffers.
#
# It reads the common shapes only, and never reports an error itself: on anything else (an unknown
# or namespaced element, a value that needs the general parsers, a comment or processing instruction
# inside a value, an entity reference, a DTD, a syntax error, a Python error in a callback) it stops
# and says so (``SaxReader.aborted``). reader.iter_columns then reads the document again with the
# tree harvest, skipping the cue points already delivered, so results and errors are those of the
# tree path by construction.

from lxml.includes.xmlparser cimport (
    xmlSAXHandler, xmlParserCtxt, startElementNsSAX2Func, endElementNsSAX2Func, charactersSAXFunc,
    commentSAXFunc, processingInstructionSAXFunc, internalSubsetSAXFunc, referenceSAXFunc,
)
from lxml.includes.tree cimport const_xmlChar
from cpython.exc cimport PyErr_Clear
from cpython.unicode cimport PyUnicode_DecodeUTF8

cdef extern from "Python.h":
    double PyOS_string_to_double(const char* s, char** endptr, PyObject* overflow_exception)
from lxml.includes.xmlerror cimport xmlError, xmlStructuredErrorFunc

cdef extern from *:
    """
    #if defined(_WIN32) || !defined(__has_include)
    #define CUEPIPE_NO_DLFCN 1
    #elif __has_include(<dlfcn.h>)
    #include <dlfcn.h>
    #else
    #define CUEPIPE_NO_DLFCN 1
    #endif
    #if defined(CUEPIPE_NO_DLFCN) || !defined(RTLD_NOLOAD)
    /* no way to find lxml's libxml2 here: the tree harvest does all the reading */
    #define cuepipe_dlopen(path, flags) ((void*)0)
    #define cuepipe_dlsym(handle, name) ((void*)0)
    #define CUEPIPE_RTLD_FLAGS 0
    #else
    #define cuepipe_dlopen(path, flags) dlopen(path, flags)
    #define cuepipe_dlsym(handle, name) dlsym(handle, name)
    #define CUEPIPE_RTLD_FLAGS (RTLD_NOW | RTLD_NOLOAD)
    #endif
    """
    void* cuepipe_dlopen(const char* filename, int flag)
    void* cuepipe_dlsym(void* handle, const char* symbol)
    int CUEPIPE_RTLD_FLAGS

cdef extern from "libxml/xmlversion.h":
    const char* LIBXML_DOTTED_VERSION

cdef extern from "libxml/parser.h":
    int XML_SAX2_MAGIC
    # the parts of libxml2's parser context this reader reads (lxml's declaration lacks them)
    ctypedef struct _InputLine "xmlParserInput":
        int line
    ctypedef struct _CtxtErrors "xmlParserCtxt":
        _InputLine* input
        int wellFormed
        int nsWellFormed
        unsigned short nbErrors

ctypedef xmlParserCtxt* (*_create_f)(xmlSAXHandler*, void*, const char*, int, const char*) noexcept nogil
ctypedef int (*_chunk_f)(xmlParserCtxt*, const char*, int, int) noexcept nogil
ctypedef void (*_free_f)(xmlParserCtxt*) noexcept nogil
ctypedef int (*_options_f)(xmlParserCtxt*, int) noexcept nogil
ctypedef void (*_stop_f)(xmlParserCtxt*) noexcept nogil

cdef _create_f _sax_create = NULL
cdef _chunk_f _sax_chunk = NULL
cdef _free_f _sax_free = NULL
cdef _options_f _sax_options = NULL
cdef _stop_f _sax_stop = NULL


cdef bint _load_libxml2():
    """Find libxml2's push parser functions in lxml's extension module (statically linked in
    lxml's wheels, a dependency otherwise: dlsym searches both)."""
    global _sax_create, _sax_chunk, _sax_free, _sax_options, _sax_stop
    import lxml.etree
    running = ".".join(map(str, lxml.etree.LIBXML_VERSION))
    if running != (<bytes>LIBXML_DOTTED_VERSION).decode():
        return False  # the parser context's layout is the headers' (lxml upgraded since the build?)
    path = lxml.etree.__file__.encode()
    cdef void* handle = cuepipe_dlopen(path, CUEPIPE_RTLD_FLAGS)
    if handle is NULL:
        return False
    _sax_create = <_create_f>cuepipe_dlsym(handle, "xmlCreatePushParserCtxt")
    _sax_chunk = <_chunk_f>cuepipe_dlsym(handle, "xmlParseChunk")
    _sax_free = <_free_f>cuepipe_dlsym(handle, "xmlFreeParserCtxt")
    _sax_options = <_options_f>cuepipe_dlsym(handle, "xmlCtxtUseOptions")
    _sax_stop = <_stop_f>cuepipe_dlsym(handle, "xmlStopParser")
    return (_sax_create is not NULL and _sax_chunk is not NULL and _sax_free is not NULL
            and _sax_options is not NULL and _sax_stop is not NULL)


#: Whether the tree-free reader can run (libxml2's push parser was found in lxml).
SAX = _load_libxml2()

cdef enum:
    # libxml2 parser options: what lxml sets for cuepipe's PARSER_OPTIONS (no entity substitution,
    # no DTD loading, no network), CDATA merged into text (lxml's strip_cdata default), and no error
    # printing (an error stops this reader; the tree path reports it)
    _OPTIONS = 0x800 | 0x4000 | 0x20 | 0x40   # NONET | NOCDATA | NOERROR | NOWARNING

cdef enum:
    # libxml2's XML_MAX_TEXT_LENGTH: without huge_tree its tree builder refuses a longer text node
    # ("huge text node"); SAX2 hands the text over in pieces, so this reader counts them
    _MAX_TEXT = 10000000
    # libxml2's tree builder refuses elements nested deeper than 256 (no huge_tree): "Excessive
    # depth in document"; the parser alone does not check it, so this reader stops well before
    _MAX_DEPTH = 200

cdef enum:
    _PTRS = 64  # entries of SaxReader's name pointer caches (a handful of names each)

cdef enum:  # where the parser is
    P_OUTSIDE = 0   # before <scenes> or after it
    P_ROOT = 1      # between cue points
    P_RECORD = 2    # inside a cue point, between its fields
    P_FIELD = 3     # inside a text field (str, time, int, float)
    P_TAGS = 4      # inside <tags>, between tags
    P_TAG = 5       # inside one <tag>
    P_ANSWERS = 6   # inside <optionalAnswers>, between answers
    P_ANSWER = 7    # inside one <optionalAnswer>, between its parts
    P_PART = 8      # inside a part of an answer
    P_CUSTOM = 9    # inside <scene-customData>, around its one element
    P_META = 10     # inside the custom metadata element (depth in meta_depth)

cdef class _Bytes:
    """A growable byte buffer."""
    cdef char* p
    cdef Py_ssize_t n, cap

    def __dealloc__(self):
        free(self.p)

    cdef inline int put(self, const char* s, Py_ssize_t k) except -1:
        cdef Py_ssize_t cap
        cdef void* q
        if self.n + k > self.cap:
            cap = self.cap * 2 if self.cap else 4096
            while cap < self.n + k:
                cap *= 2
            q = realloc(self.p, cap)
            if q is NULL:
                raise MemoryError()
            self.p = <char*>q
            self.cap = cap
        memcpy(self.p + self.n, s, k)
        self.n += k
        return 0

    cdef inline str text(self, Py_ssize_t start):
        return self.p[start:self.n].decode("utf-8") if self.n > start else ""


cdef enum:
    _STR_SLOTS = 1024  # short strings remembered per read (a direct-mapped table)
    _STR_MAX = 32     # longest string remembered, in bytes
    _TEXT_SLOTS = 1024  # custom metadata documents remembered per read (a second table)
    _TEXT_MAX = 512     # longest one remembered, in bytes
    _FLOAT_SLOTS = 64   # answer weights remembered per read


cdef class _Strings:
    """Short values decoded once per read. The values of answers and custom metadata repeat from
    cue point to cue point (answer keys, "True"/"False", profile ids and names); each distinct one
    becomes one ``str`` object shared by the cells that hold it, instead of a new object per cell:
    less memory for the frame and less work for the allocator. Strings are immutable, so sharing
    them changes nothing a caller can see but ``is``."""

    cdef char keys[_STR_SLOTS][_STR_MAX]
    cdef int lens[_STR_SLOTS]
    cdef list values
    # Custom metadata documents (``<metadata>`` serialized, about 100 bytes each here) repeat too, and
    # were a fifth of a chunk's Python objects: keys copied to the heap, at most _TEXT_MAX bytes.
    cdef char* text_keys[_TEXT_SLOTS]
    cdef int text_lens[_TEXT_SLOTS]
    cdef list texts
    # Answer weights take a few values (1.0, 0.5 ...); keyed by their bits (so -0.0 and 0.0 differ).
    cdef uint64_t float_bits[_FLOAT_SLOTS]
    cdef list floats

    def __cinit__(self):
        self.values = [None] * _STR_SLOTS
        memset(self.lens, 0xff, sizeof(self.lens))  # -1: empty
        self.texts = [None] * _TEXT_SLOTS
        memset(self.text_lens, 0xff, sizeof(self.text_lens))
        memset(self.text_keys, 0, sizeof(self.text_keys))
        self.floats = [None] * _FLOAT_SLOTS

    def __dealloc__(self):
        cdef int i
        for i in range(_TEXT_SLOTS):
            free(self.text_keys[i])

    cdef str text(self, const char* p, Py_ssize_t n):
        """``get`` for longer values, up to _TEXT_MAX bytes."""
        cdef unsigned int h = 2166136261u
        cdef Py_ssize_t i
        cdef void* q
        if n <= _STR_MAX:
            return self.get(p, n)
        if n > _TEXT_MAX:
            return p[:n].decode("utf-8")
        for i in range(n):
            h = (h ^ <unsigned char>p[i]) * 16777619u
        h &= _TEXT_SLOTS - 1
        if self.text_lens[h] == n and memcmp(self.text_keys[h], p, n) == 0:
            return <str>self.texts[h]
        value = p[:n].decode("utf-8")
        q = realloc(self.text_keys[h], n)
        if q is NULL:
            return value  # not remembered
        self.text_keys[h] = <char*>q
        memcpy(q, p, n)
        self.text_lens[h] = <int>n
        self.texts[h] = value
        return value

    cdef object number(self, object value):
        """The float object already made for a float of the same bits, else ``value`` (remembered).
        Never a NaN: ``[nan] == [nan]`` is true only for one object, so sharing would change what
        comparing two cells says."""
        cdef double v
        cdef uint64_t bits
        cdef unsigned int h
        if type(value) is not float:
            return value
        v = value
        if v != v:
            return value
        memcpy(&bits, &v, sizeof(double))
        h = <unsigned int>(((bits ^ (bits >> 31)) * 0x9E3779B97F4A7C15u) >> 58)  # 6 bits: _FLOAT_SLOTS
        found = self.floats[h]
        if found is not None and self.float_bits[h] == bits:
            return found
        self.float_bits[h] = bits
        self.floats[h] = value
        return value

    cdef str get(self, const char* p, Py_ssize_t n):
        cdef unsigned int h = 2166136261u
        cdef Py_ssize_t i
        if n == 0:
            return ""
        if n > _STR_MAX:
            return p[:n].decode("utf-8")
        for i in range(n):
            h = (h ^ <unsigned char>p[i]) * 16777619u
        h &= _STR_SLOTS - 1
        if self.lens[h] == n and memcmp(self.keys[h], p, n) == 0:
            return <str>self.values[h]
        value = p[:n].decode("utf-8")
        memcpy(self.keys[h], p, n)
        self.lens[h] = <int>n
        self.values[h] = value
        return value


cdef inline bint _same(const_xmlChar* a, bytes b):
    return strcmp(<const char*>a, <const char*>b) == 0


cdef class SaxReader:
    """Reads a document fed in blocks into ``run`` without building a tree (see the file comment)."""

    cdef xmlParserCtxt* ctxt
    cdef xmlSAXHandler sax
    cdef Context ctx
    cdef public Run run
    cdef list kinds
    cdef Py_ssize_t capacity
    cdef public bint aborted
    cdef public object error  # a Python error raised in a callback that must not be swallowed
    cdef public Py_ssize_t records
    cdef public int line  # where the last complete cue point started (lxml's sourceline of it)
    cdef int record_line
    cdef bint replaying  # fed from a SaxPipe's tapes: no parser of its own (lines come from the tape)
    cdef int tape_line   # the line of the start tag being replayed
    cdef int state, slot, kind, meta_depth
    cdef _TypeSpec spec
    cdef _Bytes sbuf   # the current record's text values
    cdef _Bytes val    # the current time/int/float/answer part value
    cdef _Bytes meta   # the current custom metadata element, serialized
    cdef Py_ssize_t start
    cdef int ntags
    cdef bint meta_open  # the last meta start tag is not closed with '>' yet
    cdef int depth  # open elements
    cdef Py_ssize_t textlen  # bytes of text since the last tag, comment or PI: one text node of a tree
    cdef object answer, answers, item, part_spec
    cdef _Strings strings
    # libxml2's name pointer -> the entry of ctx.custom_attrs / ctx.answer_fields (borrowed: the
    # Context keeps its dicts), so each name is turned into bytes and hashed once per read
    cdef const void* attr_ptr[_PTRS]
    cdef PyObject* attr_val[_PTRS]
    cdef const void* part_ptr[_PTRS]
    cdef PyObject* part_val[_PTRS]

    def __cinit__(self, Context ctx, list kinds, Py_ssize_t capacity=1024):
        self.ctx = ctx
        self.kinds = kinds
        self.capacity = capacity  # rows a run's buffers start with: runs are handed on near this size
        self.run = Run(kinds, capacity)
        self.sbuf = _Bytes()
        self.val = _Bytes()
        self.meta = _Bytes()
        self.strings = _Strings()
        memset(&self.sax, 0, sizeof(xmlSAXHandler))
        self.sax.initialized = XML_SAX2_MAGIC
        self.sax.startElementNs = <startElementNsSAX2Func>_on_start
        self.sax.endElementNs = <endElementNsSAX2Func>_on_end
        self.sax.characters = <charactersSAXFunc>_on_text
        self.sax.cdataBlock = <charactersSAXFunc>_on_stop_text
        self.sax.comment = <commentSAXFunc>_on_comment
        self.sax.processingInstruction = <processingInstructionSAXFunc>_on_pi
        self.sax.internalSubset = <internalSubsetSAXFunc>_on_dtd
        self.sax.reference = <referenceSAXFunc>_on_reference
        self.sax.serror = <xmlStructuredErrorFunc>_on_error  # not lxml's global error log
        ctx.forget()  # name pointers are this parser context's (one reader per Context at a time)
        self.ctxt = _sax_create(&self.sax, <void*>self, NULL, 0, NULL)
        if self.ctxt is NULL:
            raise MemoryError()
        _sax_options(self.ctxt, _OPTIONS)
        self.state = P_OUTSIDE

    def __dealloc__(self):
        if self.ctxt is not NULL:
            _sax_free(self.ctxt)

    def feed(self, bytes block):
        """Parse a block (an empty one ends the document). False once the reader has stopped."""
        cdef int rc
        if self.aborted:
            return False
        cdef _CtxtErrors* state = <_CtxtErrors*>self.ctxt
        rc = _sax_chunk(self.ctxt, <const char*>block, len(block), 1 if not block else 0)
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.judge(rc, state.wellFormed, state.nsWellFormed, state.nbErrors, not block)

    cdef bint judge(self, int rc, int well_formed, int ns_well_formed, int nb_errors, bint last) noexcept:
        """Apply libxml2's verdict on a block once its events are read (``last``: the block that
        ended the document). False once the reader has stopped."""
        # any error, fatal or not (lxml raises on namespace errors too): the tree path reports it
        if rc != 0 or not well_formed or not ns_well_formed or nb_errors:
            self.aborted = True
        elif last and self.state != P_OUTSIDE:
            self.aborted = True  # cannot happen for a well-formed document; the tree path decides
        return not self.aborted

    def take(self):
        """The run's columns so far, and a fresh run for what follows (the cue point being read,
        if any, moves to it)."""
        cdef Run old = self.run
        cdef Run new = Run(self.kinds, self.capacity)
        cdef int i
        out = old.arrays(new)  # new, still empty, takes old's buffers
        for i in range(old.ncols):
            new.smode[i] = old.smode[i]
            new.soff[i] = old.soff[i]
            new.slen[i] = old.slen[i]
            new.sint[i] = old.sint[i]
        new.sobj = old.sobj
        old.sobj = [None] * old.ncols
        self.run = new
        return out

    cdef void stop(self) noexcept:
        if not self.aborted:
            self.aborted = True
            _sax_stop(self.ctxt)

    cdef int value_done(self) except -1:
        """The end tag of a text field: store its value in the record's scratch slot."""
        cdef int64_t iv
        cdef Py_ssize_t n = self.sbuf.n - self.start
        cdef const unsigned char* s = <const unsigned char*>self.sbuf.p + self.start
        if self.kind == K_STR:
            self.run.smode[self.slot] = S_BUF
            self.run.soff[self.slot] = self.start
            self.run.slen[self.slot] = n
            return 0
        if self.kind == K_TIME:
            if not _time_of(s, n, &iv):
                self.stop()
                return 0
        elif self.kind == K_INT:
            if not _int_of(s, n, &iv):
                self.stop()
                return 0
        else:  # K_FLOAT
            try:
                value = _float(self.ctx, s, n)
            except ValueError:
                self.stop()
                return 0
            if self.run.smode[self.slot] == S_PY:
                self.run.sobj[self.slot] = None
            self.run.smode[self.slot] = S_PY
            self.run.sobj[self.slot] = value
            return 0
        if self.run.smode[self.slot] == S_PY:
            self.run.sobj[self.slot] = None
        self.run.smode[self.slot] = S_INT
        self.run.sint[self.slot] = iv
        return 0

    cdef int start_element(self, const_xmlChar* name, const_xmlChar* uri, int nb_ns, int nb_attrs,
                           const_xmlChar** attrs) except -1:
        cdef int at, i, slot
        cdef const_xmlChar* v
        cdef const_xmlChar* end
        cdef PyObject* found
        cdef int64_t iv
        cdef int state = self.state
        if state == P_META:
            if uri is not NULL or nb_ns:
                self.stop()
                return 0
            self.meta_close_start()
            self.meta.put("<", 1)
            self.meta.put(<const char*>name, strlen(<const char*>name))
            for i in range(nb_attrs):
                if attrs[5 * i + 2] is not NULL:
                    self.stop()
                    return 0
                self.meta.put(" ", 1)
                self.meta.put(<const char*>attrs[5 * i], strlen(<const char*>attrs[5 * i]))
                self.meta.put("=\"", 2)
                self.val.n = 0
                if not _attribute(self.val, attrs[5 * i + 3], attrs[5 * i + 4]) or not _escape(
                        self.meta, <const_xmlChar*>self.val.p, <const_xmlChar*>self.val.p + self.val.n, True):
                    self.stop()
                    return 0
                self.meta.put("\"", 1)
            self.meta_open = True
            self.meta_depth += 1
            return 0
        if uri is not NULL:  # namespaced elements: the tree path reads or refuses them
            self.stop()
            return 0
        if state == P_ROOT:
            at = self.ctx.types.find_interned(<const char*>name)
            if at < 0 or nb_ns:
                self.stop()
                return 0
            self.spec = <_TypeSpec>self.ctx.specs[self.ctx.types.slots[at]]
            # as the tree builder notes it
            self.record_line = self.tape_line if self.replaying else (<_CtxtErrors*>self.ctxt).input.line
            self.sbuf.n = 0
            self.run.smode[TYPE_SLOT] = S_PY
            self.run.sobj[TYPE_SLOT] = self.spec.api_type
            for i in range(nb_attrs):
                if attrs[5 * i + 2] is not NULL:
                    continue  # xsi:type, xsi:nil ... are allowed anywhere
                at = self.spec.attrs.find_interned(<const char*>attrs[5 * i])
                if at < 0:
                    self.stop()
                    return 0
                slot = self.spec.attrs.slots[at]
                self.run.smode[slot] = S_BUF
                self.run.soff[slot] = self.sbuf.n
                if not _attribute(self.sbuf, attrs[5 * i + 3], attrs[5 * i + 4]):
                    self.stop()
                    return 0
                self.run.slen[slot] = self.sbuf.n - self.run.soff[slot]
            self.state = P_RECORD
        elif state == P_RECORD:
            at = self.spec.children.find_interned(<const char*>name)
            if at < 0:
                self.stop()
                return 0
            self.slot = self.spec.children.slots[at]
            self.kind = self.spec.children.kinds[at]
            self.start = self.sbuf.n
            if self.kind == K_TAGS:
                self.ntags = 0
                self.state = P_TAGS
            elif self.kind == K_ANSWERS:
                self.answers = []
                self.state = P_ANSWERS
            elif self.kind == K_CUSTOM:
                if nb_ns:
                    self.stop()
                    return 0
                self.item = {}
                for i in range(nb_attrs):
                    if attrs[5 * i + 2] is not NULL:
                        self.stop()
                        return 0
                    found = _by_pointer(self.ctx.custom_attrs, attrs[5 * i], self.attr_ptr, self.attr_val)
                    self.val.n = 0
                    if found is NULL or not _attribute(self.val, attrs[5 * i + 3], attrs[5 * i + 4]):
                        self.stop()
                        return 0
                    column = (<tuple><object>found)[RCA_COLUMN]
                    if (<tuple><object>found)[RCA_IS_INT]:
                        if not _int_of(<const unsigned char*>self.val.p, self.val.n, &iv):
                            self.stop()
                            return 0
                        self.item[column] = iv
                    else:
                        self.item[column] = self.strings.get(self.val.p, self.val.n)
                self.meta.n = 0
                self.meta_depth = 0
                self.state = P_CUSTOM
            else:
                self.state = P_FIELD
        elif state == P_TAGS:
            if self.ntags:
                self.sbuf.put(",", 1)
            self.ntags += 1
            self.state = P_TAG
        elif state == P_ANSWERS:
            if not _same(name, self.ctx.answer_item):
                self.stop()
                return 0
            self.answer = {}
            self.state = P_ANSWER
        elif state == P_ANSWER:
            found = _by_pointer(self.ctx.answer_fields, name, self.part_ptr, self.part_val)
            if found is NULL:
                self.stop()
                return 0
            self.part_spec = <object>found
            self.val.n = 0
            self.state = P_PART
        elif state == P_CUSTOM:
            if self.meta.n or nb_ns:  # a second element: the tree path reads or refuses it
                self.stop()
                return 0
            self.state = P_META
            self.meta_depth = 0
            self.start_element(name, uri, nb_ns, nb_attrs, attrs)
        elif state == P_OUTSIDE:
            if not _same(name, b"scenes"):
                self.stop()
                return 0
            self.state = P_ROOT
        else:  # an element inside a text value, a tag or an answer part
            self.stop()
        return 0

    # What each SAX2 event does, whoever delivers it: libxml2's callbacks below (``_on_*``) or a
    # SaxPipe replaying a worker thread's tape (_speedups_pipe.pxi).

    cdef inline int on_start(self, const_xmlChar* name, const_xmlChar* uri, int nb_ns, int nb_attrs,
                             const_xmlChar** attrs) except -1:
        self.textlen = 0
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            self.stop()
            return 0
        return self.start_element(name, uri, nb_ns, nb_attrs, attrs)

    cdef inline int on_end(self, const_xmlChar* name) except -1:
        self.textlen = 0
        self.depth -= 1
        return self.end_element(name)

    cdef inline bint in_value(self) noexcept:
        """Whether text now is part of a value (else it is whitespace between elements)."""
        return self.state == P_FIELD or self.state == P_TAG or self.state == P_PART or self.state == P_META

    cdef inline void between(self, int n) noexcept:
        """Text between elements (most text events): part of no value, only its length counts."""
        self.textlen += n
        if self.textlen > _MAX_TEXT:
            self.stop()

    cdef inline void marker(self) noexcept:
        """A comment or processing instruction."""
        self.textlen = 0
        if self.state >= P_FIELD:  # inside a value: the tree path joins the text around it
            self.stop()

    cdef int meta_close_start(self) except -1:
        if self.meta_open:
            self.meta.put(">", 1)
            self.meta_open = False
        return 0

    cdef int end_element(self, const_xmlChar* name) except -1:
        cdef int64_t iv
        cdef int state = self.state
        if state == P_META:
            self.meta_depth -= 1
            if self.meta_open:
                self.meta.put("/>", 2)
                self.meta_open = False
            else:
                self.meta.put("</", 2)
                self.meta.put(<const char*>name, strlen(<const char*>name))
                self.meta.put(">", 1)
            if self.meta_depth == 0:
                self.state = P_CUSTOM
        elif state == P_FIELD:
            self.value_done()
            self.state = P_RECORD
        elif state == P_TAG:
            self.state = P_TAGS
        elif state == P_TAGS:
            self.kind = K_STR  # the joined tags are text
            self.value_done()
            self.state = P_RECORD
        elif state == P_PART:
            column = self.part_spec[RA_COLUMN]
            kind = self.part_spec[RA_KIND]
            if kind == K_INT:
                if not _int_of(<const unsigned char*>self.val.p, self.val.n, &iv):
                    self.stop()
                    return 0
                self.answer[column] = iv
            elif kind == K_FLOAT:
                try:
                    self.answer[column] = self.strings.number(
                        _float(self.ctx, <const unsigned char*>self.val.p, self.val.n))
                except ValueError:
                    self.stop()
                    return 0
            else:
                self.answer[column] = self.strings.get(self.val.p, self.val.n)
            self.state = P_ANSWER
        elif state == P_ANSWER:
            self.answers.append(self.answer)
            self.answer = None
            self.state = P_ANSWERS
        elif state == P_ANSWERS:
            if self.run.smode[self.slot] == S_PY:
                self.answers = self.run.sobj[self.slot] + self.answers
            self.run.smode[self.slot] = S_PY
            self.run.sobj[self.slot] = self.answers
            self.answers = None
            self.state = P_RECORD
        elif state == P_CUSTOM:
            if not self.meta.n:
                self.stop()  # no element: the tree path raises the reader's error
                return 0
            self.item[self.ctx.xml_key] = self.strings.text(self.meta.p, self.meta.n)
            if self.run.smode[self.slot] == S_PY:
                self.run.sobj[self.slot] = self.run.sobj[self.slot] + [self.item]
            else:
                self.run.sobj[self.slot] = [self.item]
            self.run.smode[self.slot] = S_PY
            self.item = None
            self.state = P_RECORD
        elif state == P_RECORD:
            self.run.sbase = self.sbuf.p
            self.run._commit()
            self.records += 1
            self.line = self.record_line
            self.state = P_ROOT
        elif state == P_ROOT:
            self.state = P_OUTSIDE
        else:
            self.stop()
        return 0

    cdef int text(self, const_xmlChar* ch, int n) except -1:
        cdef int state = self.state
        self.textlen += n
        if self.textlen > _MAX_TEXT:  # libxml2's tree builder refuses this text node: the tree path says so
            self.stop()
            return 0
        if state == P_FIELD or state == P_TAG:
            self.sbuf.put(<const char*>ch, n)
        elif state == P_PART:
            self.val.put(<const char*>ch, n)
        elif state == P_META:
            self.meta_close_start()
            if not _escape(self.meta, ch, ch + n, False):
                self.stop()
        # elsewhere (between cue points, fields, tags, answers) text is not part of any value
        return 0


cdef inline PyObject* _by_pointer(dict table, const_xmlChar* name, const void** ptrs, PyObject** vals) except? NULL:
    """``table.get(bytes(name))`` (borrowed, NULL if absent), answered from a small cache keyed by
    libxml2's interned name pointer (see ``_Names.find_interned``) after the first time."""
    cdef unsigned int h = <unsigned int>(((<size_t>name) * <size_t>0x9E3779B97F4A7C15) >> 58) & (_PTRS - 1)
    if ptrs[h] == <const void*>name:
        return vals[h]
    cdef PyObject* found = PyDict_GetItem(table, <bytes>name)
    ptrs[h] = <const void*>name
    vals[h] = found
    return found


cdef object _float(Context ctx, const unsigned char* s, Py_ssize_t n):
    """``ctx.as_float`` of the UTF-8 text ``s[:n]``. Plain decimal and exponent notation (the only
    bytes ``0-9 . e E + -``, at most 40 of them) are converted here with the function Python's
    ``float()`` itself calls once it has stripped whitespace and underscores, which these cannot
    hold, so the value is the same; anything else (whitespace, ``inf``, ``1_0``, errors) goes through
    ``as_float``."""
    cdef char buf[41]
    cdef char* end
    cdef Py_ssize_t i
    cdef double v
    if 0 < n <= 40:
        for i in range(n):
            if not (c'0' <= s[i] <= c'9' or s[i] == c'.' or s[i] == c'e' or s[i] == c'E'
                    or s[i] == c'+' or s[i] == c'-'):
                break
        else:
            memcpy(buf, s, n)
            buf[n] = 0
            v = PyOS_string_to_double(buf, &end, NULL)
            if end == buf + n:
                return v
            PyErr_Clear()  # not a number after all: as_float raises the error
    return ctx.as_float(PyUnicode_DecodeUTF8(<const char*>s, n, NULL))


cdef bint _attribute(_Bytes out, const_xmlChar* s, const_xmlChar* end) except -1:
    """Append an attribute value as SAX2 hands it over without entity substitution: the parser
    writes a literal '&' (from ``&amp;`` or ``&#38;``) as ``&#38;`` for the tree builder to decode.
    False for any other '&' (an entity reference: the tree path reads or refuses it)."""
    cdef const_xmlChar* amp
    while s < end:
        amp = <const_xmlChar*>memchr(s, c'&', end - s)
        if amp is NULL:
            out.put(<const char*>s, end - s)
            return True
        out.put(<const char*>s, amp - s)
        if end - amp < 5 or memcmp(amp, b"&#38;", 5) != 0:
            return False
        out.put("&", 1)
        s = amp + 5
    return True


cdef bint _escape(_Bytes out, const_xmlChar* s, const_xmlChar* end, bint attribute) except -1:
    """Write text as libxml2 serializes it (``lxml.etree.tostring``): & < > escaped, and " in
    attribute values. False for characters whose serialization this code does not reproduce
    (tab, newline and carriage return in attributes, carriage return in text)."""
    cdef const_xmlChar* run = s
    cdef unsigned char c
    while s < end:
        c = s[0]
        if c == c'&' or c == c'<' or c == c'>' or (attribute and c == c'"') or c == c'\r' \
                or (attribute and (c == c'\n' or c == c'\t')):
            out.put(<const char*>run, s - run)
            if c == c'&':
                out.put("&amp;", 5)
            elif c == c'<':
                out.put("&lt;", 4)
            elif c == c'>':
                out.put("&gt;", 4)
            elif c == c'"':
                out.put("&quot;", 6)
            else:
                return False
            run = s + 1
        s += 1
    out.put(<const char*>run, s - run)
    return True


cdef bint _int_of(const unsigned char* s, Py_ssize_t n, int64_t* out) noexcept:
    """``_int`` on a byte string: plain ASCII integers up to 18 digits, else False."""
    cdef Py_ssize_t i = 0, start
    cdef int64_t v = 0
    cdef bint neg = False
    if n and s[0] == c'-':
        neg = True
        i = 1
    start = i
    while i < n:
        if s[i] < c'0' or s[i] > c'9' or i - start >= 18:
            return False
        v = v * 10 + (s[i] - c'0')
        i += 1
    if i == start:
        return False
    out[0] = -v if neg else v
    return True


cdef bint _time_of(const unsigned char* s, Py_ssize_t n, int64_t* out) noexcept:
    """``_time`` on a byte string: ``HH:MM:SS`` or ``HH:MM:SS.f`` (1-3 digits), else False."""
    if n < 8 or n > 12 or s[2] != c':' or s[5] != c':':
        return False
    cdef int h = _d2(s), m = _d2(s + 3), sec = _d2(s + 6)
    if h < 0 or m < 0 or sec < 0:
        return False
    cdef int64_t ms = h * 3600000LL + m * 60000LL + sec * 1000LL
    cdef int frac = 0
    cdef Py_ssize_t i
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


# The callbacks: libxml2 calls them while SaxReader.feed runs, with the GIL held. A Python error in
# one stops the reader: MemoryError and KeyboardInterrupt are raised again by feed(), anything else
# makes the tree path read the document.

cdef inline void _failed(SaxReader r, BaseException exc) noexcept:
    if isinstance(exc, (MemoryError, KeyboardInterrupt)):
        r.error = exc
    r.stop()


cdef void _on_start(void* ctx, const_xmlChar* localname, const_xmlChar* prefix, const_xmlChar* uri,
                    int nb_namespaces, const_xmlChar** namespaces, int nb_attributes, int nb_defaulted,
                    const_xmlChar** attributes) noexcept:
    cdef SaxReader r = <SaxReader>ctx
    if r.aborted:
        return
    try:
        r.on_start(localname, uri, nb_namespaces, nb_attributes, attributes)
    except BaseException as exc:
        _failed(r, exc)


cdef void _on_end(void* ctx, const_xmlChar* localname, const_xmlChar* prefix, const_xmlChar* uri) noexcept:
    cdef SaxReader r = <SaxReader>ctx
    if r.aborted:
        return
    try:
        r.on_end(localname)
    except BaseException as exc:
        _failed(r, exc)


cdef void _on_text(void* ctx, const_xmlChar* ch, int n) noexcept:
    cdef SaxReader r = <SaxReader>ctx
    if r.aborted:
        return
    if not r.in_value():
        r.between(n)  # no try/except around the most frequent call: it cannot raise
        return
    try:
        r.text(ch, n)
    except BaseException as exc:
        _failed(r, exc)


cdef void _on_stop_text(void* ctx, const_xmlChar* ch, int n) noexcept:
    (<SaxReader>ctx).stop()


cdef void _on_comment(void* ctx, const_xmlChar* value) noexcept:
    (<SaxReader>ctx).marker()


cdef void _on_pi(void* ctx, const_xmlChar* target, const_xmlChar* data) noexcept:
    (<SaxReader>ctx).marker()


cdef void _on_dtd(void* ctx, const_xmlChar* name, const_xmlChar* external_id, const_xmlChar* system_id) noexcept:
    (<SaxReader>ctx).stop()  # refused before parsing (_source); never read one here


cdef void _on_error(void* ctx, const xmlError* error) noexcept:
    pass  # an error stops this reader (feed() checks the context); the tree path reports it


cdef void _on_reference(void* ctx, const_xmlChar* name) noexcept:
    (<SaxReader>ctx).stop()


# The floor of any SAX reader, for benchmarks/cases.py (read.sax_floor): the same parser, options
# and blocks, with callbacks that do nothing.

cdef void _noop_start(void* ctx, const_xmlChar* localname, const_xmlChar* prefix, const_xmlChar* uri,
                      int nb_namespaces, const_xmlChar** namespaces, int nb_attributes, int nb_defaulted,
                      const_xmlChar** attributes) noexcept:
    pass


cdef void _noop_end(void* ctx, const_xmlChar* localname, const_xmlChar* prefix, const_xmlChar* uri) noexcept:
    pass


cdef void _noop_text(void* ctx, const_xmlChar* ch, int n) noexcept:
    pass


def sax_floor(bytes data, Py_ssize_t block):
    """Parse ``data`` with libxml2's SAX2 push parser and callbacks that do nothing, ``block`` bytes
    at a time (benchmarks only). True if the document is well-formed."""
    cdef xmlSAXHandler sax
    cdef xmlParserCtxt* ctxt
    cdef Py_ssize_t i = 0, n = len(data), k
    cdef int rc = 0
    cdef const char* p = data
    if not SAX:
        raise RuntimeError("libxml2's push parser was not found in lxml")
    memset(&sax, 0, sizeof(xmlSAXHandler))
    sax.initialized = XML_SAX2_MAGIC
    sax.startElementNs = <startElementNsSAX2Func>_noop_start
    sax.endElementNs = <endElementNsSAX2Func>_noop_end
    sax.characters = <charactersSAXFunc>_noop_text
    sax.serror = <xmlStructuredErrorFunc>_on_error
    ctxt = _sax_create(&sax, NULL, NULL, 0, NULL)
    if ctxt is NULL:
        raise MemoryError()
    _sax_options(ctxt, _OPTIONS)
    while i < n and rc == 0:
        k = block if n - i > block else n - i
        rc = _sax_chunk(ctxt, p + i, <int>k, 0)
        i += k
    if rc == 0:
        rc = _sax_chunk(ctxt, p, 0, 1)
    ok = rc == 0 and (<_CtxtErrors*>ctxt).wellFormed
    _sax_free(ctxt)
    return bool(ok)
