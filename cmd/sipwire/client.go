package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/sipwire/sipwire/web/client"
)

// defaultAPI is where the subcommands find a local sipwire's REST API.
const defaultAPI = "http://127.0.0.1:8080"

// runClient runs a subcommand that talks to a running sipwire's REST API.
func runClient(args []string, stdout, stderr io.Writer) int {
	switch args[0] {
	case "healthcheck":
		return healthcheck(args[1:], stdout, stderr)
	case "trace", "conns", "events":
		return client.RunCLI(args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "sipwire: unknown command %q (commands: trace, conns, events, healthcheck)\n", args[0])
	return 2
}

// healthcheck asks GET /healthz and exits 0 when it answers 200: the
// container image's HEALTHCHECK, which has no shell or curl.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipwire healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", apiFromEnv(), "base URL of sipwire's REST API")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *api+"/healthz", nil)
	if err != nil {
		fmt.Fprintf(stderr, "sipwire healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "sipwire healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(stdout, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "sipwire healthcheck: %s\n", resp.Status)
		return 1
	}
	return 0
}

// apiFromEnv is SIPWIRE_API, or the default local address.
func apiFromEnv() string {
	if v := os.Getenv("SIPWIRE_API"); v != "" {
		return v
	}
	return defaultAPI
}
