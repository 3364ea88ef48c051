# The tree-free reader on two cores (included by _speedups.pyx, after _speedups_sax.pxi).
#
# A read with SaxReader is two kinds of work of about the same size (benchmarks/results/analysis.md,
# "No tree"): libxml2 tokenizing the document, and cuepipe's callbacks turning what it reports into
# column values and Python objects. Only the second needs the GIL. SaxPipe runs libxml2 in a worker
# thread without the GIL, one block at a time, and records what the callbacks would have been
# handed on a *tape*: element names as libxml2's interned pointers (they live as long as the worker's
# parser context), attribute values and text copied, the line of each start tag, comments,
# processing instructions and the constructs that stop the reader. The calling thread replays the
# tape of block k into the same SaxReader methods while the worker parses block k+1.
#
# Nothing about the result changes: the replay calls the same methods, with the same arguments in the
# same order, as libxml2 would have, and the parser's verdict on each block (return code, well-
# formedness, error count) is applied after its tape, where feed() applies it. Only the timing moves:
# everything is one block later than with SaxReader.feed.

import threading

cdef extern from "pythread.h":
    ctypedef void* PyThread_type_lock
    PyThread_type_lock PyThread_allocate_lock()
    void PyThread_free_lock(PyThread_type_lock)
    int PyThread_acquire_lock(PyThread_type_lock, int) nogil
    void PyThread_release_lock(PyThread_type_lock) nogil
    int WAIT_LOCK

cdef enum:  # tape events
    T_START = 1     # name, flags, nb_ns, nb_attrs, line, then each attribute: name, flags, length, value
    T_END = 2       # name
    T_TEXT = 3      # length, bytes
    T_COMMENT = 4
    T_PI = 5
    T_STOP = 6      # CDATA, a DTD, an entity reference: SaxReader stops there

cdef struct _Tape:
    char* p
    Py_ssize_t n
    Py_ssize_t cap
    bint failed  # out of memory while recording


cdef inline char* _tape_room(_Tape* t, Py_ssize_t k) noexcept nogil:
    """Room for ``k`` more bytes at the tape's end (NULL, and the tape marked failed, if there is none)."""
    cdef Py_ssize_t cap
    cdef char* q
    if t.n + k > t.cap:
        cap = t.cap * 2 if t.cap else 1 << 18
        while cap < t.n + k:
            cap *= 2
        q = <char*>realloc(t.p, cap)
        if q is NULL:
            t.failed = True
            return NULL
        t.p = q
        t.cap = cap
    q = t.p + t.n
    t.n += k
    return q


cdef struct _Recorder:
    xmlParserCtxt* ctxt
    _Tape* tape


cdef inline void _tape_ptr(char* q, const void* v) noexcept nogil:
    memcpy(q, &v, sizeof(void*))


cdef inline void _tape_int(char* q, int v) noexcept nogil:
    memcpy(q, &v, sizeof(int))


cdef void _rec_start(void* ctx, const_xmlChar* localname, const_xmlChar* prefix, const_xmlChar* uri,
                     int nb_namespaces, const_xmlChar** namespaces, int nb_attributes, int nb_defaulted,
                     const_xmlChar** attributes) noexcept nogil:
    cdef _Recorder* rec = <_Recorder*>ctx
    cdef Py_ssize_t k = 1 + sizeof(void*) + 1 + 3 * sizeof(int)
    cdef int i, n
    for i in range(nb_attributes):
        k += sizeof(void*) + 1 + sizeof(int) + (attributes[5 * i + 4] - attributes[5 * i + 3])
    cdef char* q = _tape_room(rec.tape, k)
    if q is NULL:
        _sax_stop(rec.ctxt)
        return
    q[0] = T_START
    _tape_ptr(q + 1, localname)
    q += 1 + sizeof(void*)
    q[0] = uri is not NULL
    _tape_int(q + 1, nb_namespaces)
    _tape_int(q + 1 + sizeof(int), nb_attributes)
    _tape_int(q + 1 + 2 * sizeof(int), (<_CtxtErrors*>rec.ctxt).input.line)
    q += 1 + 3 * sizeof(int)
    for i in range(nb_attributes):
        _tape_ptr(q, attributes[5 * i])
        q[sizeof(void*)] = attributes[5 * i + 2] is not NULL
        n = <int>(attributes[5 * i + 4] - attributes[5 * i + 3])
        _tape_int(q + sizeof(void*) + 1, n)
        q += sizeof(void*) + 1 + sizeof(int)
        memcpy(q, attributes[5 * i + 3], n)
        q += n


