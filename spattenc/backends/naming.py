"""Back ends: the one escaping rule per target for user text, and the one mapping from
checked spec names to generated identifiers.

Every string a spec supplies (title, doc, label, unit, fmt, sweep and case names, file
names and paths) reaches a generated file only through one of the functions here, chosen
by where it lands: a Python literal or `#` comment, a Verilog `//` comment or string
literal, Markdown, HTML or matplotlib text.  Templates call them as jinja filters
(`templates_env.py`), and a test walks every template to check that no `{{ x }}` skips
them.

Identifiers: a spec name is written unchanged when it is *plain* (letters and digits with
single inner underscores, not a reserved word of the target); any other name is written
as `_0` followed by the name with each `_` spelt `_0` and each character that cannot
appear in an identifier spelt `_x` and six hex digits.  Plain names never start with `_`
or contain `__`; escaped names start with `_0` and never contain `__` either.  Generated
names are either composites of such parts joined by `__` (`baseline__t`) or helpers
whose names start with `_` and a letter (`_gather`) or are reserved words (`np`, `c`),
so no spelling of a user name can equal a generated one, and the mapping is injective
(a composite longer than JOIN_MAX is shortened, with a hash of the whole: see py_join).
"""

from __future__ import annotations

import builtins
import hashlib
import html
import keyword
import numbers
import re
import shlex
import unicodedata
from pathlib import Path

__all__ = [
    "Code", "code", "py_ident", "py_part", "py_join", "py_str", "py_doc", "py_lit", "py_comment", "PY_TAGS",
    "v_comment", "v_str", "v_ident", "md", "md_comment", "md_fence", "html_text", "plot_text", "file_stem",
    "display_path", "command_for", "PY_RESERVED", "VERILOG_KEYWORDS",
]


class Code(str):
    """Text a back end printed from the IR (expressions, identifiers it chose, operators):
    interpolated verbatim by the `code` filter, which refuses every other string."""

    __slots__ = ()


def code(text: str) -> Code:
    """Mark back-end-printed text as code (never call it on user text)."""
    return Code(text)


# ---------------------------------------------------------------- Python identifiers

#: Local and module names the generated simulators use for themselves (besides names
#: starting with `_`): a spec name equal to one of them is escaped.
PY_INTERNAL = frozenset("""
np c draw shape record params trials events act R C math per_trial shows observed inputs points csv table G
groups raw overrides seed rng rngs run simulate compare report constants Constants Draws Grouping main
param_arrays random_params random_vectors format_vectors vector_words trial_vectors to_fixed read_table
SPEC TITLE TRIALS SEED PARAMS DESIGNS GANTT OBSERVABLE COMPARES INPUTS TABLE COLUMNS GROUPS FRAC_BITS
STAGE_CYCLES COUNT_MAX DRAWS METRICS HARDWARE WORD_BITS TIME_KINDS SHOW CONST_ATTRS TrialStats DrawError
GivenDraws TableError
""".split())

#: Every Python keyword, soft keyword and builtin, and the generated modules' own names.
PY_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(
    n for n in dir(builtins) if not n.startswith("_")) | PY_INTERNAL

#: Last parts of generated composite names (`<design>__t`, `<var>__s`, `<leaf>__given`):
#: a spec name used as a part of a composite is escaped when it equals one.
PY_TAGS = frozenset({"t", "start", "end", "s", "ix", "given", "init", "next"})

#: Prefixes of generated function names (`stage_<..>`, `fn_<f>`, `loop_<l>`).
_PY_PREFIXES = ("stage_", "fn_", "loop_")

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*\Z")


def _escape_name(name: str) -> str:
    """`_0` + the name with `_` as `_0` and other non-alphanumerics as `_x` + 6 hex digits."""
    out = ["_0"]
    for ch in name:
        if ch == "_":
            out.append("_0")
        elif ch.isascii() and ch.isalnum():
            out.append(ch)
        else:
            out.append(f"_x{ord(ch):06x}")
    return "".join(out)


def py_ident(name: str, reserved: frozenset[str] = frozenset()) -> str:
    """The Python identifier of a spec name (or any string, e.g. a schema key)."""
    if _PLAIN.match(name) and name not in PY_RESERVED and name not in reserved \
            and not name.startswith(_PY_PREFIXES):
        return name
    return _escape_name(name)


