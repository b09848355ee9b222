// Package testtool is the one place where sipwire's tests decide what to do
// when something they need from outside Go is missing: a program (SIPp,
// Kamailio, sngrep, tshark, Chromium, systemd-analyze, shellcheck) or a
// feature of the machine (an IPv6 loopback, a kernel behaviour).
//
// Run by hand, such a test skips with a message that says what is missing
// and which Debian package provides it. With the environment variable CI
// set (as .ci/run runs), the same test fails with that message instead:
// CI must never pass by skipping, and .ci/run installs everything these
// tests ask for.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// EnvCI is the environment variable that turns a skip into a failure.
const EnvCI = "CI"

// InCI reports whether the tests run under CI: CI is set to anything but
// "", "0" or "false".
func InCI() bool {
	switch os.Getenv(EnvCI) {
	case "", "0", "false":
		return false
	}
	return true
}

// Unavailable ends the test because what is missing: it skips, or under CI
// fails, with the hint that says how to get it (a Debian package, a setting).
func Unavailable(t testing.TB, what, hint string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is missing and %s is set: CI must run this test (%s)", what, EnvCI, hint)
	}
	t.Skipf("%s is missing: skipping (%s; with %s set this fails)", what, hint, EnvCI)
}

// Program returns the path of the program name, looked up in PATH. When it
// is not there the test ends through Unavailable, naming the Debian package
// that installs it.
func Program(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "program "+name, "Debian package "+debianPackage+": apt-get install "+debianPackage)
	}
	return path
}

// File returns the first of paths that exists. When none does the test
// ends through Unavailable, naming the Debian package that installs it.
func File(t testing.TB, what, debianPackage string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Unavailable(t, what, "Debian package "+debianPackage+": apt-get install "+debianPackage)
	return ""
}
