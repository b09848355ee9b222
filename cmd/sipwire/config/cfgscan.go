package config

import (
	"errors"
	"strings"
)

// cfgScanner reads the text of an OpenSIPS configuration: words, quoted
// strings, brace-balanced blocks and comments (#, // and /* */), keeping
// count of lines.
type cfgScanner struct {
	src  string
	pos  int
	line int // the line of src[pos], 1-based
}

// Problems of the scanner; the importer reports them with their line.
var (
	errUnterminatedComment = errors.New(`"/*" comment without its "*/"`)
	errUnterminatedString  = errors.New("string without its closing quote")
	errUnbalanced          = errors.New(`"{" without its matching "}"`)
)

// scanError is a scanner problem at the line where the unfinished comment,
// string or block starts.
type scanError struct {
	line int
	err  error
}

func (e *scanError) Error() string { return e.err.Error() }
func (e *scanError) Unwrap() error { return e.err }

func newCfgScanner(src string) *cfgScanner {
	return &cfgScanner{src: strings.TrimPrefix(src, "\uFEFF"), line: 1}
}

func (s *cfgScanner) eof() bool { return s.pos >= len(s.src) }

func (s *cfgScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *cfgScanner) hasPrefix(p string) bool { return strings.HasPrefix(s.src[s.pos:], p) }

// advance moves n bytes on, counting lines.
func (s *cfgScanner) advance(n int) {
	end := min(s.pos+n, len(s.src))
	s.line += strings.Count(s.src[s.pos:end], "\n")
	s.pos = end
}

// comment skips a comment at pos, if there is one, and reports whether it
// did.
func (s *cfgScanner) comment() (bool, error) {
	switch {
	case s.peek() == '#', s.hasPrefix("//"):
		if i := strings.IndexByte(s.src[s.pos:], '\n'); i >= 0 {
			s.advance(i)
		} else {
			s.advance(len(s.src))
		}
		return true, nil
	case s.hasPrefix("/*"):
		i := strings.Index(s.src[s.pos+2:], "*/")
		if i < 0 {
			line := s.line
			s.advance(len(s.src))
			return true, &scanError{line: line, err: errUnterminatedComment}
		}
		s.advance(i + 4)
		return true, nil
	}
	return false, nil
}

// skipSpace skips white space, newlines and comments.
func (s *cfgScanner) skipSpace() error {
	for !s.eof() {
		if c := s.peek(); c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' {
			s.advance(1)
			continue
		}
		ok, err := s.comment()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
	return nil
}

// skipBlanks skips spaces and tabs on the current line.
func (s *cfgScanner) skipBlanks() {
	for c := s.peek(); c == ' ' || c == '\t' || c == '\r'; c = s.peek() {
		s.advance(1)
	}
}

func isWordStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWordByte(c byte) bool  { return isWordStart(c) || c >= '0' && c <= '9' }

// word reads [A-Za-z_][A-Za-z0-9_]*, or "" when none starts at pos.
func (s *cfgScanner) word() string {
	if !isWordStart(s.peek()) {
		return ""
	}
	start := s.pos
	for !s.eof() && isWordByte(s.peek()) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// token reads a bare value: a number or a word-like run up to a separator.
func (s *cfgScanner) token() string {
	start := s.pos
	for !s.eof() && !strings.ContainsRune(" \t\r\n,;(){}[]\"'#", rune(s.peek())) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// quoted reads a string in double or single quotes at pos and returns it
// unescaped.
func (s *cfgScanner) quoted() (string, error) {
	q, line := s.peek(), s.line
	var b strings.Builder
	s.advance(1)
	for !s.eof() {
		c := s.peek()
		switch {
		case c == q:
			s.advance(1)
			return b.String(), nil
		case c == '\\' && s.pos+1 < len(s.src):
			s.advance(1)
			switch e := s.peek(); e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(e)
			}
			s.advance(1)
		default:
			b.WriteByte(c)
			s.advance(1)
		}
	}
	return "", &scanError{line: line, err: errUnterminatedString}
}

// skipQuoted moves past a quoted string at pos without keeping it.
func (s *cfgScanner) skipQuoted() error {
	_, err := s.quoted()
	return err
}

// restOfLine returns the raw text up to the end of the line, without a
// trailing comment; quoted strings are kept with their quotes.
func (s *cfgScanner) restOfLine() (string, error) {
	start := s.pos
	end := -1
	for !s.eof() && s.peek() != '\n' {
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			if err := s.skipQuoted(); err != nil {
				return "", err
			}
		case c == '#' || s.hasPrefix("//") || s.hasPrefix("/*"):
			if end < 0 {
				end = s.pos
			}
			if _, err := s.comment(); err != nil {
				return "", err
			}
		default:
			if end >= 0 && c != ' ' && c != '\t' && c != '\r' {
				end = -1 // text after a /* */ comment on the same line
			}
			s.advance(1)
		}
	}
	if end < 0 {
		end = s.pos
	}
	return strings.TrimSpace(s.src[start:end]), nil
}

// block reads a brace-balanced block at pos ("{"), respecting strings and
// comments, and returns the text between the braces and the line of "{".
func (s *cfgScanner) block() (body string, line int, err error) {
	line = s.line
	s.advance(1)
	start := s.pos
	depth := 1
	for !s.eof() {
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			if err := s.skipQuoted(); err != nil {
				return "", line, err
			}
		case c == '#' || s.hasPrefix("//") || s.hasPrefix("/*"):
			if _, err := s.comment(); err != nil {
				return "", line, err
			}
		case c == '{':
			depth++
			s.advance(1)
		case c == '}':
			depth--
			if depth == 0 {
				body = s.src[start:s.pos]
				s.advance(1)
				return body, line, nil
			}
			s.advance(1)
		default:
			s.advance(1)
		}
	}
	return "", line, &scanError{line: line, err: errUnbalanced}
}

// skipStatement skips what is left of an unknown statement: the rest of the
// line and, when a "{" opens on it, the whole block. It returns the line's
// text.
func (s *cfgScanner) skipStatement() (string, error) {
	start := s.pos
	for !s.eof() && s.peek() != '\n' {
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			if err := s.skipQuoted(); err != nil {
				return "", err
			}
		case c == '#' || s.hasPrefix("//") || s.hasPrefix("/*"):
			text := strings.TrimSpace(s.src[start:s.pos])
			_, err := s.comment()
			if err == nil && s.skipSpace() == nil && s.peek() == '{' {
				_, _, err = s.block()
			}
			return text, err
		case c == '{':
			text := strings.TrimSpace(s.src[start:s.pos])
			_, _, err := s.block()
			return text, err
		default:
			s.advance(1)
		}
	}
	return strings.TrimSpace(s.src[start:s.pos]), nil
}
