package config

// RouteSource returns the body of the route called name and the line of the
// file on which the body's first line stands: body line n (counted from 1)
// is file line line+n-1, so a route parser given line-1 as its line offset
// reports errors at the file's lines. In an OpenSIPS file the body starts
// on the line of "{"; in YAML on the line below "name: |" (or on the key's
// line for a one-line value). line is 0 when the route was not read from a
// file; body is "" when there is no such route.
func (c *Config) RouteSource(name string) (body string, line int) {
	body = c.Route[name]
	if c.src != nil {
		line = c.src.routeLines[name]
	}
	return body, line
}
