# The integer codes and tuple layouts the compiled core shares with the Python side (included by
# _speedups.pyx). Python defines the same things in cuepipe/xml/_layout.py; CODES and LAYOUTS below
# export these constants so tests/test_speedups_layout.py can check that both sides agree.

cdef enum:  # value kinds: _layout.ValueKind
    K_STR = 0
    K_TIME = 1
    K_INT = 2
    K_FLOAT = 3
    K_TAGS = 4
    K_ANSWERS = 5
    K_CUSTOM = 6

cdef enum:  # column storage: _layout.Storage
    C_STR = 0
    C_INT = 1
    C_FLOAT = 2
    C_OBJ = 3

cdef enum:  # writer step kinds: _layout.StepKind
    W_END_OF_ATTRIBUTES = -1
    W_ATTR = 0
    W_STR = 1
    W_TIME = 2
    W_ENUM = 3
    W_PY = 4
    W_TAGS = 5
    W_ANSWERS = 6
    W_CUSTOM = 7

cdef enum:  # answer field kinds: _layout.AnswerKind
    A_TEXT = 0
    A_FLOAT = 1
    A_INT = 2

cdef enum:  # the column of cuePointType in a Run (reader._TYPE_SLOT), which the harvest fills itself
    TYPE_SLOT = 0

# Tuple layouts: the index of each field, named <LAYOUT>_<FIELD>.

cdef enum:  # _layout.ReadChild
    RC_SLOT = 0
    RC_KIND = 1

cdef enum:  # _layout.ReadSpec
    RS_KEY = 0
    RS_API_TYPE = 1
    RS_ATTRS = 2
    RS_CHILDREN = 3

cdef enum:  # _layout.ReadAnswer
    RA_COLUMN = 0
    RA_KIND = 1

cdef enum:  # _layout.ReadCustomAttr
    RCA_COLUMN = 0
    RCA_IS_INT = 1

cdef enum:  # _layout.WriteStep
    WST_KIND = 0
    WST_POS = 1
    WST_REQUIRED = 2
    WST_OPEN = 3
    WST_CLOSE = 4
    WST_EMPTY = 5
    WST_MAX_LENGTH = 6
    WST_AUX = 7

cdef enum:  # _layout.WriteSpec
    WS_OPEN = 0
    WS_CLOSE = 1
    WS_STEPS = 2
    WS_CHOICES = 3

cdef enum:  # _layout.BoundSpec
    BS_BOUND = 0
    BS_SPEC = 1

cdef enum:  # _layout.TagsMarkup
    TM_OPEN = 0
    TM_SEPARATOR = 1
    TM_CLOSE = 2

cdef enum:  # _layout.AnswerField
    AF_COLUMN = 0
    AF_KIND = 1
    AF_OPEN = 2
    AF_CLOSE = 3

cdef enum:  # _layout.AnswerMarkup
    AM_LIST_OPEN = 0
    AM_ITEM_OPEN = 1
    AM_ITEM_CLOSE = 2
    AM_LIST_CLOSE = 3

cdef enum:  # _layout.AnswersAux
    AX_FIELDS = 0
    AX_MARKUP = 1

cdef enum:  # _layout.CustomAttr
    CT_COLUMN = 0
    CT_NAME = 1
    CT_IS_INT = 2
    CT_REQUIRED = 3

cdef enum:  # _layout.CustomAux
    CX_ATTRS = 0
    CX_KNOWN = 1
    CX_CHECKED = 2
    CX_XML_KEY = 3
    CX_OPEN = 4
    CX_CLOSE = 5

#: The integer codes as compiled: enum class name (in _layout) -> member name -> value.
CODES = {
    "ValueKind": {"STR": K_STR, "TIME": K_TIME, "INT": K_INT, "FLOAT": K_FLOAT, "TAGS": K_TAGS,
                  "ANSWERS": K_ANSWERS, "CUSTOM": K_CUSTOM},
    "Storage": {"STR": C_STR, "INT": C_INT, "FLOAT": C_FLOAT, "OBJ": C_OBJ},
    "StepKind": {"END_OF_ATTRIBUTES": W_END_OF_ATTRIBUTES, "ATTR": W_ATTR, "STR": W_STR, "TIME": W_TIME,
                 "ENUM": W_ENUM, "PY": W_PY, "TAGS": W_TAGS, "ANSWERS": W_ANSWERS, "CUSTOM": W_CUSTOM},
    "AnswerKind": {"TEXT": A_TEXT, "FLOAT": A_FLOAT, "INT": A_INT},
}

#: The column the compiled reader writes the cue point type to: the Python reader's too.
COLUMN_SLOTS = {"cuePointType": TYPE_SLOT}

#: The tuple layouts as compiled: named tuple class name (in _layout) -> field name -> index read.
LAYOUTS = {
    "ReadChild": {"slot": RC_SLOT, "kind": RC_KIND},
    "ReadSpec": {"key": RS_KEY, "api_type": RS_API_TYPE, "attrs": RS_ATTRS, "children": RS_CHILDREN},
    "ReadAnswer": {"column": RA_COLUMN, "kind": RA_KIND},
    "ReadCustomAttr": {"column": RCA_COLUMN, "is_int": RCA_IS_INT},
    "WriteStep": {"kind": WST_KIND, "pos": WST_POS, "required": WST_REQUIRED, "open": WST_OPEN,
                  "close": WST_CLOSE, "empty": WST_EMPTY, "max_length": WST_MAX_LENGTH, "aux": WST_AUX},
    "WriteSpec": {"open": WS_OPEN, "close": WS_CLOSE, "steps": WS_STEPS, "choices": WS_CHOICES},
    "BoundSpec": {"bound": BS_BOUND, "spec": BS_SPEC},
    "TagsMarkup": {"open": TM_OPEN, "separator": TM_SEPARATOR, "close": TM_CLOSE},
    "AnswerField": {"column": AF_COLUMN, "kind": AF_KIND, "open": AF_OPEN, "close": AF_CLOSE},
    "AnswerMarkup": {"list_open": AM_LIST_OPEN, "item_open": AM_ITEM_OPEN, "item_close": AM_ITEM_CLOSE,
                     "list_close": AM_LIST_CLOSE},
    "AnswersAux": {"fields": AX_FIELDS, "markup": AX_MARKUP},
    "CustomAttr": {"column": CT_COLUMN, "name": CT_NAME, "is_int": CT_IS_INT, "required": CT_REQUIRED},
    "CustomAux": {"attrs": CX_ATTRS, "known": CX_KNOWN, "checked": CX_CHECKED, "xml_key": CX_XML_KEY,
                  "open": CX_OPEN, "close": CX_CLOSE},
}