def py_part(name: str) -> str:
    """A spec name as one part of a generated composite name (tags escaped too)."""
    return py_ident(name, PY_TAGS)


#: Longest composite name written in full; a longer one is shortened (see py_join).
JOIN_MAX = 64


def py_join(*parts: str) -> str:
    """A generated composite name: already-mapped parts joined by `__`.  Past JOIN_MAX
    characters (long spec names), each part keeps its first 12 characters and a last
    part `0x` + 10 hex digits of a hash of the whole name is added, so lines of
    generated code stay short; no spec name, slot number or other part starts with
    `0x`, so a shortened name never equals another generated one."""
    whole = "__".join(parts)
    if len(whole) <= JOIN_MAX:
        return whole
    short = [p[:12].rstrip("_") or p[:12] for p in parts]
    return "__".join(short + ["0x" + hashlib.sha256(whole.encode("utf-8")).hexdigest()[:10]])


# ---------------------------------------------------------------- Python text

#: Escapes of the characters a double-quoted literal cannot hold as they are.
_PY_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def py_str(s: str | None) -> str:
    """A Python string literal in double quotes, the one quoting style of generated code:
    backslashes and quotes escaped, and every non-printable character (newlines, NUL,
    bidi marks, line separators) spelt as an escape, as repr() does, so none reaches
    the source raw."""
    if s is None:
        return "None"
    if not isinstance(s, str):
        raise TypeError(f"py_str needs a string, not {type(s).__name__}")
    out = ['"']
    for ch in str(s):
        if ch in _PY_ESCAPES:
            out.append(_PY_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            o = ord(ch)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def py_doc(s, indent: int = 0, width: int = 100) -> str:
    """A docstring: `s` in triple double quotes, each character escaped as py_str escapes
    it (so no quote can end it early), broken between words into lines of at most
    `width` characters at `indent`; a word longer than a line is cut between characters,
    never inside an escape."""
    room = max(width - indent - 6, 20)
    lines: list[str] = []
    cur: list[str] = []  # escaped characters of the current line
    for word in str(s).split(" "):
        units = [py_str(ch)[1:-1] for ch in word]
        need = sum(map(len, units)) + (1 if cur else 0)
        if cur and len(cur) + need > room:
            lines.append("".join(cur))
            cur = []
        if cur:
            cur.append(" ")
        for u in units:
            if len("".join(cur)) + len(u) > room:
                lines.append("".join(cur))
                cur = []
            cur.append(u)
    lines.append("".join(cur))
    return '"""' + ("\n" + " " * indent).join(line.rstrip(" ") for line in lines) + '"""'


def py_lit(v) -> str:
    """A Python literal of plain data: None, bool, int, float, str, tuples/lists/dicts of them."""
    if v is None or isinstance(v, bool):
        return repr(v)
    if isinstance(v, str):
        return py_str(v)
    if isinstance(v, numbers.Integral):
        return repr(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    if isinstance(v, (tuple, list)):
        items = ", ".join(py_lit(x) for x in v)
        return f"({items},)" if isinstance(v, tuple) and len(v) == 1 else (f"({items})" if isinstance(v, tuple) else f"[{items}]")
    if isinstance(v, dict):
        return "{" + ", ".join(f"{py_lit(k)}: {py_lit(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no Python literal for {type(v).__name__}")


def _escape_chars(s: str, keep) -> str:
    """`s` with a backslash doubled and every character `keep` refuses as \\xNN/\\uNNNN/\\UNNNNNNNN."""
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif keep(ch):
            out.append(ch)
        else:
            o = ord(ch)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)


def py_comment(s) -> str:
    """Text for one `#` comment line: newlines, control characters and every other
    non-printable character (bidi marks, line separators) escaped."""
    return _escape_chars(str(s), lambda ch: ch.isprintable())


# ---------------------------------------------------------------- Verilog

#: Verilog-2005 and SystemVerilog-2012 keywords (the testbench compiles with -g2012).
VERILOG_KEYWORDS = frozenset("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before begin bind
bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class clocking cmos config
const constraint context continue cover covergroup coverpoint cross deassign default defparam design disable
dist do edge else end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable endtask
enum event eventually expect export extends extern final first_match for force foreach forever fork forkjoin
function generate genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import
incdir include initial inout input inside instance int integer interconnect interface intersect join join_any
join_none large let liblist library local localparam logic longint macromodule matches medium modport module
nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output package packed
parameter pmos posedge primitive priority program property protected pull0 pull1 pulldown pullup
pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real realtime ref reg
reject_on release repeat restrict return rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime
s_until s_until_with scalared sequence shortint shortreal showcancelled signed small soft solve specify
specparam static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior
trireg type typedef union unique unique0 unsigned until until_with untyped use uwire var vectored virtual void
wait wait_order wand weak weak0 weak1 while wildcard wire with within wor xnor xor
""".split())


def v_comment(s) -> str:
    """Text for one Verilog `//` comment: ASCII only, non-printables escaped, and `/*`,
    `*/` and the backtick of a compiler directive broken up."""
    text = _escape_chars(str(s), lambda ch: ch.isascii() and ch.isprintable() and ch != "`")
    return text.replace("*/", "*\\/").replace("/*", "/\\*")


def v_str(s) -> str:
    """The inside of a Verilog string literal used as a $display/$fatal format: `\\`,
    `"` and non-printables as escapes (octal), `%` doubled."""
    out = []
    for ch in str(s):
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "%":
            out.append("%%")
        elif ch.isascii() and ch.isprintable():
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8"))
    return "".join(out)


_V_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


def v_ident(name: str, keywords: frozenset[str]) -> str:
    """A Verilog simple identifier, checked (the namer chose it, or the spec names a port)."""
    if not isinstance(name, str) or not _V_IDENT.match(name) or name in keywords:
        raise ValueError(f"not a Verilog identifier: {name!r}")
    return name


# ---------------------------------------------------------------- Markdown, HTML, plots

def md(s) -> str:
    """Markdown inline text: one line, every Markdown/HTML metacharacter backslash-escaped
    (`<`, `>` and `&` as entities), control characters escaped."""
    text = _escape_chars(str(s), lambda ch: ch.isprintable())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~$])", r"\\\1", text)


def md_comment(s) -> str:
    """Text inside a Markdown/HTML comment `<!-- ... -->`: one line, and no `--` that
    could end the comment early."""
    text = _escape_chars(str(s), lambda ch: ch.isprintable())
    while "--" in text:
        text = text.replace("--", "-\\x2d")
    return text


def md_fence(body: str) -> str:
    """A fenced code block around `body` (taken literally): its fence is longer than any
    run of backticks inside, so no line of the body can close it."""
    fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    body = body if body.endswith("\n") else body + "\n"
    return f"{fence}\n{body}{fence}\n"


def visible(s: str) -> str:
    """Text with every control character other than tab, newline and CR spelt `\\xNN` /
    `\\uNNNN` (for outputs that show text to a reader: HTML, plots)."""
    return "".join(ch if ch in "\t\n\r" or unicodedata.category(ch) != "Cc" else
                   (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") for ch in s)


def html_text(s) -> str:
    """HTML text or attribute value: `& < > " '` as entities."""
    return html.escape(str(s), quote=True)


def plot_text(s) -> str:
    """Matplotlib text shown literally: a `$` never starts mathtext (escaped as `\\$`;
    one already escaped is left, so escaping twice changes nothing), and control
    characters other than tab, newline and CR are spelt out."""
    return re.sub(r"(?<!\\)\$", r"\\$", visible(str(s)))


# ---------------------------------------------------------------- files and headers

#: Longest file-name stem taken from a spec name (generated names add at most 20 bytes).
STEM_MAX = 100


def file_stem(name: str) -> str:
    """A spec name as the stem of generated file and folder names: unchanged up to
    STEM_MAX characters; longer names keep their first 80 characters and a hash of the
    whole name, so the result stays unique and far below the 255-byte limit."""
    if len(name.encode("utf-8")) <= STEM_MAX:
        return name
    return f"{name[:80]}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:16]}"


_ROOT_MARKERS = ("pyproject.toml", ".git")


def display_path(path: str) -> str:
    """How generated headers name a spec: its path relative to the project root (the
    nearest folder above it holding pyproject.toml or .git), else its file name, so the
    output never depends on the current folder or the checkout's location."""
    p = Path(path).resolve()
    for folder in p.parents:
        if any((folder / m).exists() for m in _ROOT_MARKERS):
            return p.relative_to(folder).as_posix()
    return p.name


def command_for(spec_path: str) -> str:
    """The shell command that regenerates a spec's files (the path quoted for the shell)."""
    return f"spattenc compile {shlex.quote(spec_path)}"
