"""Back ends: line layout of generated Python, so no line is longer than `WIDTH`.

Printers and templates write each statement on one line; `wrap_python` then lays out
every logical line that is too long, from its tokens, deterministically:

- a trailing comment that does not fit moves onto its own line(s) above the statement;
- an assignment, `return`, `raise`, `if`/`while`/`for` header or expression statement
  whose right side is not a single atom gets parentheses around that side;
- a long list of assignment targets gets parentheses, one target a line;
- inside brackets, a line breaks at the commas of the outermost bracket (one item per
  line, each ending with a comma, hanging indent of 4), else before the operators of
  the lowest precedence found at the top level (the operator starts the continuation
  line), else at the bracket holding the most whose opening fits (`f(` ... `)`); a
  bracket holding one bracket hugs it (`f((` ... `))`); hanging indents stop
  deepening 24 columns past the statement, so deep nesting keeps room for names;
- a plain string literal that still does not fit becomes adjacent literals (Python
  joins them), broken after spaces where possible;
- a comment line breaks between words.

Lines that fit are left exactly as written, so hand-laid-out template text is kept.
Only the line structure changes: the tokens, their order and so the program do not.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

from spattenc.backends.naming import py_str

__all__ = ["WIDTH", "wrap_python", "wrap_comment", "wrap_verilog_comments"]

#: The longest line a generated Python file may have.
WIDTH = 100

_OPEN, _CLOSE = "([{", ")]}"
_INDENT = 4
_DEEPEST = 24  # columns of hanging indent at most, past the statement's own

#: Binary operators by precedence (lowest first); a line breaks before the lowest found.
_LEVELS = (
    ("for",),  # comprehension clauses (their `if` too: see _op_level)
    ("if", "else"),
    ("or",),
    ("and",),
    ("<", "<=", ">", ">=", "==", "!="),
    ("|",),
    ("^",),
    ("&",),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "//", "%", "@"),
    ("**",),
)
_LEVEL_OF = {op: i for i, ops in enumerate(_LEVELS) for op in ops}
_KEYWORD_OPS = frozenset({"and", "or", "not", "in", "is", "if", "else", "for", "lambda", "return",
                          "yield", "await", "async", "from", "import", "raise", "assert", "del"})
_AUGMENTED = frozenset({"=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "|=", "&=", "^=", ">>=",
                        "<<=", "@="})


@dataclass(frozen=True)
class _Tok:
    """One token: its text, its tokenize type and the spacing written before it."""

    text: str
    kind: int
    sep: str


def _flat(toks: list[_Tok]) -> str:
    """The tokens on one line (the first token's spacing dropped)."""
    return "".join((t.sep if i else "") + t.text for i, t in enumerate(toks))


def _pairs(toks: list[_Tok]) -> dict[int, int]:
    """Opening bracket index -> its closing bracket index (unmatched closers ignored)."""
    stack: list[int] = []
    out: dict[int, int] = {}
    for i, t in enumerate(toks):
        if t.kind == tokenize.OP and t.text in _OPEN:
            stack.append(i)
        elif t.kind == tokenize.OP and t.text in _CLOSE and stack:
            out[stack.pop()] = i
    return out


def _top(toks: list[_Tok]) -> list[bool]:
    """Whether each token is outside every bracket opened within `toks`."""
    out, depth = [], 0
    for t in toks:
        if t.kind == tokenize.OP and t.text in _CLOSE and depth:
            depth -= 1
            out.append(depth == 0)
            continue
        out.append(depth == 0 and not (t.kind == tokenize.OP and t.text in _OPEN))
        if t.kind == tokenize.OP and t.text in _OPEN:
            depth += 1
    return out


def _item_cuts(toks: list[_Tok]) -> list[int]:
    """Where the items of a bracket's inside start (after each top-level comma), none for
    a comprehension; commas between `lambda` and its `:` separate parameters, not items."""
    top = _top(toks)
    if any(top[i] and t.kind == tokenize.NAME and t.text == "for" for i, t in enumerate(toks)):
        return []
    cuts, params = [], False
    for i, t in enumerate(toks):
        if not top[i]:
            continue
        if t.kind == tokenize.NAME and t.text == "lambda":
            params = True
        elif params and t.text == ":":
            params = False
        elif t.text == "," and not params and i + 1 < len(toks):
            cuts.append(i + 1)
    return cuts


def _is_operand_end(t: _Tok) -> bool:
    """Whether a `-`/`+`/`*` after `t` is binary (t ends an operand)."""
    if t.kind in (tokenize.NUMBER, tokenize.STRING):
        return True
    if t.kind == tokenize.NAME:
        return t.text not in _KEYWORD_OPS
    return t.kind == tokenize.OP and t.text in _CLOSE


def _op_level(toks: list[_Tok], i: int) -> int | None:
    """The precedence level of the binary operator at `i`, or None."""
    t = toks[i]
    if t.kind == tokenize.NAME and t.text == "if" and any(x.text == "for" for x in toks[:i]):
        return 0  # a comprehension's condition
    level = _LEVEL_OF.get(t.text)
    if level is None or t.kind not in (tokenize.OP, tokenize.NAME) or i == 0:
        return None
    if t.text in ("+", "-", "*", "**") and not _is_operand_end(toks[i - 1]):
        return None
    return level


def _strip(toks: list[_Tok]) -> list[_Tok]:
    """A run with its first token's spacing dropped (it starts a line)."""
    return [_Tok(toks[0].text, toks[0].kind, "")] + toks[1:] if toks else toks


class _Layout:
    """Lays out one logical line as lines of at most `width` characters where it can."""

    def __init__(self, width: int, indent: int):
        self.width = width
        self.lines: list[str] = []
        # Hanging indents stop deepening past this column (free inside brackets), so
        # deeply nested expressions keep room for their names.
        self.deepest = indent + _DEEPEST

    def inner(self, indent: int) -> int:
        """The indentation of the lines inside a bracket opened at `indent`."""
        return min(indent + _INDENT, max(indent, self.deepest))

    def fits(self, toks: list[_Tok], indent: int) -> bool:
        return indent + len(_flat(toks)) <= self.width

    def emit(self, toks: list[_Tok], indent: int) -> None:
        self.lines.append(" " * indent + _flat(toks))

    def body(self, toks: list[_Tok], indent: int) -> None:
        """The inside of a bracket: free to break anywhere; one item per line."""
        if self.fits(toks, indent):
            self.emit(toks, indent)
            return
        cuts = _item_cuts(toks)
        if cuts:
            for a, b in zip([0] + cuts, cuts + [len(toks)]):
                self.expr(_strip(toks[a:b]), indent, free=True)
            if toks[-1].text != ",":
                self.lines[-1] += ","  # one item a line: each ends with a comma
            return
        self.expr(toks, indent, free=True)

    def expr(self, toks: list[_Tok], indent: int, free: bool) -> None:
        """One expression (maybe with a trailing comma); `free`: inside brackets."""
        if self.fits(toks, indent):
            self.emit(toks, indent)
            return
        if toks[-1].text == "," and len(toks) > 1:
            self.width -= 1  # room for the comma
            self.expr(toks[:-1], indent, free)
            self.width += 1
            self.lines[-1] += ","
            return
        if free and self.split_ops(toks, indent):
            return
        if free and len(toks) > 1 and all(t.kind == tokenize.STRING for t in toks):
            for t in toks:  # adjacent literals: one a line
                self.expr([_Tok(t.text, t.kind, "")], indent, free)
            return
        if self.split_bracket(toks, indent, free):
            return
        if free and len(toks) == 1 and self.split_string(toks[0], indent):
            return
        if free and len(toks) > 1 and _plain_string(toks[-1]):
            self.emit(toks[:-1], indent)  # a long string last: on lines of its own
            self.expr([_Tok(toks[-1].text, toks[-1].kind, "")], self.inner(indent), free)
            return
        self.emit(toks, indent)

    def split_ops(self, toks: list[_Tok], indent: int) -> bool:
        """Break before each top-level operator of the lowest precedence, if any."""
        top = _top(toks)
        levels = [(_op_level(toks, i) if top[i] else None) for i in range(len(toks))]
        found = [lv for lv in levels if lv is not None]
        if not found:
            return False
        low = min(found)
        cuts = [i for i, lv in enumerate(levels) if lv == low]
        for a, b in zip([0] + cuts, cuts + [len(toks)]):
            self.expr(_strip(toks[a:b]), indent, free=True)
        return True

    def split_bracket(self, toks: list[_Tok], indent: int, free: bool) -> bool:
        """Break after a top-level opening bracket and before its closing one, if one's
        opening line fits."""
        pairs = _pairs(toks)
        top_pairs = []
        depth_end = -1
        for i in range(len(toks)):
            if i in pairs and i > depth_end:
                top_pairs.append((i, pairs[i]))
                depth_end = pairs[i]
        # The bracket holding the most, among those whose opening line fits (the last on
        # a tie): `f(...).reshape(-1, 1)` breaks inside `f(`, not `reshape(`.
        fitting = [(j - i, k, i, j) for k, (i, j) in enumerate(top_pairs)
                   if j - i >= 2 and self.fits(toks[:i + 1], indent)]
        for _, _, i, j in sorted(fitting, reverse=True)[:1]:
            head, inner, tail = toks[:i + 1], toks[i + 1:j], toks[j:]
            while len(inner) > 2 and inner[0].text in _OPEN and _pairs(inner).get(0) == len(inner) - 1 \
                    and self.fits(head + inner[:1], indent):
                head, tail = head + [_Tok(inner[0].text, inner[0].kind, "")], [inner[-1]] + tail
                inner = inner[1:-1]
            self.emit(head, indent)
            self.body(_strip(inner), self.inner(indent))
            tail = [_Tok(tail[0].text, tail[0].kind, "")] + tail[1:]
            if len(tail) > 1 and not self.fits(tail, indent):
                self.expr(tail, indent, free)
            else:
                self.emit(tail, indent)
            return True
        return False

    def split_string(self, t: _Tok, indent: int) -> bool:
        """A plain string literal as adjacent literals, each fitting."""
        if not _plain_string(t):
            return False
        value = ast.literal_eval(t.text)
        room = self.width - indent
        pieces, cur, cut = [], "", -1
        for ch in value:
            if len(py_str(cur + ch)) > room and cur:
                if 0 < cut < len(cur):
                    pieces.append(cur[:cut])
                    cur = cur[cut:]
                else:
                    pieces.append(cur)
                    cur = ""
                cut = -1
            cur += ch
            if ch == " ":
                cut = len(cur)
        pieces.append(cur)
        self.lines.extend(" " * indent + py_str(p) for p in pieces)
        return True

    def statement(self, toks: list[_Tok], indent: int) -> None:
        """A whole statement: its right side parenthesized when it is not one atom."""
        if self.fits(toks, indent):
            self.emit(toks, indent)
            return
        span = _right_side(toks)
        if span is not None:
            a, b = span
            rhs = toks[a:b]
            top = _top(rhs)
            bare = any(top[i] and (_op_level(rhs, i) is not None or rhs[i].text in (",", "lambda"))
                       for i in range(len(rhs)))
            head = toks[:a]
            if a and _item_cuts(head[:-1]) and not self.fits(head, indent):
                # a long list of targets: `(` one a line `) = ...`
                self.emit([_Tok("(", tokenize.OP, "")], indent)
                self.body(_strip(head[:-1]), self.inner(indent))
                self.statement([_Tok(")", tokenize.OP, "")] + toks[a - 1:], indent)
                return
            if bare or (len(rhs) == 1 and _plain_string(rhs[0])) or not self.splits(toks, indent):
                self.emit(head + [_Tok("(", tokenize.OP, " " if a else "")], indent)
                self.body(_strip(rhs), self.inner(indent))
                self.emit([_Tok(")", tokenize.OP, "")] + toks[b:], indent)
                return
        self.expr(toks, indent, free=False)

    def splits(self, toks: list[_Tok], indent: int) -> bool:
        """Whether a statement breaks at one of its brackets."""
        trial = _Layout(self.width, 0)
        trial.deepest = self.deepest
        return trial.split_bracket(toks, indent, free=False)


def _plain_string(t: _Tok) -> bool:
    """Whether a token is a one-line string literal without prefix (it may be split)."""
    return t.kind == tokenize.STRING and t.text[0] in "\"'" and not t.text.startswith(('"""', "'''"))


def _right_side(toks: list[_Tok]) -> tuple[int, int] | None:
    """The token span of a statement's right side, which parentheses may enclose."""
    first = toks[0].text
    end = len(toks) - 1 if toks[-1].text == ":" else len(toks)
    top = _top(toks)
    if first == "assert":  # `assert test, message`: the message (a tuple would always pass)
        commas = [i for i in range(len(toks)) if top[i] and toks[i].text == ","]
        return (commas[0] + 1, len(toks)) if commas else (1, len(toks))
    if first == "raise":  # `raise X from Y`: X
        froms = [i for i in range(len(toks)) if top[i] and toks[i].text == "from"]
        return (1, froms[0]) if froms else (1, len(toks))
    if first in ("return", "yield", "del") and len(toks) > 1:
        return 1, len(toks)
    if first in ("if", "elif", "while") and end < len(toks):
        return 1, end
    if first == "for" and end < len(toks):
        ins = [i for i in range(len(toks)) if top[i] and toks[i].text == "in"]
        return (ins[0] + 1, end) if ins else None
    if first in ("def", "class", "with", "else", "try", "except", "finally", "import", "from"):
        return None
    eqs = [i for i in range(len(toks)) if top[i] and toks[i].kind == tokenize.OP and toks[i].text in _AUGMENTED]
    if eqs:
        return eqs[-1] + 1, len(toks)
    if keyword.iskeyword(first) and first not in ("not", "lambda", "None", "True", "False", "await"):
        return None
    return 0, len(toks)


def wrap_comment(text: str, indent: int, width: int = WIDTH) -> list[str]:
    """A `#` comment (its text after `# `) as lines of at most `width`, broken between
    words (a word longer than a line is cut)."""
    room = max(width - indent - 2, 20)
    out, cur = [], ""
    for word in text.split(" "):
        while len(word) > room:
            if cur:
                out.append(cur)
                cur = ""
            out.append(word[:room])
            word = word[room:]
        if cur and len(cur) + 1 + len(word) > room:
            out.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    out.append(cur)
    return [" " * indent + ("# " + line).rstrip() for line in out]


def _comment_lines(comment: str, indent: int, width: int) -> list[str]:
    body = comment[1:]
    body = body[1:] if body.startswith(" ") else body
    return wrap_comment(body, indent, width)


def _logical_lines(text: str):
    """The tokens of each statement (its comments and inner line breaks included, its
    final NEWLINE not); comment lines and blank lines between statements are skipped."""
    toks: list[tokenize.TokenInfo] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if not toks and tok.type in (tokenize.NL, tokenize.COMMENT):
            continue  # a blank line or a comment line of its own
        if tok.type == tokenize.NEWLINE:
            yield toks
            toks = []
            continue
        toks.append(tok)
    if toks:
        yield toks


def _relayout(raw: list[tokenize.TokenInfo], lines: list[str], width: int) -> list[str] | None:
    """New lines for one logical line, or None to keep it as written."""
    code = [t for t in raw if t.type not in (tokenize.NL, tokenize.COMMENT)]
    comments = [t for t in raw if t.type == tokenize.COMMENT]
    if not code:
        return None
    trailing = comments[-1] if comments and comments[-1] is raw[-1] else None
    if len(comments) > (1 if trailing else 0):
        return None  # comments inside the statement: left as written
    if any(t.start[0] != t.end[0] for t in code):
        return None  # a multi-line string
    toks, prev = [], None
    for t in code:
        if prev is None:
            sep = ""
        elif prev.end[0] == t.start[0]:
            sep = lines[t.start[0] - 1][prev.end[1]:t.start[1]]
        elif prev.string in _OPEN or t.string in _CLOSE or t.string in (",", ":"):
            sep = ""
        else:
            sep = " "
        toks.append(_Tok(t.string, t.type, sep))
        prev = t
    indent = code[0].start[1]
    lay = _Layout(width, indent)
    lay.statement(toks, indent)
    if trailing is None:
        return lay.lines
    if len(lay.lines) == 1 and len(lay.lines[0]) + 2 + len(trailing.string) <= width:
        return [f"{lay.lines[0]}  {trailing.string}"]
    return _comment_lines(trailing.string, indent, width) + lay.lines  # the comment above


def wrap_python(text: str, width: int = WIDTH) -> str:
    """Python source with every line longer than `width` laid out again (see the module
    docstring); lines that fit are unchanged.  Text that does not tokenize is returned
    as it is (the generated file's own tests then fail on it)."""
    lines = text.split("\n")
    if all(len(line) <= width for line in lines):
        return text
    try:
        logical = list(_logical_lines(text))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text
    new: dict[int, tuple[int, list[str]]] = {}
    covered: set[int] = set()
    for raw in logical:
        first, last = raw[0].start[0], raw[-1].end[0]
        covered.update(range(first, last + 1))
        if all(len(lines[r - 1]) <= width for r in range(first, last + 1)):
            continue
        if lines[first - 1][:raw[0].start[1]].strip():
            continue  # shares its line with another statement
        repl = _relayout(raw, lines, width)
        if repl is not None:
            new[first] = (last, repl)
    out: list[str] = []
    row = 1
    while row <= len(lines):
        if row in new:
            last, repl = new[row]
            out.extend(repl)
            row = last + 1
            continue
        line = lines[row - 1]
        stripped = line.lstrip(" ")
        if len(line) > width and row not in covered and stripped.startswith("#"):
            out.extend(_comment_lines(stripped, len(line) - len(stripped), width))
        else:
            out.append(line)
        row += 1
    return "\n".join(out)


_V_TRAILING = re.compile(r"^( *)([^\"/ ][^\"]*?)  // (.*)$")


def wrap_verilog_comments(text: str, width: int = WIDTH) -> str:
    """Verilog with each trailing `//` comment of a line longer than `width` moved onto
    its own line(s) above it (only where no string literal comes before it, so no code
    changes); other lines are left as they are."""
    out = []
    for line in text.split("\n"):
        m = _V_TRAILING.match(line) if len(line) > width else None
        if m is None:
            out.append(line)
            continue
        indent, code, comment = m.groups()
        out += [f"{indent}//" + ln[len(indent) + 1:] for ln in wrap_comment(comment, len(indent), width)]
        out.append(indent + code)
    return "\n".join(out)