cdef void _rec_end(void* ctx, const_xmlChar* localname, const_xmlChar* prefix, const_xmlChar* uri) noexcept nogil:
    cdef _Recorder* rec = <_Recorder*>ctx
    cdef char* q = _tape_room(rec.tape, 1 + sizeof(void*))
    if q is NULL:
        _sax_stop(rec.ctxt)
        return
    q[0] = T_END
    _tape_ptr(q + 1, localname)


cdef void _rec_text(void* ctx, const_xmlChar* ch, int n) noexcept nogil:
    cdef _Recorder* rec = <_Recorder*>ctx
    cdef char* q = _tape_room(rec.tape, 1 + sizeof(int) + n)
    if q is NULL:
        _sax_stop(rec.ctxt)
        return
    q[0] = T_TEXT
    _tape_int(q + 1, n)
    memcpy(q + 1 + sizeof(int), ch, n)


cdef inline void _rec_code(void* ctx, char code) noexcept nogil:
    cdef _Recorder* rec = <_Recorder*>ctx
    cdef char* q = _tape_room(rec.tape, 1)
    if q is NULL:
        _sax_stop(rec.ctxt)
        return
    q[0] = code


cdef void _rec_stop_text(void* ctx, const_xmlChar* ch, int n) noexcept nogil:
    _rec_code(ctx, T_STOP)


cdef void _rec_comment(void* ctx, const_xmlChar* value) noexcept nogil:
    _rec_code(ctx, T_COMMENT)


cdef void _rec_pi(void* ctx, const_xmlChar* target, const_xmlChar* data) noexcept nogil:
    _rec_code(ctx, T_PI)


cdef void _rec_dtd(void* ctx, const_xmlChar* name, const_xmlChar* external_id, const_xmlChar* system_id) noexcept nogil:
    _rec_code(ctx, T_STOP)


cdef void _rec_reference(void* ctx, const_xmlChar* name) noexcept nogil:
    _rec_code(ctx, T_STOP)


cdef void _rec_error(void* ctx, const xmlError* error) noexcept nogil:
    pass  # the block's verdict is read from the parser context after it


