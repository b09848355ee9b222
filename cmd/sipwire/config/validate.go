package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Validate checks every value of c and the links between keys
// (trace_destination names a hep_id, trace_filter_route names a route). Use
// it after changing a Config in code; Parse and Load already did. Problems
// are reported at the lines the keys were read from.
func (c *Config) Validate() error {
	p := &problems{file: c.Source()}
	c.validate(p, nil)
	return p.err()
}

// validate checks the fields that decoded without a problem, then the links
// between keys.
func (c *Config) validate(p *problems, failed map[string]bool) {
	for _, f := range c.fields() {
		if failed[f.key] {
			continue
		}
		for _, is := range f.check() {
			p.add(c.issueLine(is), f.key, is.sentinel, is.msg)
		}
	}
	if !failed["socket"] {
		c.checkSockets(p)
	}
	if failed["hep_id"] {
		return
	}
	names, complete := c.checkHepNames(p)
	if complete && !failed["trace_destination"] && c.TraceDestination != "" && !slices.Contains(names, c.TraceDestination) {
		c.missingName(p, "trace_destination", "hep_id", c.TraceDestination, names)
	}
	if !failed["route"] && !failed["trace_filter_route"] && c.TraceFilterRoute != "" {
		if _, ok := c.Route[c.TraceFilterRoute]; !ok {
			c.missingName(p, "trace_filter_route", "route", c.TraceFilterRoute, slices.Sorted(maps.Keys(c.Route)))
		}
	}
}

// checkSockets wants at least one socket and no socket twice.
func (c *Config) checkSockets(p *problems) {
	if len(c.Socket) == 0 {
		p.add(c.Line("socket"), "socket", ErrValue, "at least one tcp socket is needed")
		return
	}
	first := map[socketAddr]int{}
	for i, spec := range c.Socket {
		s, err := parseSocket(spec)
		if err != nil {
			continue // reported by the field's check
		}
		if s.Port < 0 {
			s.Port = c.TCPPort
		}
		if s.Port == 0 {
			continue // every port-0 socket gets its own port
		}
		if j, dup := first[s]; dup {
			p.add(c.issueLine(issue{pos: fmt.Sprintf("socket[%d]", i)}), "socket", ErrValue,
				fmt.Sprintf("%q listens where %q already does", spec, c.Socket[j]))
			continue
		}
		first[s] = i
	}
}

// checkHepNames returns the hep_id names, and whether every hep_id has
// one, and reports a name used twice.
func (c *Config) checkHepNames(p *problems) (names []string, complete bool) {
	complete = true
	for i, id := range c.HepID {
		name, _, err := splitHepID(id)
		if err != nil {
			complete = false
			continue // reported by the field's check
		}
		if j := slices.Index(names, name); j >= 0 {
			p.add(c.issueLine(issue{pos: fmt.Sprintf("hep_id[%d]", i)}), "hep_id", ErrValue,
				fmt.Sprintf("name %q is used twice (first at line %d)", name, c.Line(fmt.Sprintf("hep_id[%d]", j))))
		}
		names = append(names, name)
	}
	return names, complete
}

// missingName reports a key that names a hep_id or a route that does not
// exist. A key left at its default is reported at the list it refers to.
func (c *Config) missingName(p *problems, key, list, name string, names []string) {
	known := "there is none"
	if len(names) > 0 {
		known = list + " names: " + strings.Join(names, ", ")
	}
	if c.Line(key) == 0 && c.Line(list) != 0 {
		p.add(c.Line(list), key, ErrValue, fmt.Sprintf("its default %q names no %s (%s); set %s", name, list, known, key))
		return
	}
	p.add(c.Line(key), key, ErrValue, fmt.Sprintf("no %s is named %q (%s)", list, name, known))
}
