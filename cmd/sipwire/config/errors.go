package config

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
)

// Sentinel errors: every *Error unwraps to one of them.
var (
	// ErrSyntax: the file is not well-formed YAML or OpenSIPS configuration.
	ErrSyntax = errors.New("config: syntax error")
	// ErrUnknownKey: a key or an OpenSIPS parameter that sipwire does not know.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrType: a value of the wrong type (a list where a number belongs).
	ErrType = errors.New("config: wrong type")
	// ErrValue: a value of the right type that is out of range or malformed.
	ErrValue = errors.New("config: invalid value")
	// ErrUnsupported: an OpenSIPS setting that sipwire cannot honour.
	ErrUnsupported = errors.New("config: unsupported")
)

// Error is one problem of a configuration file, at a line and a key.
type Error struct {
	File string // the name given to Parse or Load
	Line int    // 1-based; 0 when the key was not read from the file
	Key  string // the key ("tcp_port", "hep.format"); empty for a file-level problem
	Msg  string // what is wrong
	Err  error  // one of the sentinel errors
}

// Error formats the problem as "file:line: key: message".
func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Key + ": " + e.Msg
}

// Unwrap returns the sentinel error of the problem's kind.
func (e *Error) Unwrap() error { return e.Err }

// problems collects the errors of one file, to be returned together.
type problems struct {
	file string
	list []*Error
}

func (p *problems) add(line int, key string, kind error, msg string) {
	p.list = append(p.list, &Error{File: p.file, Line: line, Key: key, Msg: msg, Err: kind})
}

// err returns the collected errors ordered by line, joined, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}