cdef class _Worker:
    """What the worker thread and the calling thread share: the parser, its two tapes, the job.

    The worker holds a reference to this object, not to the SaxPipe, so a pipe dropped without
    close() still ends its worker (SaxPipe.__dealloc__ tells it to quit)."""

    cdef xmlParserCtxt* ctxt
    cdef xmlSAXHandler sax
    cdef _Recorder rec
    cdef _Tape tapes[2]
    cdef PyThread_type_lock go    # released by the caller: a job (or quit) is ready
    cdef PyThread_type_lock done  # released by the worker: the job is done
    # the job: a block and which tape to record it on; its verdict
    cdef const char* data
    cdef int size, terminate, tape
    cdef int rc, well_formed, ns_well_formed, nb_errors
    cdef bint quit

    def __cinit__(self):
        self.go = PyThread_allocate_lock()
        self.done = PyThread_allocate_lock()
        if self.go is NULL or self.done is NULL:
            raise MemoryError()
        PyThread_acquire_lock(self.go, WAIT_LOCK)
        PyThread_acquire_lock(self.done, WAIT_LOCK)
        memset(&self.sax, 0, sizeof(xmlSAXHandler))
        self.sax.initialized = XML_SAX2_MAGIC
        self.sax.startElementNs = <startElementNsSAX2Func>_rec_start
        self.sax.endElementNs = <endElementNsSAX2Func>_rec_end
        self.sax.characters = <charactersSAXFunc>_rec_text
        self.sax.cdataBlock = <charactersSAXFunc>_rec_stop_text
        self.sax.comment = <commentSAXFunc>_rec_comment
        self.sax.processingInstruction = <processingInstructionSAXFunc>_rec_pi
        self.sax.internalSubset = <internalSubsetSAXFunc>_rec_dtd
        self.sax.reference = <referenceSAXFunc>_rec_reference
        self.sax.serror = <xmlStructuredErrorFunc>_rec_error
        self.ctxt = _sax_create(&self.sax, <void*>&self.rec, NULL, 0, NULL)
        if self.ctxt is NULL:
            raise MemoryError()
        _sax_options(self.ctxt, _OPTIONS)
        self.rec.ctxt = self.ctxt

    def __dealloc__(self):
        if self.ctxt is not NULL:
            _sax_free(self.ctxt)
        free(self.tapes[0].p)
        free(self.tapes[1].p)
        if self.go is not NULL:
            PyThread_free_lock(self.go)
        if self.done is not NULL:
            PyThread_free_lock(self.done)

    def run(self):
        """The worker thread's loop: parse each block handed over, without the GIL."""
        cdef _CtxtErrors* state = <_CtxtErrors*>self.ctxt
        cdef _Tape* tape
        with nogil:
            while True:
                PyThread_acquire_lock(self.go, WAIT_LOCK)
                if self.quit:
                    break
                tape = &self.tapes[self.tape]
                tape.n = 0
                self.rec.tape = tape
                self.rc = _sax_chunk(self.ctxt, self.data, self.size, self.terminate)
                self.well_formed = state.wellFormed
                self.ns_well_formed = state.nsWellFormed
                self.nb_errors = state.nbErrors
                PyThread_release_lock(self.done)


