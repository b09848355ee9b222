package history

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

// cursorVersion starts every cursor, so that its form can change.
const cursorVersion = 1

// position is a place in the newest-first order: the last event of a page.
type position struct {
	ts int64
	id int64
}

// encode returns the opaque cursor for p.
func (p position) encode() string {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen64)
	b = append(b, cursorVersion)
	b = binary.AppendVarint(b, p.ts)
	b = binary.AppendVarint(b, p.id)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor is encode's inverse.
func decodeCursor(s string) (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || b[0] != cursorVersion {
		return position{}, fmt.Errorf("%w: %q", ErrBadCursor, s)
	}
	b = b[1:]
	ts, n := binary.Varint(b)
	if n <= 0 {
		return position{}, fmt.Errorf("%w: %q", ErrBadCursor, s)
	}
	id, m := binary.Varint(b[n:])
	if m <= 0 || n+m != len(b) {
		return position{}, fmt.Errorf("%w: %q", ErrBadCursor, s)
	}
	return position{ts: ts, id: id}, nil
}
