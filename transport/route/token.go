package route

import "strconv"

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tVar
	tString
	tInt
	tLParen
	tRParen
	tLBrace
	tRBrace
	tLBrack
	tRBrack
	tSemi
	tEq
	tNe
	tMatch
	tNoMatch
	tLt
	tGt
	tLe
	tGe
	tAnd
	tOr
	tNot
)

var tokNames = [...]string{
	tEOF:     "end of text",
	tIdent:   "name",
	tVar:     "variable",
	tString:  "string",
	tInt:     "integer",
	tLParen:  "'('",
	tRParen:  "')'",
	tLBrace:  "'{'",
	tRBrace:  "'}'",
	tLBrack:  "'['",
	tRBrack:  "']'",
	tSemi:    "';'",
	tEq:      "'=='",
	tNe:      "'!='",
	tMatch:   "'=~'",
	tNoMatch: "'!~'",
	tLt:      "'<'",
	tGt:      "'>'",
	tLe:      "'<='",
	tGe:      "'>='",
	tAnd:     "'&&'",
	tOr:      "'||'",
	tNot:     "'!'",
}

// token is one lexical token and where it starts.
type token struct {
	kind tokKind
	// text is the name of an identifier or variable (without '$'), or the
	// value of a string literal (escapes resolved).
	text string
	// param is a variable's parameter, as in $socket_in(ip); hasParam says
	// whether it had one.
	param    string
	hasParam bool
	// num is an integer literal's value.
	num       int64
	line, col int
}

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tIdent:
		return strconv.Quote(t.text)
	case tVar:
		if t.hasParam {
			return "$" + t.text + "(" + t.param + ")"
		}
		return "$" + t.text
	case tString:
		return "string " + strconv.Quote(t.text)
	case tInt:
		return "integer " + strconv.FormatInt(t.num, 10)
	}
	return tokNames[t.kind]
}

// isComparison reports whether the token is a comparison operator.
func (t token) isComparison() bool {
	return t.kind >= tEq && t.kind <= tGe
}
