package route

import (
	"errors"
	"fmt"
)

// ErrSyntax is what every parse error matches with errors.Is.
var ErrSyntax = errors.New("route: syntax error")

// SyntaxError is a parse error at a position of the route text. Line and Col
// are 1-based; Col counts characters (runes), a tab counting as one.
type SyntaxError struct {
	Line int
	Col  int
	Msg  string
}

// Error returns "route: line L, column C: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("route: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Is reports whether target is ErrSyntax.
func (e *SyntaxError) Is(target error) bool {
	return target == ErrSyntax
}
