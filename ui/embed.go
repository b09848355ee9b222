// Package ui holds the static files of sipwire's dashboard (plain HTML, CSS
// and JavaScript, no build step, no CDN) embedded in the binary.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the dashboard's files: index.html, app.js, style.css and
// favicon.svg at its root. The page loads its assets from /ui/.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic("ui: embedded static directory missing: " + err.Error())
	}
	return sub
}