cdef class SaxPipe:
    """SaxReader fed from a worker thread that runs libxml2 (see the top of this file).

    ``feed`` takes the same blocks and answers the same as ``SaxReader.feed``, one block late: the
    cue points of a block reach ``reader.run`` during the next call. Call ``close`` when done."""

    cdef public SaxReader reader
    cdef _Worker worker
    cdef object pending   # the block the worker is parsing (kept alive until it is done)
    cdef bint busy        # a job is out
    cdef bint closed
    cdef const_xmlChar** attrs
    cdef int attrs_cap

    def __cinit__(self, SaxReader reader):
        self.reader = reader
        self.worker = _Worker()
        thread = threading.Thread(target=self.worker.run, name="cuepipe-xml-parser", daemon=True)
        thread.start()  # RuntimeError if no thread can be started: the caller feeds the reader itself
        reader.replaying = True

    def __dealloc__(self):
        self._quit()
        free(self.attrs)

    cdef void _wait(self) noexcept:
        """Wait for the job that is out (without the GIL: the worker never needs it)."""
        if self.busy:
            with nogil:
                PyThread_acquire_lock(self.worker.done, WAIT_LOCK)
            self.busy = False
            self.pending = None

    cdef void _quit(self) noexcept:
        if self.worker is None or self.closed:
            return
        self._wait()
        self.closed = True
        self.worker.quit = True
        PyThread_release_lock(self.worker.go)

    def close(self):
        """End the worker thread (it finishes the block it is on first)."""
        self._quit()

    def feed(self, block):
        """Hand ``block`` (bytes or any contiguous buffer: it must not change until the next call
        returns) to the worker, an empty one ending the document, and replay the block before it.
        False once the reader has stopped."""
        cdef SaxReader r = self.reader
        cdef _Worker w = self.worker
        cdef int tape, rc, well_formed, ns_well_formed, nb_errors
        if r.aborted or self.closed:
            return False
        if not self.busy:  # the first block: nothing to replay yet
            self._start(block, 0)
        else:
            self._wait()
            tape, rc = w.tape, w.rc
            well_formed, ns_well_formed, nb_errors = w.well_formed, w.ns_well_formed, w.nb_errors
            self._start(block, 1 - tape)
            if not self._replay(tape, rc, well_formed, ns_well_formed, nb_errors, False):
                return False
        if len(block):
            return True
        # the end: replay the last block, whose parse also ended the document
        self._wait()
        self._quit()
        return self._replay(w.tape, w.rc, w.well_formed, w.ns_well_formed, w.nb_errors, True)

    cdef int _start(self, object block, int tape) except -1:
        cdef _Worker w = self.worker
        cdef const unsigned char[::1] view = block
        self.pending = view  # alive, and its buffer exported, until the worker is done with it
        w.size = <int>view.shape[0]
        w.data = <const char*>&view[0] if w.size else NULL
        w.terminate = 0 if w.size else 1
        w.tape = tape
        self.busy = True
        PyThread_release_lock(w.go)
        return 0

    cdef bint _replay(self, int which, int rc, int well_formed, int ns_well_formed, int nb_errors,
                      bint last) except -1:
        """The tape of one block into the reader, then libxml2's verdict on that block."""
        cdef SaxReader r = self.reader
        cdef _Tape* t = &self.worker.tapes[which]
        if t.failed:
            raise MemoryError("out of memory recording the parser's events")
        try:
            self._events(t)
        except BaseException as exc:
            r.aborted = True
            if isinstance(exc, (MemoryError, KeyboardInterrupt)):
                raise
            return False
        if r.aborted:
            return False
        return r.judge(rc, well_formed, ns_well_formed, nb_errors, last)

    cdef int _events(self, _Tape* t) except -1:
        """Call the reader's methods for each event on the tape, as the callbacks do."""
        cdef SaxReader r = self.reader
        cdef const char* q = t.p
        cdef const char* end = t.p + t.n
        cdef const_xmlChar* name
        cdef int nb_ns, nb_attrs, n, i
        cdef bint has_uri
        cdef char code
        while q < end and not r.aborted:
            code = q[0]
            q += 1
            if code == T_TEXT:
                memcpy(&n, q, sizeof(int))
                q += sizeof(int)
                if r.in_value():
                    r.text(<const_xmlChar*>q, n)
                else:
                    r.between(n)
                q += n
            elif code == T_START:
                memcpy(&name, q, sizeof(void*))
                has_uri = q[sizeof(void*)]
                q += sizeof(void*) + 1
                memcpy(&nb_ns, q, sizeof(int))
                memcpy(&nb_attrs, q + sizeof(int), sizeof(int))
                memcpy(&r.tape_line, q + 2 * sizeof(int), sizeof(int))
                q += 3 * sizeof(int)
                if nb_attrs > self.attrs_cap:
                    self._grow(nb_attrs)
                for i in range(nb_attrs):
                    memcpy(&self.attrs[5 * i], q, sizeof(void*))
                    self.attrs[5 * i + 1] = NULL
                    self.attrs[5 * i + 2] = <const_xmlChar*>b"" if q[sizeof(void*)] else NULL
                    memcpy(&n, q + sizeof(void*) + 1, sizeof(int))
                    q += sizeof(void*) + 1 + sizeof(int)
                    self.attrs[5 * i + 3] = <const_xmlChar*>q
                    self.attrs[5 * i + 4] = <const_xmlChar*>q + n
                    q += n
                r.on_start(name, <const_xmlChar*>b"" if has_uri else NULL, nb_ns, nb_attrs, self.attrs)
            elif code == T_END:
                memcpy(&name, q, sizeof(void*))
                q += sizeof(void*)
                r.on_end(name)
            elif code == T_COMMENT or code == T_PI:
                r.marker()
            else:  # T_STOP
                r.stop()
        return 0

    cdef int _grow(self, int n) except -1:
        cdef void* q = realloc(self.attrs, 5 * n * sizeof(void*))
        if q is NULL:
            raise MemoryError()
        self.attrs = <const_xmlChar**>q
        self.attrs_cap = n
        return 0
