package route

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// lexer splits route text into tokens, keeping 1-based line and column
// (in runes) of the next character.
type lexer struct {
	src       string
	off       int
	line, col int
}

func newLexer(src string) *lexer {
	return &lexer{src: src, line: 1, col: 1}
}

// peekByte returns the byte at off+i, or 0 past the end.
func (l *lexer) peekByte(i int) byte {
	if l.off+i < len(l.src) {
		return l.src[l.off+i]
	}
	return 0
}

// advance moves past one rune, keeping line and column.
func (l *lexer) advance() {
	if l.off >= len(l.src) {
		return
	}
	if l.src[l.off] == '\n' {
		l.line++
		l.col = 1
		l.off++
		return
	}
	_, n := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += n
	l.col++
}

// skipSpace skips white space and comments.
func (l *lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance()
		case c == '#' || (c == '/' && l.peekByte(1) == '/'):
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.advance()
			}
		case c == '/' && l.peekByte(1) == '*':
			line, col := l.line, l.col
			l.advance()
			l.advance()
			for {
				if l.off >= len(l.src) {
					fail(line, col, "unterminated comment")
				}
				if l.src[l.off] == '*' && l.peekByte(1) == '/' {
					l.advance()
					l.advance()
					break
				}
				l.advance()
			}
		default:
			return
		}
	}
}

func isLetter(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isDigit(c byte) bool {
	return c >= '0' && c <= '9'
}

// word reads [A-Za-z0-9_]* from the current position.
func (l *lexer) word() string {
	start := l.off
	for l.off < len(l.src) && (isLetter(l.src[l.off]) || isDigit(l.src[l.off])) {
		l.advance()
	}
	return l.src[start:l.off]
}

// next returns the next token.
func (l *lexer) next() token {
	l.skipSpace()
	t := token{line: l.line, col: l.col}
	if l.off >= len(l.src) {
		t.kind = tEOF
		return t
	}
	c := l.src[l.off]
	switch {
	case isLetter(c):
		t.kind, t.text = tIdent, l.word()
		return t
	case c == '$':
		l.variable(&t)
		return t
	case c == '"' || c == '\'':
		t.kind, t.text = tString, l.str(c, t.line, t.col)
		return t
	case isDigit(c) || (c == '-' && isDigit(l.peekByte(1))):
		t.kind, t.num = tInt, l.integer(t.line, t.col)
		return t
	}
	if k, n := punct(c, l.peekByte(1)); n > 0 {
		for range n {
			l.advance()
		}
		t.kind = k
		return t
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	switch c {
	case '=':
		fail(t.line, t.col, "assignment '=' is not supported (compare with '==')")
	case '&', '|':
		fail(t.line, t.col, "bitwise '"+string(c)+"' is not supported (use '"+string(c)+string(c)+"')")
	}
	fail(t.line, t.col, "unexpected character "+strconv.QuoteRune(r))
	return t
}

// punct returns the punctuation token starting with c, d and its length, or
// length 0.
func punct(c, d byte) (tokKind, int) {
	two := string([]byte{c, d})
	switch two {
	case "==":
		return tEq, 2
	case "!=":
		return tNe, 2
	case "=~":
		return tMatch, 2
	case "!~":
		return tNoMatch, 2
	case "<=":
		return tLe, 2
	case ">=":
		return tGe, 2
	case "&&":
		return tAnd, 2
	case "||":
		return tOr, 2
	}
	switch c {
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case '{':
		return tLBrace, 1
	case '}':
		return tRBrace, 1
	case '[':
		return tLBrack, 1
	case ']':
		return tRBrack, 1
	case ';':
		return tSemi, 1
	case '<':
		return tLt, 1
	case '>':
		return tGt, 1
	case '!':
		return tNot, 1
	}
	return tEOF, 0
}

// variable reads $name or $name(param).
func (l *lexer) variable(t *token) {
	l.advance()
	t.kind = tVar
	t.text = l.word()
	if t.text == "" {
		fail(t.line, t.col, "expected a variable name after '$'")
	}
	if l.peekByte(0) != '(' {
		return
	}
	l.advance()
	start := l.off
	for l.off < len(l.src) && l.src[l.off] != ')' && l.src[l.off] != '\n' {
		l.advance()
	}
	if l.peekByte(0) != ')' {
		fail(t.line, t.col, "unterminated parameter of $"+t.text)
	}
	t.param, t.hasParam = strings.TrimSpace(l.src[start:l.off]), true
	l.advance()
}

// str reads a string literal quoted by q, resolving escapes.
func (l *lexer) str(q byte, line, col int) string {
	l.advance()
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			fail(line, col, "unterminated string")
		}
		c := l.src[l.off]
		if c == q {
			l.advance()
			return b.String()
		}
		if c != '\\' {
			start := l.off
			l.advance()
			b.WriteString(l.src[start:l.off])
			continue
		}
		l.advance()
		if l.off >= len(l.src) {
			fail(line, col, "unterminated string")
		}
		switch e := l.src[l.off]; e {
		case '"', '\'', '\\':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte('\\')
			continue
		}
		l.advance()
	}
}

// integer reads a decimal or 0x integer, optionally negative.
func (l *lexer) integer(line, col int) int64 {
	start := l.off
	if l.src[l.off] == '-' {
		l.advance()
	}
	base := 10
	if l.peekByte(0) == '0' && (l.peekByte(1) == 'x' || l.peekByte(1) == 'X') {
		base = 16
		l.advance()
		l.advance()
	}
	digits := l.off
	for l.off < len(l.src) && (isLetter(l.src[l.off]) || isDigit(l.src[l.off]) || l.src[l.off] == '.' || l.src[l.off] == ':') {
		l.advance()
	}
	text := l.src[start:l.off]
	if strings.ContainsAny(text, ".:") {
		fail(line, col, "unquoted address "+text+" (write it as a string: \""+text+"\")")
	}
	n, err := strconv.ParseInt(l.src[digits:l.off], base, 64)
	if err != nil || l.off == digits {
		fail(line, col, "bad integer "+strconv.Quote(text))
	}
	if text[0] == '-' {
		n = -n
	}
	return n
}

// rawName reads a route name up to (not including) ']': letters, digits and
// "_.-:", or a quoted string.
func (l *lexer) rawName() (string, int, int) {
	l.skipSpace()
	line, col := l.line, l.col
	if c := l.peekByte(0); c == '"' || c == '\'' {
		return l.str(c, line, col), line, col
	}
	start := l.off
	for l.off < len(l.src) {
		c := l.src[l.off]
		if !isLetter(c) && !isDigit(c) && c != '.' && c != '-' && c != ':' {
			break
		}
		l.advance()
	}
	return l.src[start:l.off], line, col
}
