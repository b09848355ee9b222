package route

// action is what running a statement tells its caller.
type action uint8

const (
	// actNext: go on with the next statement.
	actNext action = iota
	// actExit: stop; the connection is traced (exit, return).
	actExit
	// actDrop: stop; the connection is not traced (drop).
	actDrop
)

// stmt is a compiled statement.
type stmt interface {
	exec(e env) action
}

// blockStmt runs its statements in order until one stops.
type blockStmt []stmt

func (b blockStmt) exec(e env) action {
	for _, s := range b {
		if a := s.exec(e); a != actNext {
			return a
		}
	}
	return actNext
}

// ifStmt is if (c) then [else els]; els may be nil.
type ifStmt struct {
	c    cond
	then stmt
	els  stmt
}

func (s *ifStmt) exec(e env) action {
	if s.c.eval(e) {
		return s.then.exec(e)
	}
	if s.els != nil {
		return s.els.exec(e)
	}
	return actNext
}

// actionStmt is exit, drop or return.
type actionStmt action

func (s actionStmt) exec(env) action { return action(s) }
