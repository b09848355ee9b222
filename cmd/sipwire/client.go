package main

import (
	"fmt"
	"io"
)

// runClient runs a subcommand that talks to a running sipwire's REST API.
func runClient(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "sipwire: unknown command %q\n", args[0])
	return 2
}
